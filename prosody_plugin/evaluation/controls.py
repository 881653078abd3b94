"""How well synthesis follows the prosody controls, measured on the synthesised audio (recipe stage 12).

Global controls and emphasis levels against plain synthesis, with the model's own F0 and
energy extraction pooled per word as the word-level scoring does; :func:`measure_controls`
writes ``controls.md`` / ``controls.csv`` and ``emphasis_f0.png``.
docs/prosody_control.md (How well the sound follows).
"""

import csv
import logging
import math
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from prosody_plugin.evaluation.metrics import word_prosody
from prosody_plugin.evaluation.statistics import Bootstrap, Estimate, format_estimate, sufficient_stats
from prosody_plugin.frontend.words import split_sentences
from prosody_plugin.text.word_boundaries import token_classes, word_ids
from prosody_plugin.tts.word_pooling import append_eos

CENTS_PER_LOG = 1200.0 / math.log(2.0)

#: Global controls measured by default: (control, value).
GLOBAL_CONTROLS: Tuple[Tuple[str, float], ...] = (
    ("pitch_semitones", 2.0),
    ("pitch_semitones", -2.0),
    ("pitch_range", 0.5),
    ("pitch_range", 1.5),
    ("rate", 0.8),
    ("rate", 1.25),
    ("energy_db", 6.0),
    ("energy_db", -6.0),
)
#: What each control is measured by, the asked value in those units, and the tolerance.
TOLERANCES = {"pitch_semitones": 50.0, "pitch_range": 0.1, "rate": 0.05, "energy_db": 1.5}
WORD_KEYS = ("f0_range_cents", "mean_log_f0_cents", "duration_ms", "energy_db")


class SynthesisMeasurer:
    """Token- and word-level prosody of a system's own syntheses, measured from the audio."""

    def __init__(self, tts):
        self.tts = tts
        self.model = tts.model
        args = tts.text2speech.train_args
        self.frame_shift_s = args.feats_extract_conf["hop_length"] / args.feats_extract_conf["fs"]
        self.classes = token_classes(args.token_list)

    def tokens(self, out: Mapping[str, torch.Tensor]) -> Dict[str, np.ndarray]:
        """Natural token-level log-F0 and energy of a synthesis (T_text + 1,), from its wav."""
        if out.get("wav") is None:
            raise ValueError(
                "controls are measured on the audio: synthesise with a vocoder (use_vocoder=True)"
            )
        durations = out["duration"].long()
        wav = out["wav"].view(-1).float()
        normalised = self.model.reference_variances(wav, durations, int(durations.sum()))
        natural = self.model.natural_variances(**normalised)
        return {k: v.numpy().astype(np.float64) for k, v in natural.items()}

    def words(self, utterance, out: Mapping[str, torch.Tensor]):
        """:class:`~prosody_plugin.evaluation.metrics.WordProsody` of one sentence's synthesis."""
        values = self.tokens(out)
        ids = torch.from_numpy(utterance.token_ids)
        xs, ilens = append_eos(
            ids[None], torch.tensor([len(ids)]), self.model.tts.eos, self.model.tts.padding_idx
        )
        spans, num_words = word_ids(xs, ilens, *self.classes, pauses_in_words=False)
        return word_prosody(
            out["duration"].long().numpy(),
            values["pitch"],
            values["energy"],
            spans[0].numpy(),
            int(num_words[0]),
            self.frame_shift_s,
        )


def single_sentence(tts, text: str):
    """The front end's utterance of a one-sentence text; ValueError naming a longer one."""
    sentences = split_sentences(text)
    if len(sentences) != 1:
        raise ValueError(f"controls are measured on single sentences, {text!r} has {len(sentences)}")
    return tts.frontend.analyze(sentences[0], utt_id=text[:30])


def _utterance_pitch(durations: np.ndarray, log_f0: np.ndarray) -> Tuple[float, float]:
    """Duration-weighted mean and standard deviation of the voiced tokens' log-F0."""
    voiced = (log_f0 > 0) & (durations > 0)
    if not voiced.any():
        return float("nan"), float("nan")
    w, x = durations[voiced].astype(np.float64), log_f0[voiced]
    mean = float(np.average(x, weights=w))
    return mean, float(np.sqrt(np.average((x - mean) ** 2, weights=w)))


def _estimate(values: Sequence[float], num_resamples: int, seed: int) -> Estimate:
    values = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
    if not len(values):
        return Estimate(float("nan"), float("nan"), float("nan"))
    stats = np.stack([sufficient_stats("mean", np.array([v])) for v in values])
    return Bootstrap(len(values), num_resamples, seed).compare("mean", stats).estimate


