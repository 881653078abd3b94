"""Kaldi data dirs from a single-speaker corpus in one of the common layouts (recipe stage 1).

A new recipe's ``local/data.sh`` is then a few lines (``egs2/TEMPLATE/prosody1/setup.sh``
writes one). Layouts (``--layout``):

* ``wav_txt``: a folder of audio files (``.wav``, ``.flac``; subfolders allowed) and one
  transcript file per recording with the same relative path and stem (``wav/a01.wav`` and
  ``txt/a01.txt``, or both in one folder; ``--text_ext .lab`` for HTK-style labels). The
  id is the relative path without its suffix, ``/`` replaced by ``_``.
* ``ljspeech``: LJSpeech's ``metadata.csv`` (``id|text|normalized text``, the normalized
  text used when present) and ``wavs/<id>.wav``.
* ``festival``: Festival's prompt list ``etc/txt.done.data`` (``( id "text" )`` lines, CMU
  ARCTIC and other FestVox voices) and ``wav/<id>.wav``.
* ``kaldi``: a Kaldi data dir (``wav.scp`` with file paths, ``text``; ``utt2spk`` ignored:
  one speaker), to be split.

The split is deterministic (:func:`prosody_plugin.data.split.split_train_dev_eval`):
utterances are ranked by the MD5 of their id, full sentences first, the first
``num_eval`` go to eval and the next ``num_dev`` to dev. Audio is not converted here:
stage 2 checks every file's rate against the recipe's ``--fs`` and trims its silence.
A transcript or audio file without its counterpart is named and skipped. A corpus with a
split or a format of its own keeps its reader in its recipe's ``local/`` (e.g.
``egs2/asterisk/prosody1/local/prepare_asterisk.py``) and writes through :func:`write_splits`.
"""

import logging
import re
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

from prosody_plugin.data.kaldi_dir import read_kaldi_map, write_data_dir
from prosody_plugin.data.split import split_train_dev_eval

PathLike = Union[str, Path]

LAYOUTS = ("wav_txt", "ljspeech", "festival", "kaldi")
AUDIO_EXTENSIONS = (".wav", ".flac")
_FESTIVAL_LINE = re.compile(r'^\(\s*(\S+)\s+"(.*)"\s*\)\s*$')


def _clean(text: str) -> str:
    return " ".join(text.split())


def _utt_id(relative: Path) -> str:
    return "_".join(relative.with_suffix("").parts).replace(" ", "_")


