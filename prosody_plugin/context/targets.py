"""Stage two's targets (recipe stage 9): the stage-one ``prosody_target`` of every recording of a data dir.

A per-word target whose word count differs from the front end's is named and left out.
"""

import logging
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import soundfile as sf
import torch
from espnet2.fileio.npy_scp import NpyScpWriter
from tqdm import tqdm

from prosody_plugin.data.kaldi_dir import read_kaldi_map


@torch.no_grad()
def prosody_target(
    model, text_ids: np.ndarray, speech: np.ndarray, durations: Optional[np.ndarray]
) -> np.ndarray:
    """Stage-one representation of one recording (model: ProsodyESPnetTTSModel, eval mode)."""
    return model.prosody_target(
        torch.from_numpy(text_ids),
        torch.from_numpy(speech),
        None if durations is None else torch.from_numpy(durations),
    ).numpy()


def dump_targets(
    model, preprocess, data_dir: Path, durations_file: Path, num_words_file: Path, output_dir: Path
) -> Dict[str, str]:
    """Write the targets of one data dir; return the failed utterances with their reasons."""
    texts = read_kaldi_map(data_dir / "text")
    wavs = read_kaldi_map(data_dir / "wav.scp")
    durations = read_kaldi_map(durations_file)
    num_words = {k: int(v) for k, v in read_kaldi_map(num_words_file).items()}
    per_word = model.tts.per_word  # targets with one row per word need the durations
    output_dir.mkdir(parents=True, exist_ok=True)
    failed: Dict[str, str] = {}
    with (
        NpyScpWriter(output_dir / "data", output_dir / "target.scp") as writer,
        open(output_dir / "target_shape", "w") as shape_writer,
    ):
        for utt, text in tqdm(texts.items(), desc=f"prosody targets {data_dir.name}"):
            if utt not in num_words:
                failed[utt] = "no context features (see the context dir's failed list)"
                continue
            speech, _ = sf.read(wavs[utt], dtype="float32")
            ids = preprocess(utt, {"text": text})["text"]
            utt_durations = None
            if per_word:
                if utt not in durations:
                    failed[utt] = "no durations"
                    continue
                utt_durations = np.array(durations[utt].split(), dtype=np.int64)
            target = prosody_target(model, ids, speech, utt_durations)
            if per_word and num_words[utt] != len(target):
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
