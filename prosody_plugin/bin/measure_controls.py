#!/usr/bin/env python3
"""Measure how the synthesised audio follows the prosody controls (recipe stage 12):
:mod:`prosody_plugin.evaluation.controls`; docs/prosody_control.md.
"""

import argparse
import logging
import sys
from pathlib import Path

from prosody_plugin.bin import add_measurement_arguments, measure_synthesizer
from prosody_plugin.data.kaldi_dir import read_kaldi_map
from prosody_plugin.evaluation.controls import measure_controls


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Measure the prosody controls (global and emphasis) on the synthesised audio",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--train_config", type=Path, required=True, help="Stage-one config.yaml (or the baseline's)"
    )
    parser.add_argument("--model_file", type=Path, required=True)
    parser.add_argument("--context_train_config", type=Path, default=None, help="Stage two's config.yaml")
    parser.add_argument("--context_model_file", type=Path, default=None)
    parser.add_argument(
        "--emphasis_file", type=Path, default=None, help="Default: emphasis.npz beside the model"
    )
    parser.add_argument("--vocoder_config", type=Path, default=None)
    parser.add_argument("--vocoder_file", type=Path, default=None, help="Default: Griffin-Lim")
    parser.add_argument("--text", type=Path, required=True, help="Kaldi text file of single sentences")
    parser.add_argument("--max_utterances", type=int, default=0, help="The first N sentences (0: all)")
    parser.add_argument("--max_words", type=int, default=6, help="Words emphasised in turn per sentence")
    parser.add_argument("--title", default=None, help="Default: the model's system name")
    add_measurement_arguments(parser)
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    texts = list(read_kaldi_map(args.text).values())[: args.max_utterances or None]
    measure_synthesizer(
        args,
        lambda tts: measure_controls(
            tts,
            texts,
            args.output_dir,
            args.title or (tts.system or "fastspeech2"),
            max_words=args.max_words,
            num_resamples=args.num_resamples,
            seed=args.seed,
        ),
        vocoder_config=args.vocoder_config,
        vocoder_file=args.vocoder_file,
        emphasis_file=args.emphasis_file,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
