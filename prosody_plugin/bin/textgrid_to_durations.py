#!/usr/bin/env python3
"""Convert Montreal Forced Aligner TextGrids into phone tokens and ESPnet durations.

The rules: :mod:`prosody_plugin.data.textgrid_durations`; docs/recipes.md (Stage 4).
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence

from prosody_plugin.data.textgrid_durations import convert_data_dir


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Convert Montreal Forced Aligner TextGrids into ESPnet durations and "
        "rewrite the data dir's text to MFA's phones.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("data_dir", type=Path, help="Formatted data dir (with utt2num_samples).")
    parser.add_argument("durations_out", type=Path, help="Output durations (ESPnet format).")
    parser.add_argument("--fs", type=int, required=True, help="Sampling rate (Hz).")
    parser.add_argument("--n_shift", type=int, required=True, help="Feature frame shift.")
    parser.add_argument("--textgrid_dir", type=Path, required=True, help="MFA output: <dir>/<utt>.TextGrid.")
    parser.add_argument("--words_tier", default="words", help="Name of the words tier.")
    parser.add_argument("--phones_tier", default="phones", help="Name of the phones tier.")
    parser.add_argument(
        "--on_error",
        default="drop",
        choices=["drop", "stop"],
        help="drop: name and drop bad utterances; stop: fail at the first one.",
    )
    parser.add_argument("--verbose", type=int, default=1, help="0: warnings, 1: info, 2: debug.")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the conversion from the command line."""
    args = get_parser().parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(max(args.verbose, 0), 2)],
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )
    convert_data_dir(
        args.data_dir,
        args.durations_out,
        args.textgrid_dir,
        args.fs,
        args.n_shift,
        args.words_tier,
        args.phones_tier,
        args.on_error,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
