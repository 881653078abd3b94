"""The samples page: every system side by side on chosen utterances, as TTS papers publish.

One self-contained static folder (audio copied, relative paths) with each utterance's
players, stage-12 scores, Kathaka's renditions and F0 plots. docs/listening_tests.md (The samples page).
"""

import csv
import datetime
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from prosody_plugin.evaluation.metrics import WORD_FEATURES, rmse
from prosody_plugin.listening.html import esc, page
from prosody_plugin.listening.selection import Recordings, System, describe, safe_name

# stage 12's per-utterance wav-level scores: (column, title, scale, digits)
WAV_COLUMNS = [
    ("mcd_db", "MCD (dB)", 1.0, 2),
    ("log_f0_rmse_cents", "log-F0 RMSE (cents)", 1.0, 0),
    ("f0_pearson", "F0 corr", 1.0, 2),
    ("vde", "VDE (%)", 100.0, 1),
    ("distillmos", "distillMOS", 1.0, 2),
]


@dataclass
class Rendition:
    """One synthesis of a text by a one-to-many system: a label (e.g. its seed), its wav, the system."""

    label: str
    path: Path
    system: str  # the registry's name, e.g. "kathaka"
    title: str  # its name for readers, e.g. "Kathaka"


def _float(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def read_stage12_scores(scores_dir: Path):
    """Stage 12's per-utterance tables.

    Returns:
        (wav, words, labels): ``wav[utt][system][column]`` (floats), ``words[utt][source][feature]``
        ((W,) arrays, source ``recording`` or a system), ``labels[utt]`` the W words.
    """
    wav: Dict[str, Dict[str, Dict[str, float]]] = {}
    words: Dict[str, Dict[str, Dict[str, List[float]]]] = {}
    labels: Dict[str, Dict[int, str]] = {}
    path = scores_dir / "utterances.csv"
    if path.is_file():
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                wav.setdefault(row["utt"], {})[row["system"]] = {
                    k: _float(row.get(k)) for k, *_ in WAV_COLUMNS if k in row
                }
    else:
        logging.warning(f"{path} is missing: no wav-level scores on the samples page")
    path = scores_dir / "words.csv"
    if path.is_file():
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                source = words.setdefault(row["utt"], {}).setdefault(row["source"], {})
                for key, _, _ in WORD_FEATURES:
                    source.setdefault(key, []).append(_float(row[key]))
                labels.setdefault(row["utt"], {})[int(row["word_index"])] = row["word"]
    else:
        logging.warning(f"{path} is missing: no word-level scores on the samples page")
    arrays = {
        utt: {src: {k: np.asarray(v) for k, v in feats.items()} for src, feats in sources.items()}
        for utt, sources in words.items()
    }
    return wav, arrays, {utt: [ws[i] for i in sorted(ws)] for utt, ws in labels.items()}


def _fmt(value: Optional[float], scale: float = 1.0, digits: int = 2) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    return f"{value * scale:.{digits}f}"


def _audio(src: str, label: str) -> str:
    return f'<audio controls preload="auto" src="{esc(src)}" aria-label="{esc(label)}"></audio>'


ONE_AT_A_TIME = """
// one player at a time: starting one pauses the others
document.addEventListener('play', function (event) {
  document.querySelectorAll('audio').forEach(function (a) { if (a !== event.target) { a.pause(); } });
}, true);
"""


def build_samples_page(
    output_dir: Path,
    recordings: Recordings,
    systems: Mapping[str, System],
    utts: Sequence[str],
    types: Mapping[str, str],
    scores_dir: Optional[Path] = None,
    plots: Optional[Mapping[str, Path]] = None,
    renditions: Optional[Mapping[str, Sequence[Rendition]]] = None,
    renditions_note: str = "",
    title: str = "Samples",
    intro: str = "",
) -> Path:
    """Write ``output_dir/index.html`` and copy its audio and plots beside it; returns its path.

    Args:
        systems: name -> decodes, in the page's column order.
        utts: The utterances in page order; each system must have decoded each.
        types: Sentence type of each utterance.
        scores_dir: Stage 12's ``scores_<tag>/<set>`` (optional).
        plots: utterance -> F0 contour PNG (optional).
        renditions: utterance -> Kathaka renditions of its text (copied when outside ``output_dir``).
        renditions_note: How the renditions were made (shown above them).
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    plots, renditions = plots or {}, renditions or {}
    wav_scores, word_values, word_labels = (
        read_stage12_scores(Path(scores_dir)) if scores_dir else ({}, {}, {})
    )
    # which wav-level columns have any value at all (distillMOS is optional in stage 12)
    columns = [c for c in WAV_COLUMNS if any(c[0] in s for per in wav_scores.values() for s in per.values())]

    def copy(source: Path, relative: str) -> str:
        target = output_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        return relative

    sections, nav = [], []
    for utt in utts:
        sid = safe_name(utt)
        text = recordings.texts.get(utt, "")
        rows = [("recording", copy(recordings.path(utt), f"audio/{sid}/recording.wav"))]
        for name, system in systems.items():
            rows.append((name, copy(system.path(utt), f"audio/{sid}/{name}.wav")))
        head = ["<th>system</th>", "<th>audio</th>"]
        head += [f'<th class="num">{esc(t)}</th>' for _, t, _, _ in columns]
        if utt in word_values:
            head += [f'<th class="num">{esc(t)} RMSE</th>' for _, t, _ in WORD_FEATURES]
        body = []
        for name, src in rows:
            # what each system is: the legend at the top, and a tooltip here
            cells = [
                f'<td><strong title="{esc(describe(name))}">{esc(name)}</strong></td>',
                f"<td>{_audio(src, f'{name}, {utt}')}</td>",
            ]
            scores = wav_scores.get(utt, {}).get(name, {})
            cells += [f'<td class="num">{_fmt(scores.get(k), s, d)}</td>' for k, _, s, d in columns]
            if utt in word_values:
                mine, ref = word_values[utt].get(name), word_values[utt].get("recording")
                for key, _, digits in WORD_FEATURES:
                    value = (
                        None
                        if mine is None or ref is None or name == "recording"
                        else rmse(mine[key], ref[key])
                    )
                    cells.append(f'<td class="num">{_fmt(value, 1.0, max(digits, 1))}</td>')
            body.append("<tr>" + "".join(cells) + "</tr>")
        parts = [
            f'<section class="utterance" id="utt-{esc(sid)}">',
            f'<h2>{esc(utt)} <span class="tag">{esc(types.get(utt, ""))}</span></h2>',
            f"<blockquote>{esc(text)}</blockquote>",
            '<table class="players">',
            "<thead><tr>" + "".join(head) + "</tr></thead>",
            "<tbody>" + "\n".join(body) + "</tbody>",
            "</table>",
        ]
        if renditions.get(utt):
            title = renditions[utt][0].title
            parts += [f"<h3>{esc(title)}: {len(renditions[utt])} renditions of this text</h3>"]
            if renditions_note:
                parts.append(f'<p class="muted">{esc(renditions_note)}</p>')
            parts.append('<div class="renditions">')
            for i, rendition in enumerate(renditions[utt]):
                src = copy(
                    Path(rendition.path), f"audio/{sid}/{safe_name(rendition.system)}_rendition{i + 1}.wav"
                )
                parts.append(
                    f"<figure><figcaption>{esc(rendition.label)}</figcaption>"
                    f"{_audio(src, f'{title} rendition {i + 1}, {utt}')}</figure>"
                )
            parts.append("</div>")
        if utt in plots:
            src = copy(Path(plots[utt]), f"plots/f0_{sid}.png")
            parts += [
                "<figure>",
                f'<img src="{esc(src)}" alt="F0 contours of {esc(utt)}: the recording and each system, word boundaries dashed">',
                "<figcaption>F0 (WORLD) of the recording and each system; dashed lines: word ends from each one's "
                "durations (the recording's phone alignment, the systems' predicted durations).</figcaption>",
                "</figure>",
            ]
        if utt in word_values:
            labels = word_labels.get(utt, [])
            sources = [s for s in ["recording", *systems] if s in word_values[utt]]
            for key, title_, digits in WORD_FEATURES[:2]:
                parts += [
                    f"<details><summary>{esc(title_)} of each word</summary>",
                    "<table><thead><tr><th>word</th>"
                    + "".join(f'<th class="num">{esc(s)}</th>' for s in sources)
                    + "</tr></thead><tbody>",
                ]
                for w, label in enumerate(labels):
                    values = [word_values[utt][s][key][w] for s in sources]
                    parts.append(
                        f"<tr><td>{esc(label)}</td>"
                        + "".join(f'<td class="num">{_fmt(v, 1.0, digits)}</td>' for v in values)
                        + "</tr>"
                    )
                parts.append("</tbody></table></details>")
        parts.append("</section>")
        sections.append("\n".join(parts))
        nav.append(
            f'<li><a href="#utt-{esc(sid)}">{esc(utt)}</a> <span class="muted">({esc(types.get(utt, ""))})</span></li>'
        )

    legend = "".join(
        f"<tr><td><strong>{esc(n)}</strong></td><td>{esc(describe(n))}</td></tr>"
        for n in ["recording", *systems]
    )
    notes = []
    if columns or word_values:
        notes.append(
            "Scores are this utterance's, against its recording (stage 12 of the recipe): "
            "MCD, log-F0 RMSE, F0 correlation and VDE through the vocoder after DTW; distillMOS a predicted "
            "MOS; the word columns the RMSE, over this utterance's words, of the model's own word durations, "
            "mean log-F0, F0 range and energy. One utterance is a small sample: the corpus-level tables "
            "with confidence intervals are in the recipe's RESULTS.md."
        )
    body = "\n".join(
        [
            "<header>",
            f"<h1>{esc(title)}</h1>",
            f"<p>{esc(intro)}</p>" if intro else "",
            "</header>",
            "<main>",
            '<section id="systems"><h2>Systems</h2>',
            f"<table><tbody>{legend}</tbody></table>",
            *(f'<p class="muted">{esc(n)}</p>' for n in notes),
            f"<nav><h3>{len(utts)} utterances</h3><ul>{''.join(nav)}</ul></nav>",
            "</section>",
            *sections,
            "</main>",
            f"<footer>Written by prosody_plugin on {datetime.date.today().isoformat()}; "
            "self-contained: every file it plays or shows is in this folder.</footer>",
        ]
    )
    index = output_dir / "index.html"
    index.write_text(page(title, body, script=ONE_AT_A_TIME), encoding="utf-8")
    return index


def sampled_renditions(
    texts: Mapping[str, str],
    output_dir: Path,
    train_config: Path,
    model_file: Path,
    context_train_config: Path,
    context_model_file: Path,
    num: int = 3,
    temperature: float = 1.0,
    seed: int = 0,
    vocoder_file: Optional[Path] = None,
    vocoder_config: Optional[Path] = None,
    speed_calibration_file: Optional[Path] = None,
) -> Dict[str, List[Rendition]]:
    """``num`` renditions of each text from a one-to-many system (Kathaka), prosody sampled by stage two.

    Rendition ``i`` uses seed ``seed + i``, so the page is reproducible. Writes
    ``output_dir/audio/<utt>/<system>_rendition<i>.wav``.
    """
    import soundfile as sf

    from prosody_plugin.inference import Text2SpeechProsody

    tts = Text2SpeechProsody(
        train_config,
        model_file,
        context_train_config,
        context_model_file,
        vocoder_file=vocoder_file,
        vocoder_config=vocoder_config,
        speed_calibration_file=speed_calibration_file,
    )
    if tts.system is None or not tts.tts.one_to_many:
        raise ValueError(
            f"renditions: {train_config} is {tts.system or 'the baseline'}, whose stage two does not sample"
        )
    written: Dict[str, List[Rendition]] = {}
    for utt, text in texts.items():
        for i in range(num):
            try:
                out = tts(text, temperature=temperature, seed=seed + i)
            except ValueError as e:  # text the front end cannot speak: named, page without it
                logging.warning(f"{utt}: no {tts.tts.title} renditions: {e}")
                break
            path = Path(output_dir) / "audio" / safe_name(utt) / f"{tts.system}_rendition{i + 1}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, out["wav"].numpy(), tts.fs)
            written.setdefault(utt, []).append(Rendition(f"seed {seed + i}", path, tts.system, tts.tts.title))
    return written


def make_samples_page(
    output_dir: Path,
    data_dir: Path,
    systems: Sequence[str],
    utts: Sequence[str] = (),
    num_utts: int = 6,
    spacy_model: Optional[str] = None,
    scores_dir: Optional[Path] = None,
    plot_model: Optional[Mapping[str, Path]] = None,
    renditions_system: Optional[Mapping[str, Path]] = None,
    num_renditions: int = 3,
    temperature: float = 1.0,
    seed: int = 0,
    vocoder_file: Optional[Path] = None,
    vocoder_config: Optional[Path] = None,
    title: str = "Samples",
) -> Path:
    """Choose the utterances, make the plots and renditions, write the page; returns ``index.html``.

    Args:
        systems: ``NAME=DECODE_DIR`` strings, in page order.
        plot_model: For the F0 plots: ``train_config``, ``model_file``, ``durations`` and
            optionally ``words``; None: no plots.
        renditions_system: A one-to-many system's ``train_config``, ``model_file``,
            ``context_train_config``, ``context_model_file`` and optionally
            ``speed_calibration_file``; None or ``num_renditions`` 0: no renditions.
    """
    from prosody_plugin.listening.selection import choose_utterances, parse_systems

    recordings = Recordings(data_dir)
    decodes = parse_systems(systems)
    chosen, types = choose_utterances(recordings, decodes.values(), utts, num_utts, spacy_model)
    for utt in chosen:  # every file before anything is written, so that the error names it
        recordings.path(utt)
        for system in decodes.values():
            system.path(utt)
    output_dir = Path(output_dir)
    if output_dir.exists():
        shutil.rmtree(output_dir)  # no stale audio of an earlier choice
    output_dir.mkdir(parents=True)
    logging.info(f"samples page of {len(chosen)} utterances ({', '.join(chosen)}) and {len(decodes)} systems")
    plots: Dict[str, Path] = {}
    if plot_model:
        from prosody_plugin.evaluation.plots import plot_f0_contours

        (output_dir / "plots").mkdir()
        figures = plot_f0_contours(
            Path(data_dir),
            Path(plot_model["durations"]),
            Path(plot_model["train_config"]),
            Path(plot_model["model_file"]),
            {name: system.directory for name, system in decodes.items()},
            output_dir / "plots",
            words=plot_model.get("words"),
            utts=list(chosen),
        )
        for utt, path in zip(chosen, figures):
            plots[utt] = path
    renditions: Dict[str, List[Rendition]] = {}
    note = ""
    if renditions_system and num_renditions > 0:
        system = renditions_system
        renditions = sampled_renditions(
            {u: recordings.texts[u] for u in chosen},
            output_dir,
            system["train_config"],
            system["model_file"],
            system["context_train_config"],
            system["context_model_file"],
            num_renditions,
            temperature,
            seed,
            vocoder_file,
            vocoder_config,
            system.get("speed_calibration_file"),
        )
        note = (
            f"Text only: each rendition draws its own prosody from stage two's predicted distribution "
            f"(temperature {temperature:g}); one text, many valid readings."
        )
    return build_samples_page(
        output_dir, recordings, decodes, chosen, types, scores_dir, plots, renditions, note, title
    )


__all__ = [
    "Rendition",
    "build_samples_page",
    "make_samples_page",
    "read_stage12_scores",
    "sampled_renditions",
]
