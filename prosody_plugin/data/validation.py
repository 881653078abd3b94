"""Validate a Kaldi-style data dir and write a clean, silence-trimmed copy that training can rely on (stage 2).

:func:`format_data_dir` keeps the utterances :class:`UtteranceValidator` passes and lists the
others with their reason in ``out_dir/dropped``. The reasons, trimming and warnings:
docs/recipes.md (Stage 2).
"""

import logging
import multiprocessing
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf
from tqdm import tqdm

from prosody_plugin.data.kaldi_dir import read_kaldi_map, write_data_dir, write_dropped, write_kaldi_map
from prosody_plugin.data.silence import TrimConfig, silent_share, trim_span
from prosody_plugin.data.transcripts import describe_character, lacks_final_punctuation, unusual_characters
from prosody_plugin.text.word_boundaries import WORD_BOUNDARY_TOKEN, is_pronounceable


class DataDirError(Exception):
    """A problem with one utterance; ``reason`` is a short key, ``str()`` the details."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class ValidationConfig:
    """Everything a worker needs to validate utterances (picklable).

    ``trim``: silence trimming (None: keep the audio), written to ``wav_dir``;
    ``max_silence_share``: warn above this share of silence (None: never);
    ``extra_characters``: accepted in transcripts besides letters, digits and punctuation.
    """

    fs: int
    hop_length: int = 256
    max_duration: Optional[float] = None
    g2p: Optional[str] = "espeak_ng_english_us_vits"
    cleaner: Optional[str] = "tacotron"
    token_type: str = "phn"
    trim: Optional[TrimConfig] = None
    wav_dir: Optional[Path] = None
    max_silence_share: Optional[float] = None
    extra_characters: str = ""


@dataclass
class UtteranceResult:
    """What validation found out about one utterance.

    Attributes:
        utt: Utterance id.
        num_samples: Samples of the audio training reads (after trimming); 0 if dropped.
        reason: Why it is dropped (a short key), or None when it is kept.
        message: The details of the problem.
        wav_path: The audio training reads (the trimmed copy when trimming).
        trim: (start s, end s, original duration s) of the kept span, when trimming.
        warnings: (kind, details) of problems that do not drop the utterance.
        characters: The unusual characters of a transcript dropped for them.
    """

    utt: str
    num_samples: int = 0
    reason: Optional[str] = None
    message: str = ""
    wav_path: str = ""
    trim: Optional[Tuple[float, float, float]] = None
    warnings: List[Tuple[str, str]] = field(default_factory=list)
    characters: List[str] = field(default_factory=list)


def trimmed_wav_name(utt: str) -> str:
    """File name of an utterance's trimmed audio (``/`` in an id would make a folder)."""
    return utt.replace("%", "%25").replace("/", "%2F") + ".wav"


