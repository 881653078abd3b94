#!/usr/bin/env python3
"""Predict prosody from text context with a trained stage-two model.

    python -m prosody_plugin.bin.context_inference \\
        --train_config exp/context_kathaka_sampler/config.yaml \\
        --model_file exp/context_kathaka_sampler/valid.loss.ave.pth \\
        --context_dir dump/context/eval --temperature 0.667 --seed 0 \\
        --output_dir exp/context_kathaka_sampler/predict_eval

Reads ``bert.scp`` (``wordpieces.scp`` for a model that fine-tuned its BERT) and
``syntax.scp`` of the context dir and writes ``prosody.scp`` (npy):
Kathaka latents (latent_dim,) sampled at ``--temperature`` (0: the predicted mean), CAMP
word embeddings (num_words, word_embed_dim). ``prosody_plugin.bin.tts_inference`` takes
them with ``--data_path_and_name_and_type <output_dir>/prosody.scp,prosody,npy``.
"""

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
import torch
from espnet2.fileio.npy_scp import NpyScpReader, NpyScpWriter
from espnet2.torch_utils.set_all_random_seed import set_all_random_seed
from tqdm import tqdm

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
    syntax = NpyScpReader(args.context_dir / "syntax.scp")
    finetuned = model.word_encoder is not None  # its own BERT reads the wordpieces
    vectors = NpyScpReader(args.context_dir / ("wordpieces.scp" if finetuned else "bert.scp"))
    args.output_dir.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), NpyScpWriter(args.output_dir / "data", args.output_dir / "prosody.scp") as writer:
        for utt in tqdm(sorted(syntax.keys()), desc="predict prosody"):
            words = torch.from_numpy(syntax[utt]).long()
            if finetuned:
                pieces = torch.from_numpy(vectors[utt]).long()[None]
                bert = model.word_encoder.embed_wordpieces(
                    pieces, torch.tensor([pieces.size(1)]), torch.tensor([len(words)])
                )[0]
            else:
                bert = torch.from_numpy(vectors[utt]).float()
            prosody = model.predict(bert, words, temperature=args.temperature)
            writer[utt] = prosody.numpy().astype(np.float32)
    logging.info(f"Wrote {len(syntax.keys())} predictions to {args.output_dir}/prosody.scp")


if __name__ == "__main__":
    main(sys.argv[1:])
