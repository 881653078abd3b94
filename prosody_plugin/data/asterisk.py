"""Prepare the Asterisk English prompts (Allison Smith) as a small TTS corpus.

The Debian packages ``asterisk-core-sounds-en-g722`` (16 kHz G.722 audio) and
``asterisk-core-sounds-en`` (transcripts) give about 550 prompts of one professional
US English voice (CC-BY-SA-3.0). This module

1. reads the transcript list (``name: text`` lines, ``;`` comments), skipping ``silence/*``
   and the tone entries whose text starts with ``[``;
2. matches each name to ``<sounds_dir>/<name>.g722`` (names may have a subfolder,
   e.g. ``digits/0``) and decodes it with PyAV to 16 kHz mono 16-bit PCM wav files
   (skipped when the wav already exists, so a second run is fast);
3. drops prompts longer than ``max_duration`` seconds;
4. splits the rest deterministically into train/dev/eval
   (:func:`prosody_plugin.data.split.split_train_dev_eval`) and writes Kaldi data dirs.
"""

import gzip
import logging
import os
import re
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import soundfile as sf
from tqdm import tqdm

from prosody_plugin.data.kaldi_dir import write_data_dir
from prosody_plugin.data.split import split_train_dev_eval

PathLike = Union[str, Path]

SAMPLE_RATE = 16000
SPEAKER = "allison"
AUDIO_SUFFIX = ".g722"
SKIPPED_FOLDERS = ("silence",)


def read_transcripts(path: PathLike) -> "OrderedDict[str, str]":
    """Read ``name: text`` lines (plain or gzipped) into an ordered dict.

    Comments (``;``), blank lines, ``silence/*`` entries and tones (text starting with
    ``[``) are skipped; internal whitespace of the text is collapsed to single spaces.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    transcripts: "OrderedDict[str, str]" = OrderedDict()
    skipped: Counter = Counter()
    with opener(path, "rt", encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            name, sep, text = line.partition(":")
            name, text = name.strip(), " ".join(text.split())
            if not sep or not name or any(c.isspace() for c in name):
                logging.warning(f"{path}:{line_no}: not a 'name: text' line, skipped: {line!r}")
                skipped["malformed"] += 1
                continue
            if name.split("/")[0] in SKIPPED_FOLDERS:
                skipped["silence"] += 1
                continue
            if text.startswith("["):
                skipped["tone"] += 1
                continue
            if not text:
                skipped["empty text"] += 1
                continue
            if name in transcripts:
                logging.warning(f"{path}:{line_no}: '{name}' listed twice, keeping the first")
                skipped["duplicate"] += 1
                continue
            transcripts[name] = text
    logging.info(
        f"Read {len(transcripts)} spoken prompts from {path}"
        + (f" (skipped: {dict(sorted(skipped.items()))})" if skipped else "")
    )
    return transcripts


def find_audio(sounds_dir: PathLike) -> Dict[str, Path]:
    """Map every ``<name>`` to ``<sounds_dir>/<name>.g722`` found on disk."""
    sounds_dir = Path(sounds_dir)
    return {
        p.relative_to(sounds_dir).with_suffix("").as_posix(): p
        for p in sorted(sounds_dir.rglob("*" + AUDIO_SUFFIX))
    }


def name_to_utt_id(name: str, speaker: str = SPEAKER) -> str:
    """``digits/0`` -> ``allison_digits_0`` (speaker prefix keeps Kaldi sorting consistent)."""
    return f"{speaker}_" + re.sub(r"[^A-Za-z0-9_.-]", "_", name.replace("/", "_"))


def decode_g722(src: PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode a raw G.722 file with PyAV into a mono int16 array at ``sample_rate``."""
    import av  # imported lazily: only this corpus needs it

    resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
    chunks = []
    with av.open(str(src), format="g722") as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):  # flush
            chunks.append(out.to_ndarray().reshape(-1))
    if not chunks:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate(chunks).astype(np.int16, copy=False)


