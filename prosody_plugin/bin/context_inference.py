#!/usr/bin/env python3
"""Predict prosody from text context with a trained stage-two model.

    python -m prosody_plugin.bin.context_inference \\
        --train_config exp/context_kathaka_sampler/config.yaml \\
        --model_file exp/context_kathaka_sampler/valid.loss.ave.pth \\
        --context_dir dump/context/eval --temperature 0.667 --seed 0 \\
        --output_dir exp/context_kathaka_sampler/predict_eval

Writes ``prosody.scp`` (npy) of every utterance of the context dir, which
``prosody_plugin.bin.tts_inference`` takes with ``--data_path_and_name_and_type
<output_dir>/prosody.scp,prosody,npy`` (:mod:`prosody_plugin.context.predictions`).
"""

import argparse
import logging
import sys
from pathlib import Path

from espnet2.torch_utils.set_all_random_seed import set_all_random_seed

from prosody_plugin.context.predictions import predict_context_dir
from prosody_plugin.tasks.prosody_context import load_predictor


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Predict prosody representations from BERT and syntax features",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--train_config", type=Path, required=True)
    parser.add_argument("--model_file", type=Path, required=True)
    parser.add_argument("--context_dir", type=Path, required=True, help="Dir with bert.scp, syntax.scp")
    parser.add_argument("--output_dir", type=Path, required=True)
    parser.add_argument("--temperature", type=float, default=1.0, help="Kathaka sampling temperature")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    set_all_random_seed(args.seed)
    model, _ = load_predictor(str(args.train_config), str(args.model_file))
    predict_context_dir(model, args.context_dir, args.output_dir, temperature=args.temperature)


if __name__ == "__main__":
    main(sys.argv[1:])
