#!/usr/bin/env python3
"""How much a one-to-many system's (Kathaka's) word-level prosody varies over samples of the
same text (recipe stage 12): :func:`prosody_plugin.evaluation.spread.measure_spread`.
"""

import argparse
import logging
import sys
from pathlib import Path

from prosody_plugin.bin import add_measurement_arguments, measure_synthesizer
from prosody_plugin.data.kaldi_dir import read_kaldi_map
from prosody_plugin.evaluation.spread import measure_spread


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Spread of a one-to-many system's (Kathaka's) word-level prosody over samples of the same text",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--train_config", type=Path, required=True, help="Kathaka's config.yaml")
    parser.add_argument("--model_file", type=Path, required=True, help="Kathaka's checkpoint")
    parser.add_argument("--context_train_config", type=Path, required=True, help="The sampler's config.yaml")
    parser.add_argument("--context_model_file", type=Path, required=True, help="The sampler's checkpoint")
    parser.add_argument("--text", type=Path, required=True, help="Kaldi text file of the sentences")
    parser.add_argument(
        "--latents", type=Path, default=None, help="Stage-one targets (target.scp) of training recordings"
    )
    parser.add_argument("--num_samples", type=int, default=10, help="Renditions per sentence and source")
    parser.add_argument("--temperature", type=float, default=1.0, help="Sampler temperature")
    parser.add_argument("--max_utterances", type=int, default=0, help="Use the first N sentences (0: all)")
    add_measurement_arguments(parser)
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    measure_synthesizer(
        args,
        lambda tts: measure_spread(
            tts,
            read_kaldi_map(args.text),
            args.output_dir,
            latents=args.latents,
            num_samples=args.num_samples,
            temperature=args.temperature,
            max_utterances=args.max_utterances,
            num_resamples=args.num_resamples,
            seed=args.seed,
        ),
        use_vocoder=False,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
