#!/usr/bin/env python3
"""LJSpeech 1.1 (or a subset in its layout) as Kaldi data dirs, split as ESPnet's egs2/ljspeech/tts1.

Utterances are sorted by id, as Kaldi data dirs are; the last ``num_dev + num_eval`` are held
out (ESPnet's ``utils/subset_data_dir.sh --last``), the first ``num_dev`` of them as dev and the
last ``num_eval`` as eval; the rest is for training. Transcripts are the normalized (third)
column of ``metadata.csv`` (the package's ``ljspeech`` layout,
:func:`prosody_plugin.data.prepare.read_ljspeech`); an utterance without its wav is named and
skipped. Run by ``local/data.sh`` of this recipe and of ``mini_ljspeech``::

    python local/prepare_ljspeech.py --db_root downloads/LJSpeech-1.1 --data_dir data \\
        --num_dev 250 --num_eval 250 --train_set tr_no_dev --dev_set dev --eval_set eval1
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Dict, List, Sequence, Union

from prosody_plugin.data.prepare import read_ljspeech, write_splits

SPEAKER = "LJ"


def prepare_ljspeech(
    db_root: Union[str, Path],
    data_dir: Union[str, Path],
    num_dev: int = 250,
    num_eval: int = 250,
    sets: Sequence[str] = ("tr_no_dev", "dev", "eval1"),
    speaker: str = SPEAKER,
) -> Dict[str, List[str]]:
    """Write ``<data_dir>/<set>`` for the train, dev and eval ``sets``; return the ids of each."""
    entries = read_ljspeech(db_root)
    ids = sorted(entries)
    cut = len(ids) - num_dev - num_eval
    if num_dev < 0 or num_eval < 0 or cut <= 0:
        raise ValueError(
            f"num_dev={num_dev} + num_eval={num_eval} leaves no training data out of {len(ids)} utterances"
        )
    splits = (ids[:cut], ids[cut : cut + num_dev], ids[cut + num_dev :])
    return write_splits(data_dir, dict(zip(sets, splits)), entries, speaker)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Write Kaldi-style data dirs for LJSpeech (ESPnet egs2/ljspeech split).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--db_root", default="downloads/LJSpeech-1.1", help="Corpus root holding metadata.csv and wavs/."
    )
    parser.add_argument("--data_dir", default="data", help="Where to write the data dirs.")
    parser.add_argument("--num_dev", type=int, default=250, help="Number of dev utterances.")
    parser.add_argument("--num_eval", type=int, default=250, help="Number of eval utterances.")
    parser.add_argument("--train_set", default="tr_no_dev", help="Name of the training dir.")
    parser.add_argument("--dev_set", default="dev", help="Name of the dev dir.")
    parser.add_argument("--eval_set", default="eval1", help="Name of the eval dir.")
    parser.add_argument("--speaker", default=SPEAKER, help="Speaker id in utt2spk.")
    return parser


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    try:
        sets = (args.train_set, args.dev_set, args.eval_set)
        prepare_ljspeech(args.db_root, args.data_dir, args.num_dev, args.num_eval, sets, args.speaker)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"prepare_ljspeech: {e}")


if __name__ == "__main__":
    main()
