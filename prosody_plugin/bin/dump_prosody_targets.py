#!/usr/bin/env python3
"""Write stage two's targets, the stage-one prosody representation of every recording
(recipe stage 9): :func:`prosody_plugin.context.targets.dump_targets`; docs/stage_two.md.
"""

import argparse
import logging
import sys
from pathlib import Path

from prosody_plugin.context.targets import dump_targets
from prosody_plugin.tts.espnet_model import load_trained_model


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Write the stage-one prosody representations (stage two's targets)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--train_config", type=Path, required=True, help="Stage-one config.yaml")
    parser.add_argument("--model_file", type=Path, required=True, help="Stage-one checkpoint")
    parser.add_argument(
        "--set",
        nargs=4,
        action="append",
        type=Path,
        required=True,
        metavar=("DATA_DIR", "DURATIONS", "NUM_WORDS", "OUTPUT_DIR"),
        help="A formatted data dir (text, wav.scp), its phone durations, the front end's word "
        "counts (context dir's num_words) and the output dir; repeat for several sets",
    )
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    model, _, preprocess = load_trained_model(args.train_config, args.model_file)
    if not hasattr(model.tts, "prosody_target"):
        raise SystemExit(
            f"{args.model_file} holds a {type(model.tts).__name__}, which has no prosody representation"
        )
    for data_dir, durations, num_words, output_dir in args.set:
        dump_targets(model, preprocess, data_dir, durations, num_words, output_dir)


if __name__ == "__main__":
    main(sys.argv[1:])
