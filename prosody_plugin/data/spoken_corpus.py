"""A small real-audio corpus in LJSpeech's layout, spoken by espeak-ng.

The test suite and the CI recipe (``egs2/mini_ljspeech/prosody1``) run on
``ljspeech_mini``: 32 LJSpeech utterances kept outside the repository. Where that corpus
is absent, :func:`speak_ljspeech_style_corpus` writes a stand-in with the same layout and
the same utterance ids, so every stage still runs on real (if robotic) speech:

- ``wavs/<id>.wav``: mono 16-bit PCM at ``sample_rate`` (22.05 kHz, LJSpeech's rate);
- ``metadata.csv``: ``id|transcript|normalized transcript``, one line per utterance;
- ``README.md``: where it comes from.

Each sentence is spoken by Debian's ``espeak-ng`` (the program behind the recipes' G2P) in
one US English voice, from its normalized transcript, with a speaking rate and pitch
taken in turn from two fixed lists of coprime lengths, so no two neighbours share both and
the prosody is not identical; the digital silence before and after is cut to a fixed pad
and a seeded noise floor 60 dB below the peak lies under the whole recording, as under a
studio recording. Everything is deterministic: the same sentences and options give the same
wavs (with the same espeak-ng release).

Command line: ``python -m prosody_plugin.data.spoken_corpus OUT_DIR``.
"""

import argparse
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Sequence, Tuple, Union

import numpy as np
import soundfile as sf

PathLike = Union[str, Path]
#: A sentence: its transcript, or (transcript, normalized transcript) where they differ
#: (digits and abbreviations in the transcript, the words spoken in the normalized one).
Sentence = Union[str, Tuple[str, str]]

# 32 sentences, as many as ljspeech_mini has utterances: statements, questions, an
# exclamation, lists, clauses set off by commas and a semicolon, numbers (as digits in the
# transcript and as words in the normalized column, as LJSpeech writes them) and an
# abbreviation. Plain words that espeak-ng and the G2P read the same way. The 2nd and 8th
# are short (about 2 s), as LJ001-0002 and LJ001-0008 are; the last 8 (dev and eval of the
# mini recipe) hold statements, questions and an exclamation.
DEFAULT_SENTENCES: Tuple[Sentence, ...] = (
    "The old printing press stood in the corner of the workshop, covered in dust and ink.",
    "The train was late again this morning.",
    "Before the age of machines, every letter was set by hand, one line at a time.",
    "Would you rather travel by train, by boat, or by plane?",
    "She bought apples, pears, oranges, and a small bunch of grapes at the market.",
    "The meeting starts at half past nine on Tuesday morning.",
    ("The library opened in 1905 and now holds 20,000 books.",
     "The library opened in nineteen oh five and now holds twenty thousand books."),
    "Nobody answered the phone.",
    "Have you ever wondered why the sea is salty?",
    "The committee, after a long debate, decided to postpone the vote until next spring.",
    "Please read the instructions carefully before you begin.",
    "Twenty-one students passed the exam, and three of them earned top marks.",
    "What a wonderful surprise!",
    "The river flows slowly through the valley; then it turns east toward the hills.",
    ("On July 4, 1776, the declaration was signed in Philadelphia.",
     "On July fourth, seventeen seventy-six, the declaration was signed in Philadelphia."),
    "Can you tell me how to get to the station from here?",
    "He said he would call back later, but he never did.",
    "Red, green, blue, and yellow are the colors of the flag.",
    "The recipe needs two eggs, one cup of flour, and a pinch of salt.",
    "Why would anyone leave the door open in the middle of winter?",
    "Where did you leave the keys?",
    "Quietly and carefully, the cat crept along the top of the garden wall.",
    "Did she really say that?",
    ("The tickets cost 15 dollars each, or 25 dollars for two.",
     "The tickets cost fifteen dollars each, or twenty-five dollars for two."),
    "Every evening the lights of the harbor come on one by one.",
    "Is the museum open on Sundays, or only during the week?",
    "They walked for hours through the forest, looking for the path home.",
    ("Mr. Brown, the new teacher, arrived on the first day of term.",
     "Mister Brown, the new teacher, arrived on the first day of term."),
    "Stop! Look both ways before you cross the road.",
    "The first printed books looked very much like handwritten ones.",
    "How many languages do you speak?",
    "At the end of the day, the workers packed their tools and went home in silence.",
)  # fmt: skip

