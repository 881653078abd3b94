#!/usr/bin/env python3
"""Measure the F0 range of a corpus's voice and write it as YAML (recipe stage 2).

:mod:`prosody_plugin.data.f0_range`; docs/recipes.md (Stage 2).
"""

import argparse
import logging
import sys
from pathlib import Path

from prosody_plugin.data.f0_range import estimate_f0_range, write_f0_range
from prosody_plugin.data.kaldi_dir import read_kaldi_map


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Measure the F0 range of a data dir's voice (two-pass method) and write it as YAML",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data_dir", type=Path, required=True, help="Data dir with wav.scp (the training set)"
    )
    parser.add_argument(
        "--output", type=Path, required=True, help="The YAML file to write (f0min, f0max, statistics)"
    )
    parser.add_argument(
        "--max_utts", type=int, default=300, help="Analyse at most this many utterances (0: all)"
    )
    parser.add_argument("--floor_factor", type=float, default=0.75, help="f0min = this x the first quartile")
    parser.add_argument("--ceil_factor", type=float, default=1.5, help="f0max = this x the third quartile")
    parser.add_argument("--nj", type=int, default=1, help="Parallel processes")
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    wav_scp = args.data_dir / "wav.scp"
    if not wav_scp.is_file():
        sys.exit(f"estimate_f0_range: {wav_scp} does not exist")
    try:
        f0_range = estimate_f0_range(
            read_kaldi_map(wav_scp), args.max_utts, args.floor_factor, args.ceil_factor, args.nj
        )
    except ValueError as e:
        sys.exit(f"estimate_f0_range: {args.data_dir}: {e}")
    write_f0_range(args.output, f0_range, source=str(args.data_dir))
    logging.info(f"Wrote {args.output}: f0min {f0_range.f0min} Hz, f0max {f0_range.f0max} Hz")


if __name__ == "__main__":
    main(sys.argv[1:])
