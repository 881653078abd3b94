"""A MUSHRA listening test (ITU-R BS.1534-3 shape) of a recipe's systems, and its design file.

One trial per eval utterance; its conditions are the hidden reference, the 3.5 kHz low-pass
anchor and the systems. The test folder holds a self-contained page (``index.html``), a
webMUSHRA configuration (``webmushra/``) and ``design.json``, which the scoring checks results
against and from which the page takes each listener's order. How to run a test with
listeners: docs/listening_tests.md.
"""

import datetime
import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import yaml

from prosody_plugin.listening.audio import (
    ANCHOR_CUTOFF_HZ,
    DEFAULT_LEVEL_DBFS,
    align_levels,
    lowpass_anchor,
    pad_to,
    read_mono,
    resample,
    write_wav,
)
from prosody_plugin.listening.html import esc, json_script, page
from prosody_plugin.listening.selection import Recordings, System, describe, safe_name
from prosody_plugin.pack import sha256_file
from prosody_plugin.version import __version__

FORMAT = "prosody_plugin.mushra/1"
REFERENCE = "reference"
ANCHOR = "anchor"
#: BS.1534-3 (and webMUSHRA) allow at most 12 conditions per trial, hidden reference and anchor included.
MAX_CONDITIONS = 12
#: Columns of the page's CSV export, one row per listener, trial and condition.
CSV_COLUMNS = [
    "test_id",
    "design_hash",
    "listener",
    "trial_position",
    "trial_id",
    "condition",
    "slot",
    "rating",
    "played",
    "seconds",
    "finished_at",
]
#: Seeded orders (of the trials, and of the conditions in each) written into the design; the
#: page gives a listener the one a hash of the ID picks.
NUM_ORDERS = 64
_JS = Path(__file__).with_name("mushra.js")


@dataclass
class Trial:
    """One trial: an utterance and the relative paths of its stimuli (``stimuli[condition]``)."""

    id: str
    text: str
    sentence_type: str
    reference: str
    stimuli: Dict[str, str]
    duration_s: float
    checksums: Dict[str, str] = field(default_factory=dict)


@dataclass
class MushraDesign:
    """Everything that defines a test; ``design.json`` in the test folder."""

    test_id: str
    design_hash: str
    seed: int
    fs: int
    baseline: str
    conditions: List[str]
    systems: Dict[str, str]  # name -> what it is
    trials: List[Trial]
    anchor_cutoff_hz: float = ANCHOR_CUTOFF_HZ
    level_dbfs: float = DEFAULT_LEVEL_DBFS
    show_text: bool = True
    require_play: bool = True
    title: str = "Listening test"
    webmushra_test_id: str = ""
    webmushra_config: str = ""
    created: str = ""
    prosody_plugin_version: str = __version__
    format: str = FORMAT
    #: Listener orders: each a list of [trial index, [condition indices in slot order]].
    orders: List[List[Tuple[int, List[int]]]] = field(default_factory=list)

    @property
    def trial_ids(self) -> List[str]:
        return [t.id for t in self.trials]

    def named_order(self, k: int) -> List[Tuple[str, List[str]]]:
        """Order ``k`` by name: [(trial id, [conditions in slot order])]."""
        return [(self.trials[t].id, [self.conditions[c] for c in slots]) for t, slots in self.orders[k]]

    def save(self, path: Path) -> None:
        data = asdict(self)
        orders = data.pop("orders")
        text = json.dumps(data, indent=1, ensure_ascii=False)[:-2]  # without the closing "\n}"
        lines = ",\n  ".join(json.dumps(order) for order in orders)  # one line per order
        Path(path).write_text(f'{text},\n "orders": [\n  {lines}\n ]\n}}\n', encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "MushraDesign":
        path = Path(path)
        if path.is_dir():
            path = path / "design.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f"{path} is missing: build the test first (prosody_plugin.bin.mushra_test)"
            ) from e
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: format {data.get('format')!r}, expected {FORMAT!r}")
        data["trials"] = [Trial(**t) for t in data["trials"]]
        return cls(**data)