#: espeak-ng's voice: US English with the variant ``shelby`` (a plain source: no echo, breath,
#: flutter or roughness, which the ``f1``-``f5`` variants add and which send WORLD's and
#: ESPnet's F0 trackers to octave errors). With PITCHES its F0 lies at about 125-250 Hz
#: (median 190 Hz, LJSpeech's speaker: 195 Hz), inside the 80-400 Hz range of the tests.
VOICE = "en-us+shelby"
#: Speaking rates (``-s``, words per minute; espeak-ng's default is 175) and pitches (``-p``,
#: 0-99; default 50), taken in turn: sentence i gets RATES[i % 7] and PITCHES[i % 5].
RATES = (150, 165, 180, 140, 170, 155, 185)
PITCHES = (55, 65, 45, 75, 60)
#: espeak-ng's output rate (Hz).
ESPEAK_RATE = 22050
#: Bumped whenever the output for the same options changes (part of the completion stamp).
FORMAT_VERSION = 1
STAMP = ".complete.json"

log = logging.getLogger(__name__)


def sentence_texts(sentence: Sentence) -> Tuple[str, str]:
    """(transcript, normalized transcript) of a sentence."""
    if isinstance(sentence, str):
        return sentence, sentence
    transcript, normalized = sentence
    return transcript, normalized


def utterance_ids(num: int, prefix: str = "LJ001-", first: int = 1) -> List[str]:
    """``LJ001-0001``, ``LJ001-0002``, ...: ljspeech_mini's ids, so tests name the same files."""
    return [f"{prefix}{first + i:04d}" for i in range(num)]


def espeak_ng_version() -> str:
    """``espeak-ng --version``'s first line (raises FileNotFoundError when it is missing)."""
    if shutil.which("espeak-ng") is None:
        raise FileNotFoundError(
            "espeak-ng is not installed (Debian: apt-get install espeak-ng, or tools/install_system_deps.sh)"
        )
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=False)
    lines = out.stdout.strip().splitlines()
    # "eSpeak NG text-to-speech: 1.51  Data at: /usr/lib/..." -> "eSpeak NG text-to-speech: 1.51"
    return lines[0].split("  Data at:")[0].strip() if lines else "espeak-ng (unknown version)"


def espeak_ng_wav(text: str, voice: str = VOICE, rate: int = 175, pitch: int = 50) -> Tuple[np.ndarray, int]:
    """espeak-ng's waveform of ``text`` (float64 in [-1, 1]) and its sampling rate.

    The text goes through stdin as plain UTF-8 text (no SSML, no option parsing of a
    leading ``-``). Raises RuntimeError naming the text when espeak-ng fails or is silent.
    """
    if shutil.which("espeak-ng") is None:
        raise RuntimeError(
            f"cannot speak {text!r}: espeak-ng is not installed "
            "(Debian: apt-get install espeak-ng, or tools/install_system_deps.sh)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.wav"
        cmd = ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-b", "1", "-w", str(path), "--stdin"]
        proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, check=False)
        if proc.returncode != 0 or not path.is_file():
            stderr = proc.stderr.decode("utf-8", "replace").strip()
            raise RuntimeError(f"espeak-ng failed on {text!r} (exit {proc.returncode}): {stderr or 'no message'}")
        try:
            wav, fs = sf.read(path, dtype="float64", always_2d=True)
        except RuntimeError as e:
            raise RuntimeError(f"espeak-ng wrote no readable wav for {text!r}: {e}") from e
    wav = wav.mean(axis=1)
    if wav.size == 0 or np.abs(wav).max() < 1e-4:
        raise RuntimeError(f"espeak-ng wrote silence for {text!r}")
    return wav, int(fs)