def convert_to_wav(src: PathLike, dst: PathLike, sample_rate: int = SAMPLE_RATE) -> int:
    """Decode ``src`` to a 16-bit PCM wav ``dst`` unless it exists; return its sample count.

    The wav is written to a temporary name and renamed, so an interrupted run never leaves
    a truncated file that a later run would trust.
    """
    dst = Path(dst)
    if dst.is_file() and dst.stat().st_size > 0:
        info = sf.info(str(dst))
        if info.samplerate == sample_rate and info.frames > 0:
            return info.frames
    samples = decode_g722(src, sample_rate)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp.wav")
    sf.write(str(tmp), samples, sample_rate, subtype="PCM_16")
    os.replace(tmp, dst)
    return len(samples)


def prepare_asterisk(
    sounds_dir: PathLike,
    transcripts: PathLike,
    wav_dir: PathLike,
    data_dir: PathLike,
    dev_size: int = 16,
    eval_size: int = 16,
    max_duration: Optional[float] = 15.0,
    limit: Optional[int] = None,
    speaker: str = SPEAKER,
    split_names: Sequence[str] = ("train", "dev", "eval"),
) -> Dict[str, List[str]]:
    """Decode the prompts and write ``<data_dir>/{train,dev,eval}``; return the split ids.

    ``limit`` keeps only the first N matched prompts (sorted by utterance id): handy for
    quick tests.
    """
    sounds_dir, wav_dir, data_dir = Path(sounds_dir), Path(wav_dir), Path(data_dir)
    if not sounds_dir.is_dir():
        raise FileNotFoundError(f"No Asterisk sounds dir: {sounds_dir}")
    name2text = read_transcripts(transcripts)
    name2audio = {
        n: p for n, p in find_audio(sounds_dir).items() if n.split("/")[0] not in SKIPPED_FOLDERS
    }

    no_audio = sorted(set(name2text) - set(name2audio))
    no_text = sorted(set(name2audio) - set(name2text))
    if no_audio:
        logging.warning(
            f"{len(no_audio)} transcripts have no {AUDIO_SUFFIX} audio, skipped "
            f"(e.g. {', '.join(no_audio[:5])})"
        )
    if no_text:
        logging.warning(
            f"{len(no_text)} audio files have no transcript, skipped "
            f"(e.g. {', '.join(no_text[:5])})"
        )

    # utterance id -> prompt name, checking that the id mapping stays one-to-one
    utt2name: Dict[str, str] = {}
    for name in sorted(set(name2text) & set(name2audio)):
        utt = name_to_utt_id(name, speaker)
        if utt in utt2name:
            raise ValueError(f"Prompts '{utt2name[utt]}' and '{name}' both map to id '{utt}'")
        utt2name[utt] = name
    utt_ids = sorted(utt2name)
    if limit is not None:
        utt_ids = utt_ids[:limit]
    logging.info(f"{len(utt_ids)} prompts with audio and transcript")

    wav_scp: Dict[str, str] = {}
    text: Dict[str, str] = {}
    too_long: List[str] = []
    for utt in tqdm(utt_ids, desc="decode G.722", unit="utt"):
        name = utt2name[utt]
        wav_path = (wav_dir / f"{utt}.wav").resolve()
        num_samples = convert_to_wav(name2audio[name], wav_path)
        if num_samples == 0:
            logging.warning(f"{utt}: {name2audio[name]} decodes to no audio, skipped")
            continue
        if max_duration is not None and num_samples / SAMPLE_RATE > max_duration:
            too_long.append(utt)
            continue
        wav_scp[utt] = str(wav_path)
        text[utt] = name2text[name]
    if too_long:
        logging.info(f"Dropped {len(too_long)} prompts longer than {max_duration} s")

    train_ids, dev_ids, eval_ids = split_train_dev_eval(text, dev_size, eval_size)
    splits = dict(zip(split_names, (train_ids, dev_ids, eval_ids)))
    for split, ids in splits.items():
        write_data_dir(
            data_dir / split,
            wav_scp={u: wav_scp[u] for u in ids},
            text={u: text[u] for u in ids},
            utt2spk={u: speaker for u in ids},
        )
        logging.info(f"Wrote {data_dir / split}: {len(ids)} utterances")
    return splits
