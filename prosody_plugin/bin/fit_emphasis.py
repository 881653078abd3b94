#!/usr/bin/env python3
"""Fit the emphasis direction of a per-word system (CAMP) on its training recordings (recipe
stage 9): :mod:`prosody_plugin.control.emphasis`; docs/prosody_control.md ("Emphasis").
"""

import argparse
import logging
import sys
from pathlib import Path

from prosody_plugin.control.emphasis import emphasis_from_recordings
from prosody_plugin.data.kaldi_dir import read_kaldi_map
from prosody_plugin.tts.espnet_model import load_trained_model


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Fit the emphasis direction of a per-word prosody system on its training recordings",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--train_config", type=Path, required=True, help="Stage-one config.yaml")
    parser.add_argument("--model_file", type=Path, required=True, help="Stage-one checkpoint")
    parser.add_argument("--data_dir", type=Path, required=True, help="Formatted data dir (text, wav.scp)")
    parser.add_argument("--durations", type=Path, required=True, help="Its phone durations")
    parser.add_argument(
        "--targets", type=Path, required=True, help="Its stage-one targets (stage 9's target.scp)"
    )
    parser.add_argument("--output_file", type=Path, required=True, help="emphasis.npz to write")
    return parser


def main(argv=None) -> None:
    from espnet2.fileio.npy_scp import NpyScpReader

    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    model, _, preprocess = load_trained_model(args.train_config, args.model_file)
    targets = NpyScpReader(str(args.targets))
    try:
        direction = emphasis_from_recordings(
            model,
            preprocess,
            read_kaldi_map(args.data_dir / "text"),
            read_kaldi_map(args.data_dir / "wav.scp"),
            read_kaldi_map(args.durations),
            {k: targets[k] for k in targets.keys()},
        )
    except ValueError as e:
        raise SystemExit(f"{args.model_file}: {e}") from None
    args.output_file.parent.mkdir(parents=True, exist_ok=True)
    direction.save(args.output_file)
    correlations = ", ".join(f"{k} {v:+.2f}" for k, v in direction.correlations.items())
    logging.info(
        f"Wrote {args.output_file}: {direction.num_words} words; correlation of the recordings' "
        f"projection with their measured {correlations}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
