#!/usr/bin/env python3
"""Objective prosody scores of decoded systems against the recordings (recipe stage 12).

:mod:`prosody_plugin.evaluation.scoring`; docs/recipes.md (Stage 12).
"""

import argparse
import logging
import sys
from pathlib import Path

from espnet2.utils.types import str2bool

from prosody_plugin.evaluation.scoring import parse_pairs, score


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Score decoded systems against the recordings: wav-level and word-level prosody",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data_dir", type=Path, required=True, help="Data dir of the recordings (text, wav.scp)"
    )
    parser.add_argument(
        "--durations", type=Path, required=True, help="The recordings' phone durations (T_text + 1 per line)"
    )
    parser.add_argument(
        "--words", type=Path, default=None, help="Word labels for words.csv (the context dir's words file)"
    )
    parser.add_argument(
        "--train_config",
        type=Path,
        required=True,
        help="A stage-one config.yaml: its token list, pitch and energy extractors define the recording's side",
    )
    parser.add_argument(
        "--model_file", type=Path, required=True, help="Its checkpoint (the statistics of its extractors)"
    )
    parser.add_argument(
        "--system", action="append", default=[], required=True, help="NAME=DECODE_DIR; repeat"
    )
    parser.add_argument("--baseline", required=True, help="Name of the baseline system")
    parser.add_argument(
        "--f0min",
        type=float,
        default=None,
        help="Lowest F0 of the wav-level analysis (Hz); default: the model's pitch_extract_conf f0min",
    )
    parser.add_argument(
        "--f0max",
        type=float,
        default=None,
        help="Highest F0 (Hz); default: the model's pitch_extract_conf f0max",
    )
    parser.add_argument(
        "--oracle", action="append", default=[], help="SYSTEM=ORACLE_SYSTEM, for gap closure; repeat"
    )
    parser.add_argument(
        "--movement",
        action="append",
        default=[],
        help="SYSTEM=OTHER: RMS difference of their word prosody (how far SYSTEM moves from OTHER); repeat",
    )
    parser.add_argument(
        "--naturalness",
        type=str2bool,
        default=True,
        help="Score every wav (and the recordings) with DistillMOS, an offline predicted MOS",
    )
    parser.add_argument("--num_resamples", type=int, default=1000, help="Bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the bootstrap")
    parser.add_argument(
        "--vocoder_file",
        type=Path,
        default=None,
        help="The decodes' vocoder (.pkl) for the noise floor of the audio scores; default: Griffin-Lim",
    )
    parser.add_argument("--vocoder_config", type=Path, default=None, help="Its config")
    parser.add_argument("--output_dir", type=Path, required=True)
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    score(
        args.data_dir,
        args.durations,
        args.train_config,
        args.model_file,
        systems={name: Path(d) for name, d in parse_pairs(args.system, "system").items()},
        baseline=args.baseline,
        output_dir=args.output_dir,
        words=args.words,
        oracles=parse_pairs(args.oracle, "oracle"),
        movements=parse_pairs(args.movement, "movement"),
        f0min=args.f0min,
        f0max=args.f0max,
        naturalness=args.naturalness,
        num_resamples=args.num_resamples,
        seed=args.seed,
        vocoder_file=args.vocoder_file,
        vocoder_config=args.vocoder_config,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
