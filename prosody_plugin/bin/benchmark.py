#!/usr/bin/env python3
"""Speed of Kathaka and CAMP against the ESPnet FastSpeech2 baseline (prosody_plugin.evaluation.speed)."""

import argparse
import logging
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import torch

from prosody_plugin.evaluation import speed
from prosody_plugin.frontend.bert import RUNTIMES


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Latency, batched throughput, training step and context extraction of Kathaka and CAMP "
        "against the ESPnet FastSpeech2 baseline, as ratios of the same run (run from the recipe dir).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    group = parser.add_argument_group("experiments")
    group.add_argument(
        "--exps",
        nargs="+",
        type=Path,
        default=None,
        help="Stage-one and stage-two exp dirs, their kind read from config.yaml (tts: fastspeech2 = "
        "baseline, kathaka, camp; predictor); default: EXPDIR/tts_train_<name>_cpuSUFFIX and "
        "EXPDIR/context_train_<predictor>_cpuSUFFIX that exist",
    )
    group.add_argument("--expdir", type=Path, default=Path("exp"), help="Where the default exps are")
    group.add_argument("--suffix", default="", help="Of the default exp dirs, e.g. _ep40")
    group.add_argument(
        "--inference_model", default="valid.loss.ave.pth", help="Stage-one checkpoint in each exp"
    )
    group.add_argument("--context_inference_model", default="valid.loss.ave.pth", help="Stage-two checkpoint")
    group.add_argument(
        "--systems",
        nargs="+",
        default=list(speed.SYSTEMS),
        choices=speed.SYSTEMS,
        help="Systems to run (the baseline is needed for the ratios)",
    )

    group = parser.add_argument_group("workload")
    group.add_argument(
        "--text_file", type=Path, default=Path("dump/raw/eval/text"), help="Kaldi text of the sentences"
    )
    group.add_argument(
        "--num_sentences", type=int, default=None, help="Sentences (cycled); all when not given"
    )
    group.add_argument(
        "--batch_size", type=int, default=16, help="Of the throughput, training step and context extraction"
    )
    group.add_argument("--warmup", type=int, default=1, help="Untimed calls before each measurement")
    group.add_argument(
        "--min_run_time",
        type=float,
        default=1.0,
        help="Seconds of each measurement (torch.utils.benchmark's blocked_autorange)",
    )
    group.add_argument(
        "--extract_pitch_energy",
        action="store_true",
        help="Drop the precomputed pitch/energy of the training data: the step extracts them (Dio)",
    )
    group.add_argument("--skip_training", action="store_true", help="Leave out the training step")
    group.add_argument(
        "--breakdown",
        action="store_true",
        help="Also time the pieces of a batch-1 call (front end, BERT, spaCy, stage two, acoustic model)",
    )
    group.add_argument(
        "--full_size",
        action="store_true",
        help="Also time latency and throughput at the GPU configs' model sizes (random weights, built "
        "in memory, the trained models' durations forced on them)",
    )
    group.add_argument(
        "--full_size_configs",
        type=Path,
        default=Path("conf/tuning"),
        help="Dir of train_<name>_gpu.yaml and train_<predictor>_gpu.yaml",
    )

    group = parser.add_argument_group("hardware and output")
    group.add_argument(
        "--devices", "--device", nargs="+", default=None, help="Torch devices; default: cpu (and cuda)"
    )
    group.add_argument(
        "--num_threads", type=int, default=None, help="torch.set_num_threads (default: torch's)"
    )
    group.add_argument(
        "--bert_runtime", choices=RUNTIMES, default="torch", help="Of the frozen BERT on the CPU"
    )
    group.add_argument("--seed", type=int, default=0)
    group.add_argument(
        "--output", type=Path, default=None, help="Also write OUTPUT.md (the tables) and OUTPUT.json"
    )
    group.add_argument("--verbose", type=int, default=0, help="1: ESPnet's own logs too")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    args = get_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )
    if args.num_threads is not None:
        torch.set_num_threads(args.num_threads)
    args.devices = args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    try:
        report = speed.run_benchmark(args)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    print(speed.write_report(report, args.output), end="")
    return report


if __name__ == "__main__":
    main()
