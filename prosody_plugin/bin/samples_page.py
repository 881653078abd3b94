#!/usr/bin/env python3
"""Samples page: the recordings and every system side by side (recipe stage 13).

:mod:`prosody_plugin.listening.samples`; docs/listening_tests.md (The samples page).
"""

import argparse
import logging
import sys
from pathlib import Path

from prosody_plugin.listening.samples import make_samples_page


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="A static samples page: recordings, every system's decodes, scores, F0 plots, renditions of one text",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data_dir", type=Path, required=True, help="Data dir of the recordings (text, wav.scp)"
    )
    parser.add_argument(
        "--system", action="append", default=[], required=True, help="NAME=DECODE_DIR (with wav.scp); repeat"
    )
    parser.add_argument(
        "--utts", nargs="*", default=[], help="Utterances to show (default: a spread of sentence types)"
    )
    parser.add_argument("--num_utts", type=int, default=6, help="How many utterances when choosing")
    parser.add_argument("--spacy_model", default=None, help="spaCy model for the sentence types")
    parser.add_argument(
        "--scores_dir", type=Path, default=None, help="Stage 12's scores dir (utterances.csv, words.csv)"
    )
    parser.add_argument("--title", default="Samples")
    parser.add_argument("--output_dir", type=Path, required=True)
    group = parser.add_argument_group("F0 contour plots (given --train_config)")
    group.add_argument("--train_config", type=Path, default=None, help="A stage-one config.yaml (token list)")
    group.add_argument("--model_file", type=Path, default=None, help="Its checkpoint")
    group.add_argument("--durations", type=Path, default=None, help="The recordings' phone durations")
    group.add_argument("--words", type=Path, default=None, help="Word labels (the context dir's words)")
    group = parser.add_argument_group(
        "Renditions of a one-to-many system, e.g. Kathaka (given --renditions_train_config)"
    )
    group.add_argument("--renditions_train_config", type=Path, default=None, help="Its stage-one config.yaml")
    group.add_argument("--renditions_model_file", type=Path, default=None, help="Its stage-one checkpoint")
    group.add_argument(
        "--renditions_context_train_config", type=Path, default=None, help="Its sampler's config.yaml"
    )
    group.add_argument(
        "--renditions_context_model_file", type=Path, default=None, help="Its sampler's checkpoint"
    )
    group.add_argument("--num_renditions", type=int, default=3, help="Renditions per text (0: none)")
    group.add_argument("--temperature", type=float, default=1.0, help="Sampling temperature")
    group.add_argument("--seed", type=int, default=0, help="Seed of the first rendition (then seed + 1, ...)")
    group.add_argument(
        "--renditions_speed_calibration_file",
        type=Path,
        default=None,
        help="Its calibrated speed, as its decodes' (recipe stage 7's speed_calibration.yaml)",
    )
    group.add_argument(
        "--vocoder_file", type=Path, default=None, help="ParallelWaveGAN-family .pkl (default: Griffin-Lim)"
    )
    group.add_argument("--vocoder_config", type=Path, default=None)
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    plot_model = renditions_system = None
    if args.train_config is not None:
        if args.model_file is None or args.durations is None:
            raise SystemExit("F0 plots need --train_config, --model_file and --durations")
        plot_model = dict(
            train_config=args.train_config,
            model_file=args.model_file,
            durations=args.durations,
            words=args.words,
        )
    if args.renditions_train_config is not None:
        names = (
            "renditions_train_config",
            "renditions_model_file",
            "renditions_context_train_config",
            "renditions_context_model_file",
        )
        if any(getattr(args, n) is None for n in names):
            raise SystemExit("renditions need --" + ", --".join(names))
        renditions_system = {n.removeprefix("renditions_"): getattr(args, n) for n in names}
        renditions_system["speed_calibration_file"] = args.renditions_speed_calibration_file
    try:
        index = make_samples_page(
            args.output_dir,
            args.data_dir,
            args.system,
            args.utts,
            args.num_utts,
            args.spacy_model,
            args.scores_dir,
            plot_model,
            renditions_system,
            args.num_renditions,
            args.temperature,
            args.seed,
            args.vocoder_file,
            args.vocoder_config,
            args.title,
        )
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"samples page: {e}") from e
    logging.info(f"wrote {index}")


if __name__ == "__main__":
    main(sys.argv[1:])
