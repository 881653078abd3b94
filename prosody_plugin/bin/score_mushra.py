#!/usr/bin/env python3
"""Score a MUSHRA test from its listeners' result files (recipe stage 14); without any result
file it says so and writes nothing. See :mod:`prosody_plugin.listening.analysis` and
docs/listening_tests.md.
"""

import argparse
import logging
import sys
from pathlib import Path

from prosody_plugin.listening.analysis import ResultsError, score_mushra


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="MUSHRA scores: post-screening, means with CIs, Wilcoxon vs the baseline, relative improvement, gap closed",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--design", type=Path, required=True, help="The test's design.json (or its folder)")
    parser.add_argument("--results", type=Path, nargs="+", required=True, help="Result CSV files or dirs")
    parser.add_argument("--baseline", default=None, help="Baseline system (default: the test's)")
    parser.add_argument("--num_resamples", type=int, default=1000, help="Bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the bootstrap")
    parser.add_argument("--output_dir", type=Path, required=True)
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    try:
        results = score_mushra(
            args.design, args.results, args.output_dir, args.baseline, args.num_resamples, args.seed
        )
    except (ResultsError, FileNotFoundError, ValueError) as e:
        raise SystemExit(f"MUSHRA scoring: {e}") from e
    if results is None:
        print(f"No listener results in {' '.join(map(str, args.results))}: nothing scored, nothing written.")
    else:
        print((args.output_dir / "mushra.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main(sys.argv[1:])
