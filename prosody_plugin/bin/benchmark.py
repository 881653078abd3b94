#!/usr/bin/env python3
"""
"""

import argparse
import logging
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import torch

from prosody_plugin.evaluation.benchmark import (
    BASELINE,
    BASELINE_TTS,
    DEFAULT_CONTEXT_EXPS,
    DEFAULT_TTS_EXPS,
    SYSTEMS,
    logger,
    read_sentences,
    resolve_exps,
    run_benchmark,
    write_report,
)
from prosody_plugin.frontend.bert import RUNTIMES


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Benchmark Kathaka and CAMP against the ESPnet FastSpeech2 baseline: text-to-mel "
        "latency, batched throughput, training step and context extraction (run from the recipe dir).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    group = parser.add_argument_group("experiments")
    group.add_argument("--tts_exps", nargs="+", default=None,
                       help="Stage-one exp dirs; the kind (fastspeech2 = baseline, kathaka, camp) is read from "
                       f"config.yaml; default: those of {', '.join(DEFAULT_TTS_EXPS)} that exist")  # fmt: skip
    group.add_argument("--context_exps", nargs="+", default=None,
                       help="Stage-two exp dirs; the kind (kathaka_sampler, camp_predictor) is read from "
                       f"config.yaml; default: those of {', '.join(DEFAULT_CONTEXT_EXPS)} that exist")  # fmt: skip
    for name in SYSTEMS:
        group.add_argument(f"--{name}_exp", type=Path, help=f"Stage-one exp of {name} (overrides --tts_exps)")
    for name in SYSTEMS[1:]:
        group.add_argument(f"--{name}_context_exp", type=Path, help=f"Stage-two exp of {name} (overrides --context_exps)")
    group.add_argument("--inference_model", default="valid.loss.ave.pth", help="Stage-one checkpoint in each exp")
    group.add_argument("--context_inference_model", default="valid.loss.ave.pth", help="Stage-two checkpoint")
    group.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS,
                       help="Systems to run (the baseline is needed for the ratios)")  # fmt: skip

    group = parser.add_argument_group("workload")
    group.add_argument("--text_file", type=Path, default=Path("dump/raw/eval/text"), help="Kaldi text of the sentences")
    group.add_argument("--num_sentences", type=int, default=None, help="Sentences (cycled when the file has fewer); all when not given")  # fmt: skip
    group.add_argument("--batch_size", type=int, default=16, help="Batch of the throughput and training step (sentences cycled)")  # fmt: skip
    group.add_argument("--warmup", type=int, default=2, help="Untimed calls per system and measurement")
    group.add_argument("--repeats", type=int, default=5, help="Timed calls (per sentence for the latency)")
    group.add_argument("--extract_pitch_energy", action="store_true",
                       help="Drop the precomputed pitch/energy of the training data: the step extracts them (Dio)")  # fmt: skip
    group.add_argument("--skip_training", action="store_true", help="Leave out the training step")
    group.add_argument("--full_size", action="store_true",
                       help="Also measure latency and throughput at the full (GPU-config) model sizes, untrained, "
                       "on the same devices (prosody_plugin.evaluation.full_size)")  # fmt: skip
    group.add_argument("--full_size_configs", type=Path, default=Path("conf/tuning"),
                       help="Dir of the full-size configs (train_<system>_gpu.yaml, train_<predictor>_gpu.yaml)")  # fmt: skip
    group.add_argument("--full_size_dir", type=Path, default=Path("exp/benchmark_full_size"),
                       help="Where the untrained full-size experiments are built (reused when there)")  # fmt: skip

    group = parser.add_argument_group("hardware")
    group.add_argument("--devices", "--device", nargs="+", default=None,
                       help="Torch devices; default: cpu, plus cuda when available")  # fmt: skip
    group.add_argument("--num_threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    group.add_argument("--bert_runtime", choices=RUNTIMES, default="torch",
                       help="Runtime of the frozen BERT on the CPU (Text2SpeechProsody's bert_runtime)")
    group.add_argument("--seed", type=int, default=0)

    group = parser.add_argument_group("output")
    group.add_argument("--output", type=Path, default=None, help="Also write OUTPUT.md (the tables) and OUTPUT.json (raw numbers)")  # fmt: skip
    group.add_argument("--verbose", type=int, default=1, help="0: warnings, 1: progress, 2: ESPnet's own logs too")
    return parser


def exps_of(args: argparse.Namespace):
    """The command line's experiments: {system: (stage-one exp, stage-two exp or None)}."""
    return resolve_exps(
        [name for name in SYSTEMS if name in args.systems], args.tts_exps, args.context_exps,
        explicit={n: getattr(args, f"{n}_exp") for n in SYSTEMS},
        explicit_context={n: getattr(args, f"{n}_context_exp") for n in SYSTEMS[1:]},
    )  # fmt: skip


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    args = get_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose > 1 else logging.WARNING,
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )
    logger.setLevel(logging.INFO if args.verbose > 0 else logging.WARNING)
    if BASELINE not in args.systems:
        raise SystemExit("--systems must include the baseline (the ratios are against it)")
    if args.num_threads is not None:
        torch.set_num_threads(args.num_threads)
    try:
        exps = exps_of(args)
        sizes = None
        if args.full_size:
            from prosody_plugin.evaluation.full_size import build_full_size_exps, inputs_for

            names = {n: BASELINE_TTS if n == BASELINE else n for n in exps}
            built = build_full_size_exps(*inputs_for(exps, names, args.full_size_configs), args.full_size_dir,
                                         model_file=args.inference_model, context_model_file=args.context_inference_model)  # fmt: skip
            sizes = {"full size": built}
        report = run_benchmark(
            exps, read_sentences(args.text_file, args.num_sentences),
            devices=args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]),
            batch_size=args.batch_size, warmup=args.warmup, repeats=args.repeats,
            inference_model=args.inference_model, context_inference_model=args.context_inference_model,
            skip_training=args.skip_training, extract_pitch_energy=args.extract_pitch_energy,
            seed=args.seed, verbose=args.verbose, sizes=sizes, settings=vars(args), source=str(args.text_file),
            bert_runtime=args.bert_runtime,
        )  # fmt: skip
    except ValueError as e:
        raise SystemExit(str(e)) from None
    print(write_report(report, args.output), end="")
    return report


if __name__ == "__main__":
    main()