def _code(test_id: str, seed: int, utt: str, condition: str) -> str:
    return hashlib.sha256(f"{test_id}/{seed}/{utt}/{condition}".encode()).hexdigest()[:10]


def prepare_trial(
    utt: str,
    recordings: Recordings,
    systems: Mapping[str, System],
    fs: int,
    anchor_cutoff_hz: float,
    level_dbfs: float,
) -> Tuple[Dict[str, np.ndarray], float]:
    """The stimuli of one trial at ``fs``: {condition: waveform (T,)}, all of one length T.

    Raises:
        FileNotFoundError / ValueError naming the system (or ``recording``) and utterance.

    """
    wav, rate = read_mono(recordings.path(utt), f"recording / {utt}")
    reference = resample(wav, rate, fs)
    stimuli = {REFERENCE: reference, ANCHOR: lowpass_anchor(reference, fs, anchor_cutoff_hz)}
    for name, system in systems.items():
        wav, rate = read_mono(system.path(utt), f"system {name} / {utt}")
        stimuli[name] = resample(wav, rate, fs)
    stimuli, level = align_levels(stimuli, fs, level_dbfs)
    length = max(len(w) for w in stimuli.values())
    return {name: pad_to(w, length) for name, w in stimuli.items()}, level


def build_mushra_test(
    output_dir: Path,
    recordings: Recordings,
    systems: Mapping[str, System],
    utts: Sequence[str],
    types: Mapping[str, str],
    baseline: str,
    test_id: str,
    seed: int = 0,
    fs: Optional[int] = None,
    anchor_cutoff_hz: float = ANCHOR_CUTOFF_HZ,
    level_dbfs: float = DEFAULT_LEVEL_DBFS,
    show_text: bool = True,
    require_play: bool = True,
    title: str = "Listening test",
) -> MushraDesign:
    """Write the test folder (``index.html``, ``stimuli/``, ``webmushra/``, ``design.json``).

    Args:
        systems: The systems under test, in a fixed order (the baseline among them).
        utts: One trial per utterance.
        test_id: Letters, digits, ``_`` and ``-`` (it names webMUSHRA's results folder).
        seed: Seed of the opaque stimulus names and of the listener orders.
        fs: Sampling rate of the stimuli (default: the first recording's).

    Raises:
        FileNotFoundError: a stimulus is missing; the message names every missing system
            and utterance.
        ValueError: a bad option (unknown baseline, too many conditions, ...).

    """
    if safe_name(test_id) != test_id or "." in test_id:
        raise ValueError(f"test id {test_id!r}: use letters, digits, '_' and '-'")
    if baseline not in systems:
        raise ValueError(f"the baseline {baseline!r} is not among the systems ({', '.join(systems)})")
    conditions = [REFERENCE, ANCHOR, *systems]
    if len(conditions) > MAX_CONDITIONS:
        raise ValueError(
            f"{len(conditions)} conditions (hidden reference, anchor and {len(systems)} systems): BS.1534 and "
            f"webMUSHRA allow at most {MAX_CONDITIONS}; choose fewer systems (recipe: --mushra_systems)"
        )
    if not utts:
        raise ValueError("no trial: give at least one utterance")
    # every stimulus must exist before anything is written: name all that are missing
    missing = []
    for utt in utts:
        for name, source in [("recording", recordings), *systems.items()]:
            try:
                source.path(utt)
            except FileNotFoundError as e:
                missing.append(str(e))
    if missing:
        raise FileNotFoundError("missing stimuli, the test is not built:\n  " + "\n  ".join(missing))

    output_dir = Path(output_dir)
    if fs is None:
        fs = read_mono(recordings.path(utts[0]), f"recording / {utts[0]}")[1]
    stimuli_dir = output_dir / "stimuli"
    if stimuli_dir.exists():
        shutil.rmtree(stimuli_dir)  # a rebuilt test must not keep files of the old one
    trials = []
    for utt in utts:
        wavs, _ = prepare_trial(utt, recordings, systems, fs, anchor_cutoff_hz, level_dbfs)
        sid = safe_name(utt)
        files = {c: f"stimuli/{sid}/{_code(test_id, seed, utt, c)}.wav" for c in conditions}
        for condition, relative in files.items():
            write_wav(output_dir / relative, wavs[condition], fs)
        write_wav(output_dir / f"stimuli/{sid}/reference.wav", wavs[REFERENCE], fs)
        trials.append(
            Trial(
                id=utt,
                text=recordings.texts.get(utt, ""),
                sentence_type=types.get(utt, ""),
                reference=f"stimuli/{sid}/reference.wav",
                stimuli=files,
                duration_s=round(len(wavs[REFERENCE]) / fs, 3),
                checksums={c: sha256_file(output_dir / p) for c, p in files.items()},
            )
        )
    fingerprint = json.dumps(
        dict(
            test_id=test_id,
            seed=seed,
            fs=fs,
            conditions=conditions,
            trials=[(t.id, t.checksums) for t in trials],
        ),
        sort_keys=True,
    )
    design = MushraDesign(
        test_id=test_id,
        design_hash=hashlib.sha256(fingerprint.encode()).hexdigest()[:12],
        seed=seed,
        fs=fs,
        baseline=baseline,
        conditions=conditions,
        systems={n: describe(n) for n in systems},
        trials=trials,
        anchor_cutoff_hz=anchor_cutoff_hz,
        level_dbfs=level_dbfs,
        show_text=show_text,
        require_play=require_play,
        title=title,
        created=datetime.date.today().isoformat(),
    )
    rng = np.random.default_rng([seed, int(design.design_hash, 16)])
    design.orders = [
        [[int(t), rng.permutation(len(conditions)).tolist()] for t in rng.permutation(len(trials))]
        for _ in range(NUM_ORDERS)
    ]
    design.webmushra_test_id = f"{test_id}-{design.design_hash}"
    design.webmushra_config = f"webmushra/configs/{test_id}.yaml"
    write_webmushra(output_dir, design)
    (output_dir / "index.html").write_text(mushra_page(design), encoding="utf-8")
    design.save(output_dir / "design.json")
    results = output_dir / "results"
    results.mkdir(exist_ok=True)
    (results / "README.txt").write_text(
        "Put the listeners' result files here: the CSV files the page exports "
        f"(mushra_{test_id}_<listener>.csv) and/or webMUSHRA's results/{design.webmushra_test_id}/mushra.csv.\n"
        "Then score them: recipe stage 14, or python -m prosody_plugin.bin.score_mushra "
        "--design design.json --results_dir results --output_dir scores\n",
        encoding="utf-8",
    )
    return design


