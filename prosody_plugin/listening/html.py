"""Self-contained HTML pages: one file, inline style and script, relative links only."""

import html
import json
from typing import Any, Optional

from prosody_plugin.version import __version__

STYLE = """
:root { --fg: #1d232b; --muted: #5b6573; --line: #d5dae1; --accent: #2459a6; --bg2: #f3f5f8; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--fg); margin: 0 auto; max-width: 1180px; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; margin: .4rem 0 .6rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .4rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1.1rem 0 .4rem; }
p, li { max-width: 60rem; }
.muted { color: var(--muted); }
.tag { display: inline-block; font-size: .75rem; font-weight: 600; padding: .05rem .45rem; border-radius: .6rem;
       background: var(--bg2); border: 1px solid var(--line); color: var(--muted); vertical-align: middle; }
blockquote { margin: .3rem 0 .8rem; padding: .3rem .8rem; border-left: 3px solid var(--accent);
             background: var(--bg2); font-size: 1.05rem; }
table { border-collapse: collapse; margin: .3rem 0 .8rem; }
th, td { border-bottom: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: middle; }
th { font-size: .8rem; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
audio { width: 260px; height: 36px; vertical-align: middle; }
figure { margin: .6rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font-size: .85rem; color: var(--muted); }
.renditions { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; }
.renditions figure { margin: 0; }
details { margin: .4rem 0 1rem; }
summary { cursor: pointer; color: var(--accent); }
nav ul { columns: 2; padding-left: 1.2rem; }
button { font: inherit; padding: .35rem .9rem; border-radius: .3rem; border: 1px solid var(--accent);
         background: var(--accent); color: #fff; cursor: pointer; }
button:disabled { opacity: .45; cursor: default; }
button.secondary { background: #fff; color: var(--accent); }
input[type=text] { font: inherit; padding: .3rem .5rem; }
footer { margin-top: 3rem; font-size: .8rem; color: var(--muted); }
"""


def esc(value: Any) -> str:
    """HTML-escaped text (quotes included, for attributes too)."""
    return html.escape(str(value), quote=True)


def json_script(element_id: str, data: Any) -> str:
    """Data for the page's script: ``<script type="application/json">`` (``</`` cannot end it)."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    return f'<script type="application/json" id="{esc(element_id)}">{text}</script>'


def page(title: str, body: str, style: str = "", script: Optional[str] = None) -> str:
    """A complete HTML5 document; ``script`` runs at the end of the body."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="prosody_plugin {esc(__version__)}">',
        f"<title>{esc(title)}</title>",
        f"<style>{STYLE}{style}</style>",
        "</head>",
        "<body>",
        body,
    ]
    if script:
        parts.append(f"<script>\n{script}\n</script>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


__all__ = ["STYLE", "esc", "json_script", "page"]
