#!/usr/bin/env python3
"""Write stage two's targets: the stage-one prosody representation of every recording.

    python -m prosody_plugin.bin.dump_prosody_targets \\
        --train_config exp/tts_train_camp_cpu/config.yaml \\
        --model_file exp/tts_train_camp_cpu/valid.loss.ave.pth \\
        --set dump/raw/train dump/durations/train/durations dump/context/train/num_words \\
              dump/prosody_targets/tts_train_camp_cpu/train \\
        --set dump/raw/dev ...

Kathaka: [mu, logvar] of the reference encoder's posterior, (2 * latent_dim,).
CAMP: the word prosody embeddings, (num_words, word_embed_dim); the word count is checked
against the front end's (``--num_words``), and an utterance whose counts differ is named
and left out (listed in ``failed``), never shifted.
Writes ``target.scp`` + npy files (ESPnet's NpyScpWriter) and ``target_shape``.
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import soundfile as sf
import torch
from espnet2.fileio.npy_scp import NpyScpWriter
from tqdm import tqdm

import prosody_plugin  # noqa: F401  (registers the plugin's TTS classes)
from prosody_plugin.data.kaldi_dir import read_kaldi_map
from prosody_plugin.tasks.tts import ProsodyTTSTask
from prosody_plugin.tts.camp import CAMP
from prosody_plugin.tts.kathaka import Kathaka


@torch.no_grad()
def prosody_target(model, text_ids: np.ndarray, speech: np.ndarray, durations: Optional[np.ndarray]) -> np.ndarray:
    """Stage-one representation of one recording (model: ProsodyESPnetTTSModel, eval mode)."""
    tts = model.tts
    feats = model.reference_feats(torch.from_numpy(speech))[None]
    if isinstance(tts, Kathaka):
        mu, logvar = tts.encode_prosody(feats, torch.tensor([feats.size(1)]))
        return torch.cat([mu, logvar], dim=-1)[0].numpy()
    if isinstance(tts, CAMP):
        text = torch.from_numpy(text_ids)[None]
        xs, ilens = tts._tokens_with_eos(text, torch.tensor([text.size(1)]))
        durations = torch.from_numpy(durations)
        variances = model.reference_variances(torch.from_numpy(speech), durations, feats.size(1))
        pitch, energy = (variances.get(k) for k in ("pitch", "energy"))
        embeddings = tts.encode_prosody(
            xs, ilens, feats, durations[None],
            None if pitch is None else pitch[None], None if energy is None else energy[None],
        )  # fmt: skip
        return embeddings[0].numpy()
    raise TypeError(f"{type(tts).__name__} has no stage-one prosody representation")


def dump_targets(
    model, preprocess, data_dir: Path, durations_file: Path, num_words_file: Path, output_dir: Path
) -> Dict[str, str]:
    """Write the targets of one data dir; return the failed utterances with their reasons."""
    texts = read_kaldi_map(data_dir / "text")
    wavs = read_kaldi_map(data_dir / "wav.scp")
    durations = read_kaldi_map(durations_file)
    num_words = {k: int(v) for k, v in read_kaldi_map(num_words_file).items()}
    is_camp = isinstance(model.tts, CAMP)
    output_dir.mkdir(parents=True, exist_ok=True)
    failed: Dict[str, str] = {}
    with NpyScpWriter(output_dir / "data", output_dir / "target.scp") as writer, open(
        output_dir / "target_shape", "w"
    ) as shape_writer:
        for utt, text in tqdm(texts.items(), desc=f"prosody targets {data_dir.name}"):
            if utt not in num_words:
                failed[utt] = "no context features (see the context dir's failed list)"
                continue
            speech, _ = sf.read(wavs[utt], dtype="float32")
            ids = preprocess(utt, {"text": text})["text"]
            utt_durations = None
            if is_camp:
                if utt not in durations:
                    failed[utt] = "no durations"
                    continue
                utt_durations = np.array(durations[utt].split(), dtype=np.int64)
            target = prosody_target(model, ids, speech, utt_durations)
            if is_camp and num_words[utt] != len(target):
                failed[utt] = f"{len(target)} words in the phoneme tokens, {num_words[utt]} in the front end"
                continue
            writer[utt] = target.astype(np.float32)
            shape_writer.write(f"{utt} {','.join(map(str, target.shape))}\n")
    with open(output_dir / "failed", "w") as f:
        for utt, reason in sorted(failed.items()):
            logging.warning(f"{utt}: {reason}")
            f.write(f"{utt}\t{reason}\n")
    if failed:
        logging.warning(f"{len(failed)} of {len(texts)} utterances failed (see {output_dir}/failed)")
    if len(failed) == len(texts):
        raise SystemExit(f"no prosody target could be written for {data_dir}")
    return failed


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Write the stage-one prosody representations (stage two's targets)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--train_config", type=Path, required=True, help="Stage-one config.yaml")
    parser.add_argument("--model_file", type=Path, required=True, help="Stage-one checkpoint")
    parser.add_argument(
        "--set",
        nargs=4,
        action="append",
        type=Path,
        required=True,
        metavar=("DATA_DIR", "DURATIONS", "NUM_WORDS", "OUTPUT_DIR"),
        help="A formatted data dir (text, wav.scp), its phone durations, the front end's word "
        "counts (context dir's num_words) and the output dir; repeat for several sets",
    )
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    model, train_args = ProsodyTTSTask.build_model_from_file(args.train_config, args.model_file, "cpu")
    model.eval()
    preprocess = ProsodyTTSTask.build_preprocess_fn(train_args, False)
    for data_dir, durations, num_words, output_dir in args.set:
        dump_targets(model, preprocess, data_dir, durations, num_words, output_dir)


if __name__ == "__main__":
    main(sys.argv[1:])