def make_mushra_test(
    output_dir: Path,
    data_dir: Path,
    systems: Sequence[str],
    baseline: str,
    test_id: str,
    utts: Sequence[str] = (),
    num_trials: int = 8,
    spacy_model: Optional[str] = None,
    **options,
) -> MushraDesign:
    """Choose the trials (a spread of sentence types, or ``utts``) and build the test.

    Args:
        systems: ``NAME=DECODE_DIR`` strings: the systems under test, the baseline among them.
        **options: Of :func:`build_mushra_test` (seed, fs, anchor_cutoff_hz, level_dbfs,
            show_text, require_play, title).

    """
    from prosody_plugin.listening.selection import choose_utterances, parse_systems

    recordings = Recordings(data_dir)
    decodes = parse_systems(systems)
    chosen, types = choose_utterances(recordings, decodes.values(), utts, num_trials, spacy_model)
    return build_mushra_test(output_dir, recordings, decodes, chosen, types, baseline, test_id, **options)


# ------------------------------------------------------------------------------------------
# The two ways to run it


def instructions_html(design: MushraDesign) -> str:
    """The listener instructions (BS.1534's, for naturalness of synthetic speech)."""
    n = len(design.trials)
    k = len(design.conditions)
    return (
        f"<p>This test has {n} trials. In each trial you hear a <strong>reference</strong>: a recording of a "
        f"person reading a sentence; and {k} <strong>samples</strong> of the same sentence, labelled "
        "A, B, C, ...</p>"
        "<p>Rate how <strong>natural</strong> each sample sounds, compared with the reference, from 0 (bad) to "
        "100 (excellent): the rhythm, the melody and the emphasis as well as the sound quality. One of the "
        "samples is the reference itself, hidden among them: when you find it, rate it 100. Another one is "
        "deliberately muffled.</p>"
        "<p>Listen to every sample, as often as you like and in any order, and compare the samples with each "
        "other as well as with the reference: the ratings are relative, so use the whole scale.</p>"
        "<p>Use headphones in a quiet room. Set a comfortable volume with the first reference and do not change "
        "it during the test. The order of the trials and of the samples is random and differs between "
        "listeners.</p>"
    )


