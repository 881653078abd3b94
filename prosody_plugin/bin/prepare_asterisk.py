#!/usr/bin/env python3
"""Prepare Kaldi data dirs from the Asterisk English prompts (Debian packages).

Example::

    python -m prosody_plugin.bin.prepare_asterisk \\
        --sounds_dir /usr/share/asterisk/sounds/en_US_f_Allison \\
        --transcripts /usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz \\
        --wav_dir downloads/wavs --data_dir data --dev_size 16 --eval_size 16 \\
        --max_duration 15.0
"""

import argparse
import logging
import sys

from prosody_plugin.data.asterisk import prepare_asterisk


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Decode the Asterisk G.722 prompts to 16 kHz wav and write "
        "Kaldi-style train/dev/eval data dirs.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--sounds_dir",
        default="/usr/share/asterisk/sounds/en_US_f_Allison",
        help="Folder of the .g722 prompts (Debian asterisk-core-sounds-en-g722).",
    )
    parser.add_argument(
        "--transcripts",
        default="/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz",
        help="Transcript list 'name: text' (Debian asterisk-core-sounds-en).",
    )
    parser.add_argument("--wav_dir", default="downloads/wavs", help="Where to write the wavs.")
    parser.add_argument("--data_dir", default="data", help="Where to write the data dirs.")
    parser.add_argument("--dev_size", type=int, default=16, help="Number of dev utterances.")
    parser.add_argument("--eval_size", type=int, default=16, help="Number of eval utterances.")
    parser.add_argument(
        "--max_duration",
        type=float,
        default=15.0,
        help="Drop prompts longer than this (seconds); <= 0 keeps all.",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="Use only the first N prompts (sorted by id); for quick tests.",
    )
    parser.add_argument("--train_set", default="train", help="Name of the training dir.")
    parser.add_argument("--dev_set", default="dev", help="Name of the dev dir.")
    parser.add_argument("--eval_set", default="eval", help="Name of the eval dir.")
    parser.add_argument("--verbose", type=int, default=1, help="0: warnings, 1: info, 2: debug.")
    return parser


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(max(args.verbose, 0), 2)],
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )
    try:
        prepare_asterisk(
            sounds_dir=args.sounds_dir,
            transcripts=args.transcripts,
            wav_dir=args.wav_dir,
            data_dir=args.data_dir,
            dev_size=args.dev_size,
            eval_size=args.eval_size,
            max_duration=args.max_duration if args.max_duration > 0 else None,
            limit=args.limit,
            split_names=(args.train_set, args.dev_set, args.eval_set),
        )
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"prepare_asterisk: {e}")


if __name__ == "__main__":
    main()