class UtteranceValidator:
    """Checks the audio and text of one utterance; builds ESPnet's text front end once."""

    def __init__(self, config: ValidationConfig):
        # Imported here: espnet2's tokenizer imports are slow (g2p_en, nltk).
        from espnet2.text.build_tokenizer import build_tokenizer
        from espnet2.text.cleaner import TextCleaner

        self.config = config
        self.cleaner = TextCleaner(config.cleaner)
        # As espnet2.train.preprocessor.CommonPreprocessor builds it (phn -> PhonemeTokenizer)
        self.tokenizer = build_tokenizer(
            token_type=config.token_type,
            g2p_type=config.g2p,
            space_symbol=WORD_BOUNDARY_TOKEN,
        )

    def tokenize(self, text: str) -> List[str]:
        """Clean and tokenize ``text`` the way ESPnet's preprocessor does."""
        return self.tokenizer.text2tokens(self.cleaner(text))

    def load_audio(self, utt: str, wav_path: str) -> Tuple[np.ndarray, str]:
        """Read ``wav_path`` after checking it: ``(samples (num_samples,), soundfile subtype)``.

        Raises :class:`DataDirError` for a missing, unreadable, empty, multichannel or all-zero
        file and for a sample rate other than ``fs``.
        """
        cfg = self.config
        if wav_path.endswith("|"):
            raise DataDirError("unreadable_audio", f"{utt}: Kaldi pipes are not supported: {wav_path}")
        if not os.path.isfile(wav_path):
            raise DataDirError("missing_audio", f"{utt}: audio file not found: {wav_path}")
        try:
            info = sf.info(wav_path)
        except Exception as e:  # soundfile raises RuntimeError/LibsndfileError and others
            raise DataDirError("unreadable_audio", f"{utt}: cannot read audio {wav_path}: {e}") from None
        if info.frames == 0:
            raise DataDirError("empty_audio", f"{utt}: audio has 0 samples: {wav_path}")
        if info.samplerate != cfg.fs:
            raise DataDirError(
                "sample_rate_mismatch",
                f"{utt}: sample rate {info.samplerate} Hz, expected --fs {cfg.fs} Hz: "
                f"{wav_path} (set the recipe's --fs to the corpus's rate, or resample the corpus)",
            )
        if info.channels != 1:
            raise DataDirError(
                "multichannel_audio",
                f"{utt}: {info.channels} channels, expected mono: {wav_path}",
            )
        try:
            samples = sf.read(wav_path, dtype="float32", always_2d=False)[0]
        except Exception as e:
            raise DataDirError("unreadable_audio", f"{utt}: cannot decode audio {wav_path}: {e}") from None
        if samples.size == 0:
            raise DataDirError("empty_audio", f"{utt}: audio has 0 samples: {wav_path}")
        if not np.any(samples):
            raise DataDirError("silent_audio", f"{utt}: audio is all zeros: {wav_path}")
        return samples, info.subtype

    def check_duration(self, utt: str, num_samples: int) -> None:
        cfg = self.config
        duration = num_samples / cfg.fs
        if cfg.max_duration is not None and duration > cfg.max_duration:
            what = "after trimming its silence " if cfg.trim is not None else ""
            raise DataDirError(
                "too_long",
                f"{utt}: {duration:.2f} s {what}is longer than --max_duration {cfg.max_duration} s",
            )

    def check_text(self, utt: str, text: str) -> List[str]:
        """Return the tokens of ``text`` or raise :class:`DataDirError`."""
        if not text or not text.strip():
            raise DataDirError("empty_text", f"{utt}: transcript is empty")
        cleaned = self.cleaner(text)
        unusual = unusual_characters(cleaned, self.config.extra_characters)
        if unusual:
            names = ", ".join(describe_character(c) for c in unusual)
            error = DataDirError(
                "unusual_characters",
                f"{utt}: transcript has characters that are neither letters, digits nor ordinary "
                f"punctuation: {names} in {text!r} (fix the transcript, or accept them with "
                f"--extra_characters)",
            )
            error.characters = unusual
            raise error
        tokens = self.tokenizer.text2tokens(cleaned)
        if not any(is_pronounceable(t) for t in tokens):
            raise DataDirError(
                "no_pronounceable_token",
                f"{utt}: no pronounceable token in {text!r} after cleaning and G2P (tokens: {tokens})",
            )
        return tokens

    def write_trimmed(self, utt: str, samples: np.ndarray, subtype: str) -> str:
        """Write an utterance's trimmed audio to ``wav_dir``; return its path."""
        path = Path(self.config.wav_dir).resolve() / trimmed_wav_name(utt)
        # the source's sample format when WAV can hold it (PCM_16 for 16-bit sources)
        subtype = subtype if sf.check_format("WAV", subtype) else "FLOAT"
        sf.write(str(path), samples, self.config.fs, subtype=subtype)
        return str(path)

    def __call__(self, utt: str, wav_path: str, text: str) -> UtteranceResult:
        """Validate one utterance (and trim it when configured)."""
        cfg = self.config
        result = UtteranceResult(utt=utt, wav_path=wav_path)
        try:
            samples, subtype = self.load_audio(utt, wav_path)
            tokens = self.check_text(utt, text)
            if cfg.trim is not None:
                start, end = trim_span(samples, cfg.fs, cfg.trim)
                result.trim = (start / cfg.fs, end / cfg.fs, samples.shape[0] / cfg.fs)
                samples = samples[start:end]
            self.check_duration(utt, samples.shape[0])
            num_frames = samples.shape[0] // cfg.hop_length + 1
            if num_frames < len(tokens) + 1:
                what = " after trimming its silence" if cfg.trim is not None else ""
                raise DataDirError(
                    "too_short_to_align",
                    f"{utt}: {num_frames} frames (hop {cfg.hop_length}){what} for "
                    f"{len(tokens)} tokens + eos; the aligner needs at least one frame each",
                )
        except DataDirError as e:
            result.reason, result.message = e.reason, str(e)
            result.characters = list(getattr(e, "characters", []))
            result.trim = None
            return result
        result.num_samples = int(samples.shape[0])
        if cfg.trim is not None:
            result.wav_path = self.write_trimmed(utt, samples, subtype)
        if cfg.max_silence_share is not None:
            share = silent_share(samples, cfg.fs, cfg.trim or TrimConfig())
            if share > cfg.max_silence_share:
                result.warnings.append(
                    (
                        "silent_share",
                        f"{share:.0%} of the audio is silence{' after trimming' if cfg.trim else ''} "
                        f"(more than --max_silence_share {cfg.max_silence_share:.0%}): long pauses, "
                        "a noisy recording, or a threshold that does not fit the corpus",
                    )
                )
        return result