def mushra_page(design: MushraDesign) -> str:
    """The self-contained HTML/JavaScript test page."""
    data = dict(
        test_id=design.test_id,
        design_hash=design.design_hash,
        conditions=design.conditions,
        trials=design.trial_ids,
        orders=design.orders,
        require_play=design.require_play,
        columns=CSV_COLUMNS,
    )
    sections = []
    for trial in design.trials:
        sid = safe_name(trial.id)
        rows = []
        for condition in design.conditions:
            src = trial.stimuli[condition]
            rows.append(
                f'<tr data-condition="{esc(condition)}">'
                '<th scope="row" class="slot"></th>'
                f'<td><audio controls preload="auto" src="{esc(src)}"></audio></td>'
                '<td><input type="range" class="rating" min="0" max="100" step="1" value="0" aria-label="rating"></td>'
                '<td class="num"><output class="value">–</output></td>'
                "</tr>"
            )
        sections.append(
            "\n".join(
                [
                    f'<section class="trial" id="trial-{esc(sid)}" data-trial="{esc(trial.id)}" hidden>',
                    f'<h2>Trial <span class="position">?</span> of {len(design.trials)}</h2>',
                    f"<blockquote>{esc(trial.text)}</blockquote>" if design.show_text else "",
                    '<p class="reference"><strong>Reference</strong> '
                    f'<audio controls preload="auto" src="{esc(trial.reference)}" data-reference="true"></audio></p>',
                    '<table class="stimuli"><thead><tr><th>sample</th><th>audio</th>'
                    '<th><span class="scale"><span>bad</span><span>poor</span><span>fair</span><span>good</span>'
                    '<span>excellent</span></span></th><th class="num">rating</th></tr></thead>',
                    "<tbody>" + "\n".join(rows) + "</tbody></table>",
                    '<p class="status" role="status"></p>',
                    '<p><button type="button" class="next">Next</button></p>',
                    "</section>",
                ]
            )
        )
    body = "\n".join(
        [
            "<main>",
            '<section id="intro">',
            f"<h1>{esc(design.title)}</h1>",
            instructions_html(design),
            '<p><label for="listener">Your listener ID</label> '
            '<input type="text" id="listener" autocomplete="off" maxlength="64" required> '
            '<button type="button" id="start">Start</button></p>',
            '<p class="muted">Letters, digits, spaces, <code>.</code>, <code>_</code>, <code>@</code> and '
            "<code>-</code>. Use the same ID to continue an interrupted test in this browser.</p>",
            '<p id="intro-status" role="status"></p>',
            "</section>",
            *sections,
            '<section id="done" hidden>',
            "<h2>Thank you</h2>",
            "<p>Your ratings are complete. Download them and send the file to the experimenter: "
            "nothing has left this computer.</p>",
            '<p><button type="button" id="download">Download the results (CSV)</button></p>',
            '<p><label for="csv">The same results as text:</label></p>',
            '<textarea id="csv" rows="8" cols="100" readonly></textarea>',
            "</section>",
            "</main>",
            f"<footer>Test {esc(design.test_id)} ({esc(design.design_hash)}), written by prosody_plugin "
            f"{esc(__version__)} on {esc(design.created)}. Self-contained: nothing is loaded from the network.</footer>",
            json_script("design", data),
        ]
    )
    style = """
.stimuli td, .stimuli th { padding: .3rem .6rem; }
.stimuli th.slot { font-size: 1.1rem; color: var(--fg); width: 3rem; }
input.rating { width: 22rem; }
.scale { display: flex; width: 22rem; justify-content: space-between; }
.scale span { flex: 1; text-align: center; }
tr.played th.slot::after { content: " \\2713"; color: #2f7d32; font-size: .8rem; }
.status { color: #a33; min-height: 1.4em; }
"""
    return page(design.title, body, style=style, script=_JS.read_text(encoding="utf-8"))