def measure_global_controls(
    tts,
    texts: Sequence[str],
    controls: Sequence[Tuple[str, float]] = GLOBAL_CONTROLS,
    num_resamples: int = 1000,
    seed: int = 0,
    batch_size: int = 16,
) -> List[Dict]:
    """One row per control: asked and measured (mean over sentences, 95% interval)."""
    measurer = SynthesisMeasurer(tts)
    plain = tts(list(texts), seed=seed, batch_size=batch_size, temperature=0.0)
    plain_tokens = [measurer.tokens(o) for o in plain]
    rows = []
    for name, value in controls:
        outs = tts(list(texts), seed=seed, batch_size=batch_size, temperature=0.0, **{name: value})
        measured = []
        for base, base_tokens, out in zip(plain, plain_tokens, outs):
            tokens = measurer.tokens(out)
            d0, d1 = base["duration"].numpy(), out["duration"].numpy()
            (m0, s0), (m1, s1) = (
                _utterance_pitch(d0, base_tokens["pitch"]),
                _utterance_pitch(d1, tokens["pitch"]),
            )
            if name == "pitch_semitones":
                measured.append((m1 - m0) * CENTS_PER_LOG)
            elif name == "pitch_range":
                measured.append(s1 / s0 if s0 > 0 else float("nan"))
            elif name == "rate":
                measured.append(len(out["wav"]) / len(base["wav"]))
            else:
                e0 = np.average(base_tokens["energy"], weights=np.maximum(d0, 1e-9))
                e1 = np.average(tokens["energy"], weights=np.maximum(d1, 1e-9))
                measured.append(20 * math.log10(max(e1, 1e-10) / max(e0, 1e-10)))
        asked = {
            "pitch_semitones": 100.0 * value,
            "pitch_range": value,
            "rate": 1.0 / value,
            "energy_db": value,
        }[name]
        unit = {
            "pitch_semitones": "cents",
            "pitch_range": "F0 spread ratio",
            "rate": "length ratio",
            "energy_db": "dB",
        }[name]
        estimate = _estimate(measured, num_resamples, seed)
        tolerance = TOLERANCES[name] * (abs(asked) if name == "rate" else 1.0)
        rows.append(
            dict(
                control=name,
                value=value,
                unit=unit,
                asked=asked,
                measured=estimate,
                tolerance=tolerance,
                within=bool(abs(estimate.value - asked) <= tolerance),
                sentences=int(np.isfinite(measured).sum()),
            )
        )
    return rows


def measure_emphasis(
    tts,
    texts: Sequence[str],
    levels: Sequence[str] = ("reduced", "moderate", "strong"),
    max_words: int = 6,
    num_resamples: int = 1000,
    seed: int = 0,
    batch_size: int = 16,
) -> List[Dict]:
    """One row per level and word measure: the emphasised word's change and its neighbours'."""
    measurer = SynthesisMeasurer(tts)
    utterances = [single_sentence(tts, t) for t in texts]
    plain = tts(list(texts), seed=seed, batch_size=batch_size, temperature=0.0)
    plain_words = [measurer.words(u, o) for u, o in zip(utterances, plain)]
    rows = []
    for level in levels:
        jobs = [(k, w) for k, u in enumerate(utterances) for w in range(min(max_words, u.num_words))]
        outs = tts(
            [texts[k] for k, _ in jobs],
            seed=seed,
            batch_size=batch_size,
            temperature=0.0,
            emphasis=[{w: level} for _, w in jobs],
        )
        changes: Dict[str, List[float]] = {key: [] for key in WORD_KEYS}
        neighbours: Dict[str, List[float]] = {key: [] for key in WORD_KEYS}
        for (k, w), out in zip(jobs, outs):
            words, base = measurer.words(utterances[k], out), plain_words[k]
            for key in WORD_KEYS:
                after, before = getattr(words, key), getattr(base, key)
                change = (after / before - 1.0) * 100.0 if key == "duration_ms" else after - before
                changes[key].append(float(change[w]))
                others = [abs(float(change[v])) for v in (w - 1, w + 1) if 0 <= v < len(change)]
                neighbours[key].append(float(np.nanmean(others)) if others else float("nan"))
        for key in WORD_KEYS:
            rows.append(
                dict(
                    level=level,
                    measure=key,
                    word=_estimate(changes[key], num_resamples, seed),
                    neighbours=_estimate(neighbours[key], num_resamples, seed),
                    words=int(np.isfinite(changes[key]).sum()),
                )
            )
    return rows