def read_wav_txt(
    wav_dir: PathLike, text_dir: PathLike = None, text_ext: str = ".txt"
) -> Dict[str, Tuple[str, str]]:
    """``wav_txt`` layout: utt id -> (audio path, transcript)."""
    wav_dir = Path(wav_dir).resolve()
    text_dir = Path(text_dir).resolve() if text_dir else wav_dir
    if not wav_dir.is_dir():
        raise FileNotFoundError(f"no audio folder {wav_dir}")
    if not text_dir.is_dir():
        raise FileNotFoundError(f"no transcript folder {text_dir}")
    entries: Dict[str, Tuple[str, str]] = {}
    missing: List[str] = []
    audio = sorted(p for p in wav_dir.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
    for path in audio:
        relative = path.relative_to(wav_dir)
        transcript = (text_dir / relative).with_suffix(text_ext)
        if not transcript.is_file():
            missing.append(str(transcript))
            continue
        utt = _utt_id(relative)
        if utt in entries:
            raise ValueError(f"two recordings give the id {utt}: {entries[utt][0]} and {path}")
        entries[utt] = (str(path), _clean(transcript.read_text(encoding="utf-8")))
    audio_stems = {(text_dir / p.relative_to(wav_dir)).with_suffix(text_ext) for p in audio}
    orphans = sorted(str(t) for t in text_dir.rglob(f"*{text_ext}") if t not in audio_stems)
    if missing:
        logging.warning(f"{len(missing)} recordings have no transcript, skipped: {', '.join(missing[:10])}")
    if orphans:
        logging.warning(f"{len(orphans)} transcripts have no recording, skipped: {', '.join(orphans[:10])}")
    if not entries:
        raise ValueError(f"no recording in {wav_dir} has a transcript ({text_ext}) in {text_dir}")
    return entries


def read_ljspeech(db_root: PathLike) -> Dict[str, Tuple[str, str]]:
    """``ljspeech`` layout: utt id -> (audio path, normalized transcript), in ``metadata.csv``'s order."""
    db_root = Path(db_root).resolve()
    metadata = db_root / "metadata.csv"
    if not metadata.is_file():
        raise FileNotFoundError(f"No LJSpeech metadata: {metadata}")
    texts = {}
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
            texts[fields[0].strip()] = " ".join(text.split())
    return _with_audio(texts, db_root / "wavs", "metadata.csv")


def read_festival(db_root: PathLike) -> Dict[str, Tuple[str, str]]:
    """``festival`` layout: utt id -> (audio path, transcript) from ``etc/txt.done.data``."""
    db_root = Path(db_root).resolve()
    prompts = db_root / "etc" / "txt.done.data"
    if not prompts.is_file():
        raise FileNotFoundError(f"no Festival prompt list {prompts}")
    texts: Dict[str, str] = {}
    for line_no, line in enumerate(prompts.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        match = _FESTIVAL_LINE.match(line.strip())
        if not match:
            raise ValueError(f"{prompts}:{line_no}: expected '( id \"text\" )', got {line!r}")
        texts[match.group(1)] = _clean(match.group(2).replace('\\"', '"'))
    return _with_audio(texts, db_root / "wav", "txt.done.data")


def read_kaldi(data_dir: PathLike) -> Dict[str, Tuple[str, str]]:
    """``kaldi`` layout: utt id -> (audio path, transcript) of a data dir's wav.scp and text."""
    data_dir = Path(data_dir)
    for name in ("wav.scp", "text"):
        if not (data_dir / name).is_file():
            raise FileNotFoundError(f"no {data_dir / name}")
    wavs, texts = read_kaldi_map(data_dir / "wav.scp"), read_kaldi_map(data_dir / "text")
    pipes = [u for u, p in wavs.items() if p.rstrip().endswith("|")]
    if pipes:
        raise ValueError(
            f"{data_dir}/wav.scp has commands, not files ({', '.join(pipes[:5])}): write the audio out first"
        )
    only = sorted(set(wavs) ^ set(texts))
    if only:
        logging.warning(f"{len(only)} ids are not in both wav.scp and text, skipped: {', '.join(only[:10])}")
    return {u: (str(Path(wavs[u]).resolve()), _clean(texts[u])) for u in sorted(set(wavs) & set(texts))}


def _with_audio(texts: Dict[str, str], audio_dir: Path, source: str) -> Dict[str, Tuple[str, str]]:
    entries, missing = {}, []
    for utt, text in texts.items():
        path = audio_dir / f"{utt}.wav"
        if path.is_file():
            entries[utt] = (str(path), text)
        else:
            missing.append(utt)
    if missing:
        logging.warning(
            f"{len(missing)} utterances of {source} have no {audio_dir}/<id>.wav, skipped: {', '.join(missing[:10])}"
        )
    if not entries:
        raise ValueError(f"no utterance of {source} has its audio in {audio_dir}")
    return entries


def read_corpus(
    layout: str, db_root: PathLike, text_dir: PathLike = None, text_ext: str = ".txt"
) -> Dict[str, Tuple[str, str]]:
    """utt id -> (audio path, transcript) of a corpus in ``layout`` (see the module doc).

    ``db_root`` is the audio folder (``wav_txt``), the corpus root (``ljspeech``,
    ``festival``) or the data dir (``kaldi``).
    """
    if layout == "wav_txt":
        return read_wav_txt(db_root, text_dir, text_ext)
    if layout == "ljspeech":
        return read_ljspeech(db_root)
    if layout == "festival":
        return read_festival(db_root)
    if layout == "kaldi":
        return read_kaldi(db_root)
    raise ValueError(f"unknown layout {layout!r} (one of {', '.join(LAYOUTS)})")


def prepare_corpus(
    layout: str,
    db_root: PathLike,
    data_dir: PathLike = "data",
    num_dev: int = 16,
    num_eval: int = 16,
    speaker: str = "spk1",
    sets: Sequence[str] = ("train", "dev", "eval"),
    text_dir: PathLike = None,
    text_ext: str = ".txt",
) -> Dict[str, List[str]]:
    """Write ``<data_dir>/<set>`` for the train, dev and eval sets; return the ids of each.

    Args:
        layout: One of :data:`LAYOUTS`.
        db_root: See :func:`read_corpus`.
        data_dir: Where the data dirs go.
        num_dev: Utterances of the dev set (validation during training).
        num_eval: Utterances of the eval set (decoded and scored).
        speaker: The speaker id of ``utt2spk``.
        sets: Names of the train, dev and eval sets.
        text_dir: ``wav_txt``: the transcript folder (default: the audio folder).
        text_ext: ``wav_txt``: the transcripts' suffix.
    """
    entries = read_corpus(layout, db_root, text_dir, text_ext)
    empty = sorted(u for u, (_, text) in entries.items() if not text)
    if empty:
        logging.warning(f"{len(empty)} transcripts are empty, skipped: {', '.join(empty[:10])}")
        entries = {u: e for u, e in entries.items() if u not in empty}
    splits = split_train_dev_eval({u: t for u, (_, t) in entries.items()}, num_dev, num_eval)
    return write_splits(data_dir, dict(zip(sets, splits)), entries, speaker)


def write_splits(
    data_dir: PathLike, splits: Dict[str, Sequence[str]], entries: Dict[str, Tuple[str, str]], speaker: str
) -> Dict[str, List[str]]:
    """Write ``<data_dir>/<set>`` for each set of ``splits`` (set name -> utt ids) from
    ``entries`` (utt id -> (audio path, transcript)), one speaker; return the ids of each set."""
    written = {}
    for name, ids in splits.items():
        write_data_dir(
            Path(data_dir) / name,
            wav_scp={u: entries[u][0] for u in ids},
            text={u: entries[u][1] for u in ids},
            utt2spk={u: speaker for u in ids},
        )
        logging.info(f"Wrote {Path(data_dir) / name}: {len(ids)} utterances")
        written[name] = list(ids)
    return written


__all__ = [
    "LAYOUTS",
    "prepare_corpus",
    "read_corpus",
    "read_festival",
    "read_kaldi",
    "read_ljspeech",
    "read_wav_txt",
    "write_splits",
]
