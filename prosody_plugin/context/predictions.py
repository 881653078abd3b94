"""Stage two at inference (recipe stage 11): the prosody of every utterance of a context dir.

:func:`predict_context_dir` reads ``bert.scp`` (``wordpieces.scp`` for a model that
fine-tuned its BERT) and ``syntax.scp`` of a context dir (:mod:`prosody_plugin.context.features`)
and writes ``prosody.scp`` (npy): Kathaka latents (latent_dim,) sampled at ``temperature``
(0: the predicted mean), CAMP word embeddings (num_words, word_embed_dim).
``prosody_plugin.bin.context_inference`` is the command line; ``prosody_plugin.bin.tts_inference``
takes the predictions with ``--data_path_and_name_and_type <output_dir>/prosody.scp,prosody,npy``.
"""

import logging
from pathlib import Path

import numpy as np
import torch
from espnet2.fileio.npy_scp import NpyScpReader, NpyScpWriter
from tqdm import tqdm


def predict_context_dir(model, context_dir: Path, output_dir: Path, temperature: float = 1.0) -> int:
    """Write the predictions of ``model`` (a stage-two predictor, :func:`~prosody_plugin.tasks.
    prosody_context.load_predictor`) for every utterance of ``context_dir``; return their count."""
    context_dir, output_dir = Path(context_dir), Path(output_dir)
    syntax = NpyScpReader(context_dir / "syntax.scp")
    finetuned = model.word_encoder is not None  # its own BERT reads the wordpieces
    vectors = NpyScpReader(context_dir / ("wordpieces.scp" if finetuned else "bert.scp"))
    output_dir.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), NpyScpWriter(output_dir / "data", output_dir / "prosody.scp") as writer:
        for utt in tqdm(sorted(syntax.keys()), desc="predict prosody"):
            words = torch.from_numpy(syntax[utt]).long()
            if finetuned:
                pieces = torch.from_numpy(vectors[utt]).long()[None]
                bert = model.word_encoder.embed_wordpieces(
                    pieces, torch.tensor([pieces.size(1)]), torch.tensor([len(words)])
                )[0]
            else:
                bert = torch.from_numpy(vectors[utt]).float()
            prosody = model.predict(bert, words, temperature=temperature)
            writer[utt] = prosody.numpy().astype(np.float32)
    logging.info(f"Wrote {len(syntax.keys())} predictions to {output_dir}/prosody.scp")
    return len(syntax.keys())