def write_webmushra(output_dir: Path, design: MushraDesign) -> Path:
    """webMUSHRA's YAML configuration and its stimuli, under ``output_dir/webmushra``.

    The folder merges into a webMUSHRA installation's root (its paths are relative to it):
    ``configs/<test id>.yaml`` and ``configs/resources/<test id>/``. webMUSHRA adds the hidden
    reference to every trial itself (its results call it ``reference``); the anchor is this
    test's own file (``createAnchor35`` is false), under the condition name ``anchor``.
    """
    root = Path(output_dir) / "webmushra"
    if root.exists():
        shutil.rmtree(root)
    resources = f"configs/resources/{design.test_id}"

    def place(relative: str) -> str:
        target = root / resources / Path(relative).relative_to("stimuli")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(output_dir) / relative, target)
        return f"{resources}/{Path(relative).relative_to('stimuli').as_posix()}"

    mushra_pages = []
    for i, trial in enumerate(design.trials):
        content = f"<p>{esc(trial.text)}</p>" if design.show_text else ""
        mushra_pages.append(
            dict(
                type="mushra",
                id=trial.id,
                name="Rate the naturalness of each sample",
                content=content
                + "<p>Compare every sample with the reference; the hidden reference should get 100.</p>",
                showWaveform=False,
                enableLooping=False,
                reference=place(trial.reference),
                createAnchor35=False,
                createAnchor70=False,
                randomize=True,
                showConditionNames=False,
                stimuli={c: place(trial.stimuli[c]) for c in design.conditions if c != REFERENCE},
            )
        )
    config = dict(
        testname=design.title,
        testId=design.webmushra_test_id,
        bufferSize=2048,
        stopOnErrors=True,
        showButtonPreviousPage=True,
        remoteService="service/write.php",
        pages=[
            dict(type="generic", id="instructions", name="Instructions", content=instructions_html(design)),
            dict(
                type="volume",
                id="volume",
                name="Volume",
                content="Set a comfortable listening level with this recording; do not change it during the test.",
                stimulus=f"{resources}/{Path(design.trials[0].reference).relative_to('stimuli').as_posix()}",
                defaultVolume=0.5,
            ),
            ["random", *mushra_pages],
            dict(
                type="finish",
                name="Thank you",
                content="Thank you for taking part. Please enter your listener ID and send the results.",
                showResults=False,
                writeResults=True,
                questionnaire=[dict(type="text", label="Listener ID", name="listener")],
            ),
        ],
    )
    path = root / "configs" / f"{design.test_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# webMUSHRA configuration of the prosody_plugin test {design.test_id} ({design.design_hash}).\n"
        "# Copy the contents of this webmushra/ folder into the root of a webMUSHRA installation and open\n"
        f"#   http://<server>/<webMUSHRA>/?config={design.test_id}.yaml\n"
        f"# Results: results/{design.webmushra_test_id}/mushra.csv, scored by prosody_plugin.bin.score_mushra.\n"
    )
    path.write_text(
        header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=1000), encoding="utf-8"
    )
    return path


__all__ = [
    "ANCHOR",
    "CSV_COLUMNS",
    "MAX_CONDITIONS",
    "MushraDesign",
    "REFERENCE",
    "Trial",
    "NUM_ORDERS",
    "build_mushra_test",
    "make_mushra_test",
    "mushra_page",
    "prepare_trial",
    "write_webmushra",
]