def _speech_span(wav: np.ndarray, threshold: float = 1e-3) -> Tuple[int, int]:
    """First and one-past-last sample above ``threshold`` times the peak."""
    loud = np.flatnonzero(np.abs(wav) > threshold * np.abs(wav).max())
    return int(loud[0]), int(loud[-1]) + 1


def is_spoken_corpus(corpus_dir: PathLike) -> bool:
    """Whether ``corpus_dir`` was written by :func:`speak_ljspeech_style_corpus` (not recorded)."""
    return (Path(corpus_dir) / STAMP).is_file()


def _fingerprint(sentences: Sequence[Sentence], ids: Sequence[str], options: dict) -> str:
    data = json.dumps(
        dict(sentences=[sentence_texts(s) for s in sentences], ids=list(ids), options=options,
             format_version=FORMAT_VERSION),
        sort_keys=True,
    )  # fmt: skip
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _is_complete(out_dir: Path, fingerprint: str, ids: Sequence[str]) -> bool:
    try:
        stamp = json.loads((out_dir / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        stamp.get("fingerprint") == fingerprint
        and (out_dir / "metadata.csv").is_file()
        and all((out_dir / "wavs" / f"{utt}.wav").is_file() for utt in ids)
    )


README = """# A spoken stand-in for ljspeech_mini

{num} English sentences spoken by espeak-ng, written by `prosody_plugin.data.spoken_corpus`
where the real `ljspeech_mini` (32 LJSpeech utterances) is absent. It has that corpus's
layout and utterance ids, but it is synthetic speech, not LJSpeech.

- `wavs/<id>.wav`: mono 16-bit PCM at {sample_rate} Hz.
- `metadata.csv`: LJSpeech format, one line per utterance: `id|transcript|normalized transcript`
  (espeak-ng spoke the normalized transcript).

Speech: {version}, voice `{voice}`; speaking rates {rates} words per minute and pitches
{pitches} (`-s` and `-p`), taken in turn; {pad_s} s of pad at each end and a seeded noise
floor {noise_db:g} dB below the peak.
"""


def speak_ljspeech_style_corpus(
    out_dir: PathLike,
    sentences: Sequence[Sentence] = DEFAULT_SENTENCES,
    sample_rate: int = 22050,
    voice: str = VOICE,
    rates: Sequence[int] = RATES,
    pitches: Sequence[int] = PITCHES,
    id_prefix: str = "LJ001-",
    pad_s: float = 0.15,
    noise_db: float = -60.0,
    peak: float = 0.6,
    seed: int = 0,
) -> Path:
    """Speak ``sentences`` with espeak-ng into an LJSpeech-style corpus at ``out_dir``.

    Idempotent: a complete corpus written with the same sentences and options is reused as
    it is. The corpus is written into a temporary sibling dir and moved into place at the
    end, so ``out_dir`` never holds half a corpus.

    Args:
        out_dir: The corpus dir (created; it may exist if empty or a corpus written here).
        sentences: Transcripts, or (transcript, normalized transcript) pairs.
        sample_rate: Rate of the written wavs, Hz (espeak-ng speaks at 22050 Hz; any other
            rate is resampled).
        voice: espeak-ng voice (``-v``).
        rates: Speaking rates (``-s``, words per minute); sentence i gets ``rates[i % len]``.
        pitches: Pitches (``-p``, 0-99); sentence i gets ``pitches[i % len]``.
        id_prefix: Utterance ids are ``<id_prefix>0001``, ``<id_prefix>0002``, ...
        pad_s: Silence kept before and after the speech, seconds.
        noise_db: RMS of the noise floor in dB re the peak (``float("-inf")``: no noise).
        peak: Peak amplitude of the written wavs (before the noise).
        seed: Seed of the noise (utterance i uses ``(seed, i)``).

    Returns:
        ``out_dir``.

    Raises:
        RuntimeError: espeak-ng is missing, fails or is silent on a sentence (named).
        FileExistsError: ``out_dir`` holds files that are not a corpus written here.
    """
    out_dir = Path(out_dir)
    if not sentences:
        raise ValueError("no sentences to speak")
    if not rates or not pitches:
        raise ValueError("rates and pitches must not be empty")
    ids = utterance_ids(len(sentences), id_prefix)
    options = dict(sample_rate=sample_rate, voice=voice, rates=list(rates), pitches=list(pitches),
                   pad_s=pad_s, noise_db=noise_db, peak=peak, seed=seed)  # fmt: skip
    fingerprint = _fingerprint(sentences, ids, options)
    if _is_complete(out_dir, fingerprint, ids):
        log.info("Reusing the spoken corpus at %s", out_dir)
        return out_dir
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / STAMP).is_file():
        raise FileExistsError(f"{out_dir} is not empty and not a corpus written by speak_ljspeech_style_corpus")
    try:
        version = espeak_ng_version()
    except FileNotFoundError as e:
        raise RuntimeError(f"cannot speak {sentence_texts(sentences[0])[1]!r}: {e}") from e

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        (work / "wavs").mkdir()
        lines = []
        for i, (utt, sentence) in enumerate(zip(ids, sentences)):
            transcript, normalized = sentence_texts(sentence)
            for name, text in (("transcript", transcript), ("normalized transcript", normalized)):
                if not text.strip() or "|" in text or "\n" in text:
                    raise ValueError(f"sentence {i + 1} ({utt}): the {name} {text!r} is empty or has '|' or a newline")
            rate, pitch = rates[i % len(rates)], pitches[i % len(pitches)]
            try:
                wav, fs = espeak_ng_wav(normalized, voice=voice, rate=rate, pitch=pitch)
            except RuntimeError as e:
                raise RuntimeError(f"sentence {i + 1} ({utt}): {e}") from e
            start, end = _speech_span(wav)
            wav = wav[start:end]
            if fs != sample_rate:
                import librosa

                wav = librosa.resample(wav, orig_sr=fs, target_sr=sample_rate, res_type="soxr_hq")
            pad = int(round(pad_s * sample_rate))
            wav = np.concatenate([np.zeros(pad), peak * wav / np.abs(wav).max(), np.zeros(pad)])
            if np.isfinite(noise_db):
                rng = np.random.default_rng([seed, i])
                wav = wav + rng.standard_normal(wav.size) * peak * 10 ** (noise_db / 20)
            sf.write(work / "wavs" / f"{utt}.wav", np.clip(wav, -1, 1).astype(np.float32), sample_rate,
                     subtype="PCM_16")  # fmt: skip
            lines.append(f"{utt}|{transcript}|{normalized}\n")
        (work / "metadata.csv").write_text("".join(lines), encoding="utf-8")
        (work / "README.md").write_text(
            README.format(num=len(sentences), version=version, voice=voice, rates=", ".join(map(str, rates)),
                          pitches=", ".join(map(str, pitches)), sample_rate=sample_rate, pad_s=pad_s,
                          noise_db=noise_db),  # fmt: skip
            encoding="utf-8",
        )
        stamp = dict(fingerprint=fingerprint, espeak_ng=version, options=options, num_utterances=len(ids))
        (work / STAMP).write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")
        os.chmod(work, 0o755)
        if out_dir.exists():
            if (out_dir / STAMP).is_file():  # an older corpus of ours (other sentences or options)
                shutil.rmtree(out_dir)
            else:
                out_dir.rmdir()  # empty (checked above)
        try:
            os.replace(work, out_dir)
        except OSError:
            # another process wrote the same corpus meanwhile
            if not _is_complete(out_dir, fingerprint, ids):
                raise
    finally:
        if work.exists():
            shutil.rmtree(work)
    log.info("Spoke %d sentences with espeak-ng into %s", len(ids), out_dir)
    return out_dir


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Speak a small LJSpeech-style corpus with espeak-ng (a stand-in for ljspeech_mini)."
    )
    parser.add_argument("out_dir", type=Path, help="corpus dir (wavs/, metadata.csv, README.md)")
    parser.add_argument("--sample_rate", type=int, default=22050)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        out = speak_ljspeech_style_corpus(args.out_dir, sample_rate=args.sample_rate)
    except (RuntimeError, FileExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