_WORKER_VALIDATOR: Optional[UtteranceValidator] = None


def _init_worker(config: ValidationConfig) -> None:
    global _WORKER_VALIDATOR
    _WORKER_VALIDATOR = UtteranceValidator(config)


def _validate_in_worker(item: Tuple[str, str, str]) -> UtteranceResult:
    return _WORKER_VALIDATOR(*item)


def _validate_all(
    items: Sequence[Tuple[str, str, str]], config: ValidationConfig, nj: int
) -> Iterator[UtteranceResult]:
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


def trim_report(name: str, trims: Dict[str, Tuple[float, float, float]]) -> str:
    """Lines summarising the silence trimmed from one set's utterances (``trims``: utt -> kept span)."""
    if not trims:
        return f"{name}: nothing trimmed (no utterance kept)"
    utts = sorted(trims)
    start = np.array([trims[u][0] for u in utts])
    end = np.array([trims[u][1] for u in utts])
    total = np.array([trims[u][2] for u in utts])
    lead, trail = start, total - end
    before, after = total.sum(), (end - start).sum()

    def stats(values: np.ndarray) -> str:
        worst = int(np.argmax(values))
        return (
            f"median {np.median(values):.2f} s, 90th percentile {np.percentile(values, 90):.2f} s, "
            f"largest {values[worst]:.2f} s ({utts[worst]})"
        )

    return "\n".join(
        [
            f"{name}: {len(utts)} utterances, {before / 60:.2f} min -> {after / 60:.2f} min of audio "
            f"({(before - after) / max(before, 1e-9):.1%} trimmed)",
            f"  leading silence removed: {stats(lead)}",
            f"  trailing silence removed: {stats(trail)}",
        ]
    )


