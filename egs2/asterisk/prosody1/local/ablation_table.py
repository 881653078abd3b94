#!/usr/bin/env python3
"""Tables of the ablation rows of local/ablation.sh, from their stage-12 scores.

Word level, for each row: Kathaka's active latent dimensions at the last epoch (valid),
and for the oracle and text-only systems of both models the word log-F0 and word duration
RMSE with the fraction of the baseline's error removed, ``(baseline - system) / baseline``,
and, for the text-only systems, the share of the baseline-to-oracle gap they close.
Waveform level: MCD and distillMOS of the same systems and the baseline.
On the audio: word log-F0 RMSE measured on the synthesised wav, each system's speaking time
over the recordings', and how far the prosody models' audio follows the controls
(stage 12's ``controls_<system>/controls.csv``).
"""

import argparse
import csv
from pathlib import Path
from typing import Dict, Optional

from prosody_plugin.evaluation.plots import read_curves

METRICS = (("word_mean_log_f0_cents_rmse", "log-F0", "cents"), ("word_duration_ms_rmse", "duration", "ms"))
SYSTEMS = (
    ("kathaka_oracle", "Kathaka oracle"),
    ("kathaka_sampled", "Kathaka sampled"),
    ("camp_oracle", "CAMP oracle"),
    ("camp_predicted", "CAMP from text"),
)


