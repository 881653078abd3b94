#!/usr/bin/env python3
"""The speed_control_alpha that makes a model's decodes last as long as the recordings.

Recipe stage 7 (:func:`prosody_plugin.decode.speed_calibration`); docs/recipes.md (Stage 7).
"""

import argparse
import logging
from pathlib import Path

import yaml

from prosody_plugin.cli import DefaultsHelpFormatter
from prosody_plugin.data.kaldi_dir import read_kaldi_map
from prosody_plugin.decode import speed_calibration


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=DefaultsHelpFormatter
    )
    parser.add_argument("--decoded", type=Path, required=True, help="durations/durations of the dev decode")
    parser.add_argument(
        "--recorded", type=Path, required=True, help="The recordings' durations of the same set"
    )
    parser.add_argument(
        "--inference_config",
        type=Path,
        default=None,
        help="The decoding config of the dev decode (its speed_control_alpha; none: 1.0)",
    )
    parser.add_argument("--output", type=Path, required=True, help="yaml with speed_control_alpha")
    return parser


def main(cmd=None):
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    alpha = 1.0
    if args.inference_config is not None:
        alpha = float(
            (yaml.safe_load(args.inference_config.read_text()) or {}).get("speed_control_alpha", 1.0)
        )

    def frames(path: Path) -> dict:
        return {key: [int(d) for d in value.split()] for key, value in read_kaldi_map(path).items()}

    decoded = frames(args.decoded)
    calibrated = speed_calibration(decoded, frames(args.recorded), alpha)
    if not 0.5 <= calibrated / alpha <= 2.0:
        logging.warning(
            f"{args.decoded}: the decodes are {alpha / calibrated:.2f} times the recordings' length "
            "(an undertrained duration predictor?)"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(yaml.safe_dump({"speed_control_alpha": round(calibrated, 4)}))
    logging.info(
        f"{args.output}: speed_control_alpha {calibrated:.4f} from {len(decoded)} utterances of {args.decoded}"
    )


if __name__ == "__main__":
    main()
