#!/usr/bin/env python3
"""Validate a Kaldi-style data dir and write a clean copy that training can rely on.

Every utterance of ``IN_DIR`` is checked; the ones that pass are written to ``OUT_DIR``
(``wav.scp`` with absolute paths to the original audio, ``text``, ``utt2spk``, ``spk2utt``,
``utt2num_samples``), and the others are listed in ``OUT_DIR/dropped`` as
``<utt_id><TAB><reason>`` lines. Checks, in order:

* ``mismatched_ids``: the id is not in all of ``text``, ``wav.scp`` and ``utt2spk``;
* ``missing_audio``, ``unreadable_audio`` (soundfile cannot open or read it),
  ``empty_audio`` (0 samples), ``sample_rate_mismatch`` (not ``--fs``),
  ``multichannel_audio`` (dropped rather than down-mixed: ``wav.scp`` keeps pointing to the
  original files, which ESPnet would load with a channel axis), ``silent_audio`` (all
  samples zero), ``too_long`` (over ``--max_duration`` seconds);
* ``empty_text`` (empty or whitespace only), ``no_pronounceable_token`` (nothing left but
  punctuation, stress/length marks or ``<space>`` after ESPnet's cleaner and G2P, exactly
  as ESPnet's ``CommonPreprocessor`` tokenizes);
* ``too_short_to_align``: fewer feature frames (``num_samples // hop_length + 1``) than
  tokens + 1 (an aligner needs one frame per token plus eos).

With ``--on_error stop`` the first problem (in utterance-id order) ends the run with a
message naming the utterance; with ``--on_error drop`` (default) each one is logged and
a count per reason is printed at the end.

Example::

    python -m prosody_plugin.bin.format_data --fs 16000 --g2p espeak_ng_english_us_vits \\
        --cleaner tacotron --token_type phn --hop_length 256 --max_duration 20 \\
        --on_error drop --nj 2 data/train data/train_clean
"""

import argparse
import logging
import multiprocessing
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf
from tqdm import tqdm

from prosody_plugin.data.kaldi_dir import read_kaldi_map, write_data_dir, write_kaldi_map
from prosody_plugin.tts.word_boundaries import WORD_BOUNDARY_TOKEN, is_pronounceable

SPACE_SYMBOL = WORD_BOUNDARY_TOKEN


class DataDirError(Exception):
    """A problem with one utterance; ``reason`` is a short key, ``str()`` the details."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class ValidationConfig:
    """Everything a worker needs to validate utterances (picklable)."""

    fs: int
    hop_length: int = 256
    max_duration: Optional[float] = None
    g2p: Optional[str] = "espeak_ng_english_us_vits"
    cleaner: Optional[str] = "tacotron"
    token_type: str = "phn"


class UtteranceValidator:
    """Checks the audio and text of one utterance; builds ESPnet's text front end once."""

    def __init__(self, config: ValidationConfig):
        # Imported here: espnet2's tokenizer imports take seconds (g2p_en, nltk).
        from espnet2.text.build_tokenizer import build_tokenizer
        from espnet2.text.cleaner import TextCleaner

        self.config = config
        self.cleaner = TextCleaner(config.cleaner)
        # As espnet2.train.preprocessor.CommonPreprocessor builds it (phn -> PhonemeTokenizer)
        self.tokenizer = build_tokenizer(
            token_type=config.token_type,
            g2p_type=config.g2p,
            space_symbol=SPACE_SYMBOL,
        )

    def tokenize(self, text: str) -> List[str]:
        """Clean and tokenize ``text`` the way ESPnet's preprocessor does."""
        return self.tokenizer.text2tokens(self.cleaner(text))

    def check_audio(self, utt: str, wav_path: str) -> int:
        """Return the number of samples of ``wav_path`` or raise :class:`DataDirError`."""
        cfg = self.config
        if wav_path.endswith("|"):
            raise DataDirError(
                "unreadable_audio", f"{utt}: Kaldi pipes are not supported: {wav_path}"
            )
        if not os.path.isfile(wav_path):
            raise DataDirError("missing_audio", f"{utt}: audio file not found: {wav_path}")
        try:
            info = sf.info(wav_path)
        except Exception as e:  # soundfile raises RuntimeError/LibsndfileError and others
            raise DataDirError(
                "unreadable_audio", f"{utt}: cannot read audio {wav_path}: {e}"
            ) from None
        if info.frames == 0:
            raise DataDirError("empty_audio", f"{utt}: audio has 0 samples: {wav_path}")
        if info.samplerate != cfg.fs:
            raise DataDirError(
                "sample_rate_mismatch",
                f"{utt}: sample rate {info.samplerate} Hz, expected --fs {cfg.fs} Hz: "
                f"{wav_path}",
            )
        if info.channels != 1:
            raise DataDirError(
                "multichannel_audio",
                f"{utt}: {info.channels} channels, expected mono: {wav_path}",
            )
        duration = info.frames / info.samplerate
        if cfg.max_duration is not None and duration > cfg.max_duration:
            raise DataDirError(
                "too_long",
                f"{utt}: {duration:.2f} s is longer than --max_duration {cfg.max_duration} s",
            )
        try:
            samples = sf.read(wav_path, dtype="float32", always_2d=False)[0]
        except Exception as e:
            raise DataDirError(
                "unreadable_audio", f"{utt}: cannot decode audio {wav_path}: {e}"
            ) from None
        if samples.size == 0:
            raise DataDirError("empty_audio", f"{utt}: audio has 0 samples: {wav_path}")
        if not np.any(samples):
            raise DataDirError("silent_audio", f"{utt}: audio is all zeros: {wav_path}")
        return int(samples.shape[0])

    def check_text(self, utt: str, text: str) -> List[str]:
        """Return the tokens of ``text`` or raise :class:`DataDirError`."""
        if not text or not text.strip():
            raise DataDirError("empty_text", f"{utt}: transcript is empty")
        tokens = self.tokenize(text)
        if not any(is_pronounceable(t) for t in tokens):
            raise DataDirError(
                "no_pronounceable_token",
                f"{utt}: no pronounceable token in {text!r} after cleaning and G2P "
                f"(tokens: {tokens})",
            )
        return tokens

    def __call__(self, utt: str, wav_path: str, text: str) -> Tuple[str, int, Optional[str], str]:
        """Validate one utterance: ``(utt, num_samples, reason or None, message)``."""
        try:
            num_samples = self.check_audio(utt, wav_path)
            tokens = self.check_text(utt, text)
            num_frames = num_samples // self.config.hop_length + 1
            if num_frames < len(tokens) + 1:
                raise DataDirError(
                    "too_short_to_align",
                    f"{utt}: {num_frames} frames (hop {self.config.hop_length}) for "
                    f"{len(tokens)} tokens + eos; the aligner needs at least one frame each",
                )
        except DataDirError as e:
            return utt, 0, e.reason, str(e)
        return utt, num_samples, None, ""