def format_data_dir(
    in_dir: Path,
    out_dir: Path,
    config: ValidationConfig,
    on_error: str = "drop",
    nj: int = 1,
) -> Dict[str, str]:
    """Validate ``in_dir`` and write the clean data dir; return ``{dropped utt: reason}``.

    Raises SystemExit on the first problem with ``on_error="stop"``, or when nothing survives.
    """
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    for name in ("wav.scp", "text", "utt2spk"):
        if not (in_dir / name).is_file():
            raise SystemExit(f"format_data: {in_dir / name} does not exist")
    wav_scp = read_kaldi_map(in_dir / "wav.scp")
    text = read_kaldi_map(in_dir / "text")
    utt2spk = read_kaldi_map(in_dir / "utt2spk")
    if config.trim is not None:
        if config.wav_dir is None:
            config = replace(config, wav_dir=out_dir / "data")
        Path(config.wav_dir).mkdir(parents=True, exist_ok=True)

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
        if not wav_path.endswith("|"):  # Kaldi pipes are rejected by load_audio
            wav_path = os.path.abspath(wav_path)
        items.append((utt, wav_path, text[utt]))

    utt2num_samples: Dict[str, int] = {}
    new_wav_scp: Dict[str, str] = {}
    trims: Dict[str, Tuple[float, float, float]] = {}
    warnings: List[Tuple[str, str, str]] = []
    unusual: Dict[str, List[str]] = {}  # character -> utterances
    results = _validate_all(items, config, nj)
    try:
        for (utt, wav_path, _), result in zip(
            items, tqdm(results, total=len(items), desc=f"validate {in_dir}", unit="utt")
        ):
            assert utt == result.utt
            if result.reason is None:
                utt2num_samples[utt] = result.num_samples
                new_wav_scp[utt] = result.wav_path
                if result.trim is not None:
                    trims[utt] = result.trim
                for kind, details in result.warnings:
                    logging.warning(f"{utt}: {kind}: {details}")
                    warnings.append((utt, kind, details))
                continue
            if on_error == "stop":
                raise SystemExit(f"format_data: {result.reason}: {result.message}")
            logging.warning(f"dropped ({result.reason}) {result.message}")
            dropped[utt] = result.reason
            for ch in result.characters:
                unusual.setdefault(ch, []).append(utt)
    finally:
        results.close()  # stops the worker pool when leaving early

    if unusual:
        for ch, utts in sorted(unusual.items()):
            logging.warning(
                f"unusual character {describe_character(ch)} in {len(utts)} transcript(s) of {in_dir}, "
                f"dropped: {', '.join(utts)}"
            )
    if dropped:
        counts = Counter(dropped.values())
        logging.warning(
            f"Dropped {len(dropped)} of {len(set(text) | set(wav_scp) | set(utt2spk))} "
            f"utterances: " + ", ".join(f"{r}={n}" for r, n in sorted(counts.items()))
        )
    if not utt2num_samples:
        write_dropped(out_dir, dropped)
        if not dropped:
            raise SystemExit(f"format_data: {in_dir} has no utterances")
        raise SystemExit(
            f"format_data: no utterance of {in_dir} passed validation "
            f"(see {out_dir / 'dropped'} and the warnings above)"
        )

    kept = sorted(utt2num_samples)
    no_final = [u for u in kept if lacks_final_punctuation(text[u])]
    if len(no_final) > len(kept) / 2:
        details = (
            f"{len(no_final)} of {len(kept)} transcripts of {in_dir} end without sentence-final "
            f"punctuation (. ? !), e.g. {', '.join(no_final[:5])}: sentence types (statement or "
            "question) cannot be told from their text, so stage two's context features and the "
            "sentence-type plots take questions for statements; add the punctuation if you can"
        )
        logging.warning(details)
        warnings.append(("*", "no_final_punctuation", details))
    write_data_dir(
        out_dir,
        wav_scp=new_wav_scp,
        text={u: text[u] for u in kept},
        utt2spk={u: utt2spk[u] for u in kept},
    )
    write_kaldi_map(out_dir / "utt2num_samples", utt2num_samples)
    write_dropped(out_dir, dropped)
    with open(out_dir / "warnings", "w", encoding="utf-8") as f:
        for utt, kind, details in warnings:
            f.write(f"{utt}\t{kind}\t{details}\n")
    silent = [u for u, kind, _ in warnings if kind == "silent_share"]
    if silent:
        logging.warning(
            f"{len(silent)} utterances of {in_dir} are more than {config.max_silence_share:.0%} silence "
            f"(listed in {out_dir / 'warnings'}): {', '.join(silent[:20])}{' ...' if len(silent) > 20 else ''}"
        )
    for name in ("wav.orig.scp", "trim", "trim_report"):
        (out_dir / name).unlink(missing_ok=True)
    if config.trim is not None:
        write_kaldi_map(out_dir / "wav.orig.scp", {u: os.path.abspath(wav_scp[u]) for u in kept})
        write_kaldi_map(out_dir / "trim", {u: "{:.4f} {:.4f} {:.4f}".format(*trims[u]) for u in kept})
        report = trim_report(str(in_dir), trims)
        (out_dir / "trim_report").write_text(report + "\n", encoding="utf-8")
        for line in report.splitlines():
            logging.info(line)
    logging.info(f"Wrote {out_dir}: {len(kept)} utterances kept, {len(dropped)} dropped")
    return dropped
