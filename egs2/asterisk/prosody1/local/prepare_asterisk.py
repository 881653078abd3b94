#!/usr/bin/env python3
"""The Asterisk English prompts (Allison Smith) as Kaldi data dirs: stage 1 of this recipe.

The Debian packages ``asterisk-core-sounds-en-g722`` (16 kHz G.722 audio) and
``asterisk-core-sounds-en`` (transcripts) give about 550 prompts of one professional US
English voice (CC-BY-SA-3.0). This script reads the transcript list (``name: text`` lines,
``;`` comments; ``silence/*`` and tones, whose text starts with ``[``, are skipped), decodes
each ``<sounds_dir>/<name>.g722`` with PyAV to a 16 kHz mono 16-bit wav (kept when it exists),
drops prompts longer than ``--max_duration`` and splits the rest with the package's split
(:func:`prosody_plugin.data.split.split_train_dev_eval`). Run by ``local/data.sh``::

    python local/prepare_asterisk.py \\
        --sounds_dir /usr/share/asterisk/sounds/en_US_f_Allison \\
        --transcripts /usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz \\
        --wav_dir downloads/wavs --data_dir data --dev_size 16 --eval_size 16 --max_duration 15.0
"""

import argparse
import gzip
import logging
import os
import re
import sys
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import soundfile as sf
from tqdm import tqdm

from prosody_plugin.data.prepare import write_splits
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
    name2audio = {n: p for n, p in find_audio(sounds_dir).items() if n.split("/")[0] not in SKIPPED_FOLDERS}

    no_audio = sorted(set(name2text) - set(name2audio))
    no_text = sorted(set(name2audio) - set(name2text))
    if no_audio:
        logging.warning(
            f"{len(no_audio)} transcripts have no {AUDIO_SUFFIX} audio, skipped "
            f"(e.g. {', '.join(no_audio[:5])})"
        )
    if no_text:
        logging.warning(
            f"{len(no_text)} audio files have no transcript, skipped (e.g. {', '.join(no_text[:5])})"
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

    entries: Dict[str, Tuple[str, str]] = {}  # utt -> (wav path, transcript)
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
        entries[utt] = (str(wav_path), name2text[name])
    if too_long:
        logging.info(f"Dropped {len(too_long)} prompts longer than {max_duration} s")

    splits = split_train_dev_eval({u: t for u, (_, t) in entries.items()}, dev_size, eval_size)
    return write_splits(data_dir, dict(zip(split_names, splits)), entries, speaker)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Decode the Asterisk G.722 prompts to 16 kHz wav and write "
        "Kaldi-style train/dev/eval data dirs.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--sounds_dir",
        default="/usr/share/asterisk/sounds/en_US_f_Allison",
        help="Folder of the .g722 prompts (Debian asterisk-core-sounds-en-g722).",
    )
    parser.add_argument(
        "--transcripts",
        default="/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz",
        help="Transcript list 'name: text' (Debian asterisk-core-sounds-en).",
    )
    parser.add_argument("--wav_dir", default="downloads/wavs", help="Where to write the wavs.")
    parser.add_argument("--data_dir", default="data", help="Where to write the data dirs.")
    parser.add_argument("--dev_size", type=int, default=16, help="Number of dev utterances.")
    parser.add_argument("--eval_size", type=int, default=16, help="Number of eval utterances.")
    parser.add_argument(
        "--max_duration",
        type=float,
        default=15.0,
        help="Drop prompts longer than this (seconds); <= 0 keeps all.",
    )
    parser.add_argument(
        "--limit", type=int, help="Use only the first N prompts (sorted by id); for quick tests."
    )
    parser.add_argument("--train_set", default="train", help="Name of the training dir.")
    parser.add_argument("--dev_set", default="dev", help="Name of the dev dir.")
    parser.add_argument("--eval_set", default="eval", help="Name of the eval dir.")
    return parser


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    try:
        prepare_asterisk(
            args.sounds_dir,
            args.transcripts,
            args.wav_dir,
            args.data_dir,
            args.dev_size,
            args.eval_size,
            args.max_duration if args.max_duration > 0 else None,
            args.limit,
            split_names=(args.train_set, args.dev_set, args.eval_set),
        )
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"prepare_asterisk: {e}")


if __name__ == "__main__":
    main()