_WORKER_VALIDATOR: Optional[UtteranceValidator] = None


def _init_worker(config: ValidationConfig) -> None:
    global _WORKER_VALIDATOR
    _WORKER_VALIDATOR = UtteranceValidator(config)


def _validate_in_worker(item: Tuple[str, str, str]) -> Tuple[str, int, Optional[str], str]:
    return _WORKER_VALIDATOR(*item)


def _validate_all(
    items: Sequence[Tuple[str, str, str]], config: ValidationConfig, nj: int
) -> Iterator[Tuple[str, int, Optional[str], str]]:
    """Yield validation results in the order of ``items`` (parallel when ``nj > 1``)."""
    nj = max(1, min(nj, len(items)))
    if nj == 1:
        validator = UtteranceValidator(config)
        for item in items:
            yield validator(*item)
        return
    chunksize = max(1, min(64, len(items) // (nj * 8)))
    with multiprocessing.Pool(nj, initializer=_init_worker, initargs=(config,)) as pool:
        # leaving the generator early (on_error=stop) terminates the pool
        yield from pool.imap(_validate_in_worker, items, chunksize=chunksize)


def find_mismatched_ids(
    text: Dict[str, str], wav_scp: Dict[str, str], utt2spk: Dict[str, str]
) -> Dict[str, str]:
    """Map each id missing from some of the three files to a description of what it lacks."""
    files = {"text": text, "wav.scp": wav_scp, "utt2spk": utt2spk}
    all_ids = set(text) | set(wav_scp) | set(utt2spk)
    mismatched = {}
    for utt in sorted(all_ids):
        missing = [name for name, mapping in files.items() if utt not in mapping]
        if missing:
            mismatched[utt] = f"{utt}: not in {' and '.join(missing)}"
    return mismatched


def format_data_dir(
    in_dir: Path,
    out_dir: Path,
    config: ValidationConfig,
    on_error: str = "drop",
    nj: int = 1,
) -> Dict[str, str]:
    """Validate ``in_dir`` and write the clean data dir; return ``{dropped utt: reason}``.

    Raises SystemExit on the first problem with ``on_error="stop"``, or when nothing
    survives.
    """
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    for name in ("wav.scp", "text", "utt2spk"):
        if not (in_dir / name).is_file():
            raise SystemExit(f"format_data: {in_dir / name} does not exist")
    wav_scp = read_kaldi_map(in_dir / "wav.scp")
    text = read_kaldi_map(in_dir / "text")
    utt2spk = read_kaldi_map(in_dir / "utt2spk")

    dropped: Dict[str, str] = {}
    mismatched = find_mismatched_ids(text, wav_scp, utt2spk)
    if mismatched:
        examples = ", ".join(list(mismatched)[:5])
        counts = ", ".join(
            f"{sum(u not in m for u in mismatched)} not in {name}"
            for name, m in (("text", text), ("wav.scp", wav_scp), ("utt2spk", utt2spk))
        )
        summary = (
            f"mismatched data dir {in_dir}: {len(mismatched)} ids are not in all of text, "
            f"wav.scp and utt2spk ({counts}; e.g. {examples})"
        )
        if on_error == "stop":
            raise SystemExit(f"format_data: {summary}; first: {next(iter(mismatched.values()))}")
        logging.warning(summary)
        for utt, message in mismatched.items():
            logging.warning(f"dropped (mismatched_ids) {message}")
            dropped[utt] = "mismatched_ids"

    utt_ids = sorted(set(text) & set(wav_scp) & set(utt2spk))
    items = []
    for utt in utt_ids:
        wav_path = wav_scp[utt]
        if not wav_path.endswith("|"):  # Kaldi pipes are rejected by check_audio
            wav_path = os.path.abspath(wav_path)
        items.append((utt, wav_path, text[utt]))

    utt2num_samples: Dict[str, int] = {}
    new_wav_scp: Dict[str, str] = {}
    results = _validate_all(items, config, nj)
    try:
        for (utt, wav_path, _), (utt_done, num_samples, reason, message) in zip(
            items, tqdm(results, total=len(items), desc=f"validate {in_dir}", unit="utt")
        ):
            assert utt == utt_done
            if reason is None:
                utt2num_samples[utt] = num_samples
                new_wav_scp[utt] = wav_path
                continue
            if on_error == "stop":
                raise SystemExit(f"format_data: {reason}: {message}")
            logging.warning(f"dropped ({reason}) {message}")
            dropped[utt] = reason
    finally:
        results.close()  # stops the worker pool when leaving early

    if dropped:
        counts = Counter(dropped.values())
        logging.warning(
            f"Dropped {len(dropped)} of {len(set(text) | set(wav_scp) | set(utt2spk))} "
            f"utterances: " + ", ".join(f"{r}={n}" for r, n in sorted(counts.items()))
        )
    if not utt2num_samples:
        _write_dropped(out_dir, dropped)
        if not dropped:
            raise SystemExit(f"format_data: {in_dir} has no utterances")
        raise SystemExit(
            f"format_data: no utterance of {in_dir} passed validation "
            f"(see {out_dir / 'dropped'} and the warnings above)"
        )

    kept = sorted(utt2num_samples)
    write_data_dir(
        out_dir,
        wav_scp=new_wav_scp,
        text={u: text[u] for u in kept},
        utt2spk={u: utt2spk[u] for u in kept},
    )
    write_kaldi_map(out_dir / "utt2num_samples", utt2num_samples)
    _write_dropped(out_dir, dropped)
    logging.info(f"Wrote {out_dir}: {len(kept)} utterances kept, {len(dropped)} dropped")
    return dropped


def _write_dropped(out_dir: Path, dropped: Dict[str, str]) -> None:
    """Write ``<utt>\\t<reason>`` lines sorted by id."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "dropped", "w", encoding="utf-8") as f:
        for utt in sorted(dropped):
            f.write(f"{utt}\t{dropped[utt]}\n")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Validate a Kaldi-style data dir (audio, text, G2P, alignability) and "
        "write a clean copy with utt2num_samples and a list of dropped utterances.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("in_dir", type=Path, help="Input data dir (wav.scp, text, utt2spk).")
    parser.add_argument("out_dir", type=Path, help="Output data dir.")
    parser.add_argument("--fs", type=int, required=True, help="Expected sampling rate (Hz).")
    parser.add_argument(
        "--g2p", default="espeak_ng_english_us_vits", help="ESPnet g2p type (for phn tokens)."
    )
    parser.add_argument(
        "--cleaner", default="tacotron", help="ESPnet text cleaner ('none' for no cleaning)."
    )
    parser.add_argument(
        "--token_type", default="phn", choices=["phn", "char"], help="ESPnet token type."
    )
    parser.add_argument(
        "--hop_length", type=int, default=256, help="Hop length of the acoustic features."
    )
    parser.add_argument(
        "--max_duration",
        type=float,
        default=None,
        help="Drop utterances longer than this (seconds); default: no limit.",
    )
    parser.add_argument(
        "--on_error",
        default="drop",
        choices=["drop", "stop"],
        help="drop: log and skip bad utterances; stop: fail at the first one.",
    )
    parser.add_argument("--nj", type=int, default=1, help="Number of parallel workers.")
    parser.add_argument("--verbose", type=int, default=1, help="0: warnings, 1: info, 2: debug.")
    return parser


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(max(args.verbose, 0), 2)],
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )
    config = ValidationConfig(
        fs=args.fs,
        hop_length=args.hop_length,
        max_duration=args.max_duration if args.max_duration and args.max_duration > 0 else None,
        g2p=None if args.g2p in ("none", "None", "") else args.g2p,
        cleaner=None if args.cleaner in ("none", "None", "") else args.cleaner,
        token_type=args.token_type,
    )
    format_data_dir(args.in_dir, args.out_dir, config, on_error=args.on_error, nj=args.nj)


if __name__ == "__main__":
    main()
