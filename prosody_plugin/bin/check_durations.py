#!/usr/bin/env python3
"""Check phone durations against the tokens and frames training will see.

Recipe stage 4 (:mod:`prosody_plugin.data.duration_check`); docs/recipes.md (Stage 4).
"""

import argparse
import logging
import sys
from pathlib import Path

from espnet2.train.preprocessor import CommonPreprocessor
from espnet2.utils.types import str2bool

from prosody_plugin.data.duration_check import check_durations
from prosody_plugin.data.pauses import PauseConfig


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--set",
        nargs=3,
        action="append",
        type=Path,
        required=True,
        metavar=("DATA_DIR", "DURATIONS_IN", "DURATIONS_OUT"),
        help="A formatted data dir (with utt2num_samples), its durations (ESPnet format) and "
        "where to write the valid ones; repeat for several sets",
    )
    parser.add_argument("--n_shift", type=int, required=True, help="Feature frame shift")
    parser.add_argument("--token_type", default="phn")
    parser.add_argument("--token_list", type=Path, required=True)
    parser.add_argument("--non_linguistic_symbols", default=None)
    parser.add_argument("--cleaner", default="tacotron")
    parser.add_argument("--g2p", default="espeak_ng_english_us_vits")
    parser.add_argument("--on_error", choices=("drop", "stop"), default="drop")
    group = parser.add_argument_group("pauses")
    group.add_argument(
        "--pauses",
        type=str2bool,
        default=False,
        help="Move pauses onto the word-boundary tokens and check the last words (the recipe: true)",
    )
    group.add_argument(
        "--move_pauses",
        type=str2bool,
        default=True,
        help="false: only report the pauses and check the last words",
    )
    group.add_argument(
        "--silence_threshold_db",
        type=float,
        default=PauseConfig.threshold_db,
        help="Frames this many dB below the loudest frame are silent",
    )
    group.add_argument(
        "--min_pause_ms", type=float, default=PauseConfig.min_pause_ms, help="Shortest inner pause (ms)"
    )
    group.add_argument(
        "--max_late_ms",
        type=float,
        default=PauseConfig.max_late_ms,
        help="Warn when the last word ends this long after the speech (ms)",
    )
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)

    def none_if_none(value):  # ESPnet's command lines write "none" for no cleaner / G2P
        return None if value in (None, "", "none", "None") else value

    preprocessor = CommonPreprocessor(
        train=False,
        token_type=args.token_type,
        token_list=args.token_list,
        text_cleaner=none_if_none(args.cleaner),
        g2p_type=none_if_none(args.g2p),
        non_linguistic_symbols=none_if_none(args.non_linguistic_symbols),
    )
    pauses = None
    if args.pauses:
        pauses = PauseConfig(
            threshold_db=args.silence_threshold_db,
            min_pause_ms=args.min_pause_ms,
            max_late_ms=args.max_late_ms,
            move=args.move_pauses,
        )
    for data_dir, durations_in, durations_out in args.set:
        check_durations(
            data_dir, durations_in, durations_out, preprocessor, args.n_shift, args.on_error, pauses
        )


if __name__ == "__main__":
    main(sys.argv[1:])
