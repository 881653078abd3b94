#!/usr/bin/env python3
"""Pack a Kathaka or CAMP system (both stages) into one archive, ESPnet's packed layout.

Run it from the recipe dir (or pass ``--root``); :mod:`prosody_plugin.pack`, docs/recipes.md (Stages 15-16).
"""

import argparse
import logging
import sys
from pathlib import Path

from prosody_plugin.pack import pack_model


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Pack a stage-one and stage-two experiment into one model archive",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--tts_exp", type=Path, required=True, help="Stage-one experiment dir (kathaka/camp)")
    parser.add_argument("--context_exp", type=Path, required=True, help="Its stage-two experiment dir")
    parser.add_argument(
        "--inference_model", default="valid.loss.ave.pth", help="Checkpoint of both experiments"
    )
    parser.add_argument("--context_inference_model", default=None, help="Another checkpoint for stage two")
    parser.add_argument("--outpath", type=Path, required=True, help="The archive (.zip, .tar, .tgz, ...)")
    parser.add_argument("--root", type=Path, default=None, help="The recipe dir (default: the current dir)")
    parser.add_argument(
        "--speed_calibration",
        type=Path,
        default=None,
        help="The model's speed_calibration.yaml (recipe stage 7): the packed model speaks at that speed",
    )
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    try:
        outpath = pack_model(
            args.tts_exp,
            args.context_exp,
            args.outpath,
            inference_model=args.inference_model,
            context_inference_model=args.context_inference_model,
            root=args.root,
            speed_calibration=args.speed_calibration,
        )
    except (FileNotFoundError, ValueError) as e:
        logging.error(str(e))
        sys.exit(1)
    logging.info(f"Packed {args.tts_exp} and {args.context_exp} into {outpath}")


if __name__ == "__main__":
    main()