def plot_emphasis_f0(tts, text: str, path: Path, level: str = "strong", seed: int = 0) -> Path:
    """F0 contours (frame level, from the audio) of one sentence with each word emphasised in turn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pyworld

    utterance = single_sentence(tts, text)
    words = utterance.words
    outs = tts(
        [text] * (len(words) + 1),
        seed=seed,
        temperature=0.0,
        emphasis=[None] + [{w: level} for w in range(len(words))],
    )
    measurer = SynthesisMeasurer(tts)
    fig, axes = plt.subplots(len(outs), 1, figsize=(9, 1.3 * len(outs) + 0.6), sharex=True, sharey=True)
    for row, (ax, out) in enumerate(zip(np.atleast_1d(axes), outs)):
        wav = out["wav"].view(-1).double().numpy()
        fs = tts.fs
        f0, times = pyworld.dio(wav, fs, frame_period=measurer.frame_shift_s * 1000)
        f0 = pyworld.stonemask(wav, f0, times, fs)
        f0[f0 <= 0] = np.nan
        ax.plot(times, f0, lw=1.2)
        ends = np.cumsum(out["duration"].numpy()) * measurer.frame_shift_s
        ids = utterance.token_word_ids
        for w in range(len(words)):
            last = int(np.nonzero(ids == w)[0].max())
            ax.axvline(ends[last], color="0.85", lw=0.8)
        label = "plain" if row == 0 else f"{words[row - 1]!s}"
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    np.atleast_1d(axes)[-1].set_xlabel("time (s)")
    fig.suptitle(f"F0 (Hz) with each word emphasised ({level}) in turn: {text}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def measure_controls(
    tts,
    texts: Sequence[str],
    output_dir: Path,
    title: str,
    max_words: int = 6,
    num_resamples: int = 1000,
    seed: int = 0,
    figure_text: Optional[str] = None,
) -> str:
    """Measure the global controls and emphasis; write controls.{md,csv} and the figure; return the table."""
    texts = [
        split_sentences(t)[0] for t in texts if split_sentences(t)
    ]  # one sentence each: word indices are its own
    output_dir.mkdir(parents=True, exist_ok=True)
    logging.info(f"{title}: global controls on {len(texts)} sentences")
    global_rows = measure_global_controls(tts, texts, num_resamples=num_resamples, seed=seed)
    logging.info(f"{title}: emphasis of up to {max_words} words per sentence")
    emphasis_rows = measure_emphasis(tts, texts, max_words=max_words, num_resamples=num_resamples, seed=seed)
    with open(output_dir / "controls.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "kind",
                "control",
                "value",
                "measure",
                "asked",
                "measured",
                "ci_low",
                "ci_high",
                "tolerance",
                "n",
            ]
        )
        for r in global_rows:
            m = r["measured"]
            writer.writerow(
                [
                    "global",
                    r["control"],
                    r["value"],
                    r["unit"],
                    r["asked"],
                    m.value,
                    m.low,
                    m.high,
                    r["tolerance"],
                    r["sentences"],
                ]
            )
        for r in emphasis_rows:
            for who in ("word", "neighbours"):
                m = r[who]
                writer.writerow(
                    [
                        f"emphasis_{who}",
                        "emphasis",
                        r["level"],
                        r["measure"],
                        "",
                        m.value,
                        m.low,
                        m.high,
                        "",
                        r["words"],
                    ]
                )
    lines = [
        f"# Prosody controls: {title}",
        "",
        f"Measured on the synthesised audio of {len(texts)} sentences (Dio F0 and frame energy, "
        "token-averaged over the synthesis's durations); 95% bootstrap intervals.",
        "",
        "| control | asked | measured | tolerance | within |",
        "|---|---|---|---|---|",
    ]
    for r in global_rows:
        lines.append(
            f"| {r['control']} = {r['value']:g} | {r['asked']:g} {r['unit']} | "
            f"{format_estimate(r['measured'], digits=2)} | ±{r['tolerance']:g} | {'yes' if r['within'] else '**no**'} |"
        )
    lines += [
        "",
        f"Emphasis: each of the first {max_words} words of each sentence emphasised in turn; change of the "
        "word against the same word unemphasised (duration in %), and the mean absolute change of its "
        "neighbours.",
        "",
        "| level | measure | emphasised word | neighbours (mean abs.) | words |",
        "|---|---|---|---|---|",
    ]
    for r in emphasis_rows:
        lines.append(
            f"| {r['level']} | {r['measure']} | {format_estimate(r['word'], digits=1)} | "
            f"{format_estimate(r['neighbours'], digits=1)} | {r['words']} |"
        )
    figure = plot_emphasis_f0(tts, figure_text or texts[0], output_dir / "emphasis_f0.png", seed=seed)
    lines += ["", f"Figure: `{figure.name}` (F0 contours of one sentence with each word emphasised in turn)."]
    table = "\n".join(lines) + "\n"
    (output_dir / "controls.md").write_text(table)
    return table


__all__ = [
    "GLOBAL_CONTROLS",
    "TOLERANCES",
    "SynthesisMeasurer",
    "measure_controls",
    "measure_emphasis",
    "measure_global_controls",
    "plot_emphasis_f0",
]
