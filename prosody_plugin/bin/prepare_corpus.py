#!/usr/bin/env python3
"""Write train/dev/eval Kaldi data dirs from a single-speaker corpus in a common layout.

The layouts (:mod:`prosody_plugin.data.prepare`): ``wav_txt`` (a folder of audio files with
one transcript file each), ``ljspeech`` (``metadata.csv`` + ``wavs/``), ``festival``
(``etc/txt.done.data`` + ``wav/``, e.g. CMU ARCTIC) and ``kaldi`` (an existing data dir)::

    python -m prosody_plugin.bin.prepare_corpus --layout wav_txt --db_root /corpora/me/wav \\
        --text_dir /corpora/me/txt --data_dir data --num_dev 16 --num_eval 16 --speaker me
"""

import argparse
import logging
import sys
from pathlib import Path

from prosody_plugin.data.prepare import LAYOUTS, prepare_corpus


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Kaldi train/dev/eval data dirs from a single-speaker corpus in a common layout",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--layout", required=True, choices=LAYOUTS, help="How the corpus is laid out")
    parser.add_argument(
        "--db_root",
        type=Path,
        required=True,
        help="wav_txt: the audio folder; ljspeech, festival: the corpus root; kaldi: the data dir",
    )
    parser.add_argument(
        "--text_dir", type=Path, default=None, help="wav_txt: the transcript folder (default: --db_root)"
    )
    parser.add_argument("--text_ext", default=".txt", help="wav_txt: the transcripts' suffix (.txt, .lab)")
    parser.add_argument("--data_dir", type=Path, default=Path("data"), help="Where the data dirs go")
    parser.add_argument("--num_dev", type=int, default=16, help="Utterances of the dev set")
    parser.add_argument("--num_eval", type=int, default=16, help="Utterances of the eval set")
    parser.add_argument("--speaker", default="spk1", help="Speaker id of utt2spk")
    parser.add_argument("--train_set", default="train")
    parser.add_argument("--dev_set", default="dev")
    parser.add_argument("--eval_set", default="eval")
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    try:
        prepare_corpus(
            args.layout,
            args.db_root,
            args.data_dir,
            args.num_dev,
            args.num_eval,
            args.speaker,
            (args.train_set, args.dev_set, args.eval_set),
            args.text_dir,
            args.text_ext,
        )
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"prepare_corpus: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
