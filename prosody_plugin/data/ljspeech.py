"""Prepare Kaldi data dirs from LJSpeech 1.1 (or a subset in the same layout).

The split follows ESPnet's ``egs2/ljspeech/tts1``: the last ``num_dev + num_eval``
utterances of ``metadata.csv`` are held out, the first ``num_dev`` of them as dev and the
last ``num_eval`` as eval; the rest is for training. Transcripts are the normalized
(third) column of ``metadata.csv``. ``prosody_plugin.bin.prepare_ljspeech`` is the command
line of :func:`prepare_ljspeech`; :func:`read_metadata` also reads the ``ljspeech`` layout of
:mod:`prosody_plugin.data.prepare`.
"""

import logging
from pathlib import Path
from typing import Dict, List, Tuple, Union

from prosody_plugin.data.kaldi_dir import write_data_dir

PathLike = Union[str, Path]
SPEAKER = "LJ"


def read_metadata(db_root: PathLike) -> List[Tuple[str, str]]:
    """Return ``(utt_id, normalized transcript)`` pairs in ``metadata.csv`` order."""
    metadata = Path(db_root) / "metadata.csv"
    if not metadata.is_file():
        raise FileNotFoundError(f"No LJSpeech metadata: {metadata}")
    entries = []
    with open(metadata, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("|")
            if len(fields) < 2:
                raise ValueError(f"{metadata}:{line_no}: expected 'id|text|normalized text'")
            # LJSpeech 1.1 always has 3 columns; fall back to the raw text if one is missing
            text = fields[2] if len(fields) > 2 and fields[2].strip() else fields[1]
            entries.append((fields[0].strip(), " ".join(text.split())))
    return entries


def prepare_ljspeech(
    db_root: PathLike,
    data_dir: PathLike,
    num_dev: int = 250,
    num_eval: int = 250,
    train_set: str = "tr_no_dev",
    dev_set: str = "dev",
    eval_set: str = "eval1",
    speaker: str = SPEAKER,
) -> Dict[str, List[str]]:
    """Write ``<data_dir>/{train_set,dev_set,eval_set}``; return the ids of each split.

    Utterances are sorted by id first (as Kaldi data dirs are, so the held-out part is the
    same as ESPnet's ``utils/subset_data_dir.sh --last``); those whose wav is missing are
    logged and skipped.
    """
    db_root = Path(db_root).resolve()
    entries = sorted(read_metadata(db_root))
    present = []
    for utt, text in entries:
        if (db_root / "wavs" / f"{utt}.wav").is_file():
            present.append((utt, text))
    if len(present) < len(entries):
        logging.warning(f"{len(entries) - len(present)} utterances of metadata.csv lack a wav")
    num_held_out = num_dev + num_eval
    if num_dev < 0 or num_eval < 0 or num_held_out >= len(present):
        raise ValueError(
            f"num_dev={num_dev} + num_eval={num_eval} leaves no training data "
            f"out of {len(present)} utterances"
        )
    cut = len(present) - num_held_out
    splits = {
        train_set: present[:cut],
        dev_set: present[cut : cut + num_dev],
        eval_set: present[cut + num_dev :],
    }
    for name, items in splits.items():
        write_data_dir(
            Path(data_dir) / name,
            wav_scp={u: str(db_root / "wavs" / f"{u}.wav") for u, _ in items},
            text={u: t for u, t in items},
            utt2spk={u: speaker for u, _ in items},
        )
        logging.info(f"Wrote {Path(data_dir) / name}: {len(items)} utterances")
    return {name: [u for u, _ in items] for name, items in splits.items()}