def read_scores(path: Path) -> Dict[str, Dict[str, dict]]:
    scores: Dict[str, Dict[str, dict]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            scores.setdefault(row["system"], {})[row["metric"]] = row
    return scores


def cell(scores: Dict[str, Dict[str, dict]], system: str, metric: str, baseline: float) -> str:
    row = scores.get(system, {}).get(metric)
    if row is None:
        return "n/a"
    value = float(row["value"])
    text = f"{value:.0f} ({(baseline - value) / baseline:+.0%})"
    if row["significant"] == "True":
        text += " *"
    if row["gap_closure"]:
        oracle = scores[row["oracle"]][metric]
        if oracle["significant"] == "True" and float(oracle["value"]) < baseline:
            text += f", gap {float(row['gap_closure']):.0%}"
        else:  # the oracle is not better than the baseline: no gap to close
            text += ", no gap"
    return text


def wav_cell(scores: Dict[str, Dict[str, dict]], system: str) -> str:
    texts = []
    for metric in ("mcd_db", "distillmos"):
        row = scores.get(system, {}).get(metric)
        if row is None:
            texts.append("n/a")
            continue
        texts.append(f"{float(row['value']):.2f}" + (" *" if row["significant"] == "True" else ""))
    return " / ".join(texts)


AUDIO_SYSTEMS = (("fastspeech2", "baseline"),) + SYSTEMS
#: (control, value, unit) of the controls columns.
CONTROLS = (("pitch_semitones", 2.0, "cents"), ("energy_db", 6.0, "dB"), ("pitch_range", 1.5, "ratio"))
#: the systems whose controls are measured (from text): stage 12's controls_<system> dirs
CONTROLLED = {"fastspeech2": "baseline", "kathaka": "Kathaka", "camp": "CAMP"}


def audio_cell(
    scores: Dict[str, Dict[str, dict]], system: str, metric: str, scale: float = 1.0, digits: int = 0
) -> str:
    row = scores.get(system, {}).get(metric)
    if row is None:
        return "n/a"
    return f"{scale * float(row['value']):.{digits}f}" + (" *" if row["significant"] == "True" else "")


def control_cell(scores_dir: Path, system: str, control: str, value: float) -> str:
    path = scores_dir / f"controls_{system}" / "controls.csv"
    if not path.exists():
        return "n/a"
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["kind"] == "global" and row["control"] == control and float(row["value"]) == value:
                digits = {"pitch_semitones": 0, "energy_db": 1, "pitch_range": 2}[control]
                return f"{float(row['measured']):.{digits}f}"
    return "n/a"


def active_dims(exp_dir: Path) -> Optional[float]:
    try:
        curves = read_curves(exp_dir)
    except FileNotFoundError:
        return None
    values = curves.get("kl_active_dims", {}).get("valid")
    return values[-1] if values else None


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--expdir", type=Path, default=Path("exp"))
    parser.add_argument("--rows", nargs="+", required=True)
    parser.add_argument("--tag", default="")
    parser.add_argument("--inference_tag", default="decode_valid.loss.ave")
    parser.add_argument("--set", default="eval")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)

    header = ["row", "Kathaka active dims"] + [
        f"{name}: {m} RMSE ({unit})" for _, name in SYSTEMS for _, m, unit in METRICS
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "|---" * len(header) + "|",
    ]
    wav_header = ["row", "baseline"] + [name for _, name in SYSTEMS]
    wav_lines = [
        "| " + " | ".join(wav_header) + " |",
        "|---" * len(wav_header) + "|",
    ]
    audio_header = ["row"] + [f"{name}: audio log-F0 RMSE (cents)" for _, name in AUDIO_SYSTEMS]
    audio_header += [f"{name}: speaking time (%)" for _, name in AUDIO_SYSTEMS]
    audio_header += [
        f"{title} {c}={v:g} ({unit})" for c, v, unit in CONTROLS for title in CONTROLLED.values()
    ]
    audio_lines = ["| " + " | ".join(audio_header) + " |", "|---" * len(audio_header) + "|"]
    baselines = set()
    for row in args.rows:
        # "recipe": the recipe's own experiments (e.g. the `make demo` run) as a reference row
        suffix = args.tag if row == "recipe" else f"_abl_{row}{args.tag}"
        scores_csv = args.expdir / f"scores_{args.inference_tag}{suffix}" / args.set / "scores.csv"
        if not scores_csv.exists():
            lines.append(f"| {row} | (not run: {scores_csv} is missing) |")
            continue
        scores = read_scores(scores_csv)
        baseline = {m: float(scores["fastspeech2"][m]["value"]) for m, _, _ in METRICS}
        baselines.add(tuple(round(v, 1) for v in baseline.values()))
        dims = active_dims(args.expdir / f"tts_train_kathaka_cpu{suffix}")
        cells = [row, "n/a" if dims is None else f"{dims:.1f}"]
        cells += [cell(scores, s, m, baseline[m]) for s, _ in SYSTEMS for m, _, _ in METRICS]
        lines.append("| " + " | ".join(cells) + " |")
        wav_cells = [row] + [wav_cell(scores, s) for s in ["fastspeech2"] + [s for s, _ in SYSTEMS]]
        wav_lines.append("| " + " | ".join(wav_cells) + " |")
        audio_cells = [row] + [
            audio_cell(scores, s, "audio_word_mean_log_f0_cents_rmse") for s, _ in AUDIO_SYSTEMS
        ]
        audio_cells += [audio_cell(scores, s, "duration_ratio", 100.0, 1) for s, _ in AUDIO_SYSTEMS]
        audio_cells += [
            control_cell(scores_csv.parent, system, c, v) for c, v, _ in CONTROLS for system in CONTROLLED
        ]
        audio_lines.append("| " + " | ".join(audio_cells) + " |")
    notes = [
        "",
        f"Word-level RMSE against the recordings ({args.set} set); in brackets the fraction of the "
        "FastSpeech2 baseline's error removed, (baseline - system) / baseline; `*`: differs "
        "from the baseline with paired bootstrap p < 0.05; gap: share of the baseline-to-oracle "
        "gap closed by the text-only system.",
    ]
    for values in sorted(baselines):
        notes.append(
            f"Baseline: word log-F0 RMSE {values[0]:.0f} cents, word duration RMSE {values[1]:.0f} ms."
        )
    wav_notes = [
        "",
        "Waveform level (Griffin-Lim): MCD in dB (lower is better) / distillMOS (higher is better); "
        "`*`: differs from the baseline with paired bootstrap p < 0.05.",
        "",
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    audio_notes = [
        "",
        "On the audio: word log-F0 RMSE measured on the synthesised wav (over the model's own "
        "durations); speaking time: total duration over the recording's (target 97-103%); controls: "
        "what the audio of each system from text measures for +2 semitones (asked 200 cents), +6 dB and "
        "pitch range 1.5 (asked 1.5); `*`: differs from the baseline with paired bootstrap p < 0.05.",
        "",
    ]
    args.output.write_text(
        "\n".join(lines + notes + wav_notes + wav_lines + audio_notes + audio_lines) + "\n"
    )
    print(args.output.read_text())


if __name__ == "__main__":
    main()
