#!/usr/bin/env python3
"""A MUSHRA listening test of the recipe's systems (recipe stage 13): the test page, a webMUSHRA
configuration and design.json; see :mod:`prosody_plugin.listening.mushra` and docs/listening_tests.md.
"""

import argparse
import logging
import sys
from pathlib import Path

from espnet2.utils.types import str2bool

from prosody_plugin.listening.audio import ANCHOR_CUTOFF_HZ, DEFAULT_LEVEL_DBFS
from prosody_plugin.listening.mushra import make_mushra_test


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="A MUSHRA test (ITU-R BS.1534): an HTML page and a webMUSHRA configuration",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data_dir", type=Path, required=True, help="Data dir of the recordings (text, wav.scp)"
    )
    parser.add_argument(
        "--system",
        action="append",
        default=[],
        required=True,
        help="NAME=DECODE_DIR of a system under test (with wav.scp); repeat",
    )
    parser.add_argument("--baseline", required=True, help="The baseline among the systems")
    parser.add_argument("--test_id", required=True, help="Name of the test (letters, digits, _ and -)")
    parser.add_argument(
        "--utts", nargs="*", default=[], help="The trials' utterances (default: a spread of sentence types)"
    )
    parser.add_argument("--num_trials", type=int, default=8, help="How many trials when choosing")
    parser.add_argument("--spacy_model", default=None, help="spaCy model for the sentence types")
    parser.add_argument(
        "--seed", type=int, default=0, help="Seed of the stimulus names and the listener orders"
    )
    parser.add_argument("--fs", type=int, default=None, help="Rate of the stimuli (default: the recordings')")
    parser.add_argument(
        "--anchor_cutoff_hz", type=float, default=ANCHOR_CUTOFF_HZ, help="Low-pass cutoff of the anchor"
    )
    parser.add_argument(
        "--level_dbfs", type=float, default=DEFAULT_LEVEL_DBFS, help="Active speech level of the stimuli"
    )
    parser.add_argument("--show_text", type=str2bool, default=True, help="Show the sentence in each trial")
    parser.add_argument(
        "--require_play", type=str2bool, default=True, help="Every sample must be played before Next"
    )
    parser.add_argument("--title", default="Listening test: naturalness of synthetic speech")
    parser.add_argument("--output_dir", type=Path, required=True)
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    try:
        design = make_mushra_test(
            args.output_dir,
            args.data_dir,
            args.system,
            args.baseline,
            args.test_id,
            args.utts,
            args.num_trials,
            args.spacy_model,
            seed=args.seed,
            fs=args.fs,
            anchor_cutoff_hz=args.anchor_cutoff_hz,
            level_dbfs=args.level_dbfs,
            show_text=args.show_text,
            require_play=args.require_play,
            title=args.title,
        )
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"MUSHRA test: {e}") from e
    logging.info(
        f"wrote the MUSHRA test {design.test_id} ({design.design_hash}): {len(design.trials)} trials x "
        f"{len(design.conditions)} conditions; page {args.output_dir / 'index.html'}, webMUSHRA "
        f"{args.output_dir / design.webmushra_config}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
