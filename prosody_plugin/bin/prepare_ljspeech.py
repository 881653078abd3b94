#!/usr/bin/env python3
"""Prepare Kaldi data dirs from LJSpeech 1.1 (or a subset in the same layout).

The split follows ESPnet's ``egs2/ljspeech/tts1`` (:mod:`prosody_plugin.data.ljspeech`).

Example (full corpus, ESPnet names)::

    python -m prosody_plugin.bin.prepare_ljspeech --db_root downloads/LJSpeech-1.1 \\
        --data_dir data --num_dev 250 --num_eval 250 \\
        --train_set tr_no_dev --dev_set dev --eval_set eval1
"""

import argparse
import logging
import sys

from prosody_plugin.data.ljspeech import SPEAKER, prepare_ljspeech


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Write Kaldi-style data dirs for LJSpeech (ESPnet egs2/ljspeech split).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--db_root", default="downloads/LJSpeech-1.1",
                        help="Corpus root holding metadata.csv and wavs/.")
    parser.add_argument("--data_dir", default="data", help="Where to write the data dirs.")
    parser.add_argument("--num_dev", type=int, default=250, help="Number of dev utterances.")
    parser.add_argument("--num_eval", type=int, default=250, help="Number of eval utterances.")
    parser.add_argument("--train_set", default="tr_no_dev", help="Name of the training dir.")
    parser.add_argument("--dev_set", default="dev", help="Name of the dev dir.")
    parser.add_argument("--eval_set", default="eval1", help="Name of the eval dir.")
    parser.add_argument("--speaker", default=SPEAKER, help="Speaker id in utt2spk.")
    parser.add_argument("--verbose", type=int, default=1, help="0: warnings, 1: info, 2: debug.")
    return parser


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(max(args.verbose, 0), 2)],
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )
    try:
        prepare_ljspeech(
            db_root=args.db_root,
            data_dir=args.data_dir,
            num_dev=args.num_dev,
            num_eval=args.num_eval,
            train_set=args.train_set,
            dev_set=args.dev_set,
            eval_set=args.eval_set,
            speaker=args.speaker,
        )
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"prepare_ljspeech: {e}")


if __name__ == "__main__":
    main()
