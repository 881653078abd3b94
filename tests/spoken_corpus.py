"""Small real-audio corpora spoken by espeak-ng, for the tests (one generator, two layouts).

- :func:`speak_ljspeech_style_corpus`: the stand-in for ``ljspeech_mini`` (32 LJSpeech
  utterances kept outside the repository, which CI always has): the same layout
  (``wavs/<id>.wav`` at 22.05 kHz, ``metadata.csv`` ``id|transcript|normalized transcript``,
  ``README.md``) and the same ids, so every test and the mini recipe run on real (if robotic)
  speech where the corpus is absent. Each sentence gets a speaking rate and pitch in turn from
  two lists of coprime lengths; the digital silence around it is cut to a fixed pad and a
  seeded noise floor 60 dB below the peak lies under the recording.
- :func:`speak_corpus_with_pauses`: a ``wav_txt`` corpus (``wav/<utt>.wav`` at 16 kHz,
  ``txt/<utt>.txt``) whose speech spans and pauses are known: a low voice, a second of noise
  before and after, and SSML breaks between some words that the transcripts do not mark.

Both are deterministic for one espeak-ng release. Command line (the stand-in, e.g. for
``egs2/mini_ljspeech/prosody1`` without the corpus): ``python tests/spoken_corpus.py OUT_DIR``.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

import librosa
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
    (
        "The library opened in 1905 and now holds 20,000 books.",
        "The library opened in nineteen oh five and now holds twenty thousand books.",
    ),
    "Nobody answered the phone.",
    "Have you ever wondered why the sea is salty?",
    "The committee, after a long debate, decided to postpone the vote until next spring.",
    "Please read the instructions carefully before you begin.",
    "Twenty-one students passed the exam, and three of them earned top marks.",
    "What a wonderful surprise!",
    "The river flows slowly through the valley; then it turns east toward the hills.",
    (
        "On July 4, 1776, the declaration was signed in Philadelphia.",
        "On July fourth, seventeen seventy-six, the declaration was signed in Philadelphia.",
    ),
    "Can you tell me how to get to the station from here?",
    "He said he would call back later, but he never did.",
    "Red, green, blue, and yellow are the colors of the flag.",
    "The recipe needs two eggs, one cup of flour, and a pinch of salt.",
    "Why would anyone leave the door open in the middle of winter?",
    "Where did you leave the keys?",
    "Quietly and carefully, the cat crept along the top of the garden wall.",
    "Did she really say that?",
    (
        "The tickets cost 15 dollars each, or 25 dollars for two.",
        "The tickets cost fifteen dollars each, or twenty-five dollars for two.",
    ),
    "Every evening the lights of the harbor come on one by one.",
    "Is the museum open on Sundays, or only during the week?",
    "They walked for hours through the forest, looking for the path home.",
    (
        "Mr. Brown, the new teacher, arrived on the first day of term.",
        "Mister Brown, the new teacher, arrived on the first day of term.",
    ),
    "Stop! Look both ways before you cross the road.",
    "The first printed books looked very much like handwritten ones.",
    "How many languages do you speak?",
    "At the end of the day, the workers packed their tools and went home in silence.",
)

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


def espeak_ng_wav(
    text: str, voice: str = VOICE, rate: int = 175, pitch: int = 50, ssml: bool = False
) -> Tuple[np.ndarray, int]:
    """espeak-ng's waveform of ``text`` (float64 in [-1, 1]) and its sampling rate.

    The text goes through stdin as UTF-8 (no option parsing of a leading ``-``), read as SSML
    with ``ssml``. Raises RuntimeError naming the text when espeak-ng fails or is silent.
    """
    if shutil.which("espeak-ng") is None:
        raise RuntimeError(
            f"cannot speak {text!r}: espeak-ng is not installed "
            "(Debian: apt-get install espeak-ng, or tools/install_system_deps.sh)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.wav"
        cmd = [
            "espeak-ng",
            *(["-m"] if ssml else []),
            "-v",
            voice,
            "-s",
            str(rate),
            "-p",
            str(pitch),
            "-b",
            "1",
        ]
        cmd += ["-w", str(path), "--stdin"]
        proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, check=False)
        if proc.returncode != 0 or not path.is_file():
            stderr = proc.stderr.decode("utf-8", "replace").strip()
            raise RuntimeError(
                f"espeak-ng failed on {text!r} (exit {proc.returncode}): {stderr or 'no message'}"
            )
        try:
            wav, fs = sf.read(path, dtype="float64", always_2d=True)
        except RuntimeError as e:
            raise RuntimeError(f"espeak-ng wrote no readable wav for {text!r}: {e}") from e
    wav = wav.mean(axis=1)
    if wav.size == 0 or np.abs(wav).max() < 1e-4:
        raise RuntimeError(f"espeak-ng wrote silence for {text!r}")
    return wav, int(fs)


def speech_regions(
    wav: np.ndarray, fs: int, min_pause_s: float = 0.15
) -> Tuple[int, int, List[Tuple[int, int]]]:
    """Speech start and end and the inner pauses (sample indices) of espeak-ng's clean output.

    Speech is every sample above -60 dB re the peak (espeak-ng's silence is digital); a
    pause is a stretch of at least ``min_pause_s`` below that level.
    """
    idx = np.flatnonzero(np.abs(wav) > 1e-3 * np.abs(wav).max())
    gaps = np.flatnonzero(np.diff(idx) > min_pause_s * fs)
    return int(idx[0]), int(idx[-1]) + 1, [(int(idx[g]) + 1, int(idx[g + 1])) for g in gaps]


def resample(wav: np.ndarray, fs: int, target_fs: int) -> np.ndarray:
    """``wav`` at ``target_fs`` (librosa's soxr_hq; unchanged when the rates agree)."""
    if fs == target_fs:
        return wav
    return librosa.resample(wav, orig_sr=fs, target_sr=target_fs, res_type="soxr_hq")


def is_spoken_corpus(corpus_dir: PathLike) -> bool:
    """Whether ``corpus_dir`` was written by :func:`speak_ljspeech_style_corpus` (not recorded)."""
    return (Path(corpus_dir) / STAMP).is_file()


def _fingerprint(sentences: Sequence[Sentence], ids: Sequence[str], options: dict) -> str:
    data = json.dumps(
        dict(
            sentences=[sentence_texts(s) for s in sentences],
            ids=list(ids),
            options=options,
            format_version=FORMAT_VERSION,
        ),
        sort_keys=True,
    )
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

{num} English sentences spoken by espeak-ng, written by the repository's `tests/spoken_corpus.py`
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
    options = dict(
        sample_rate=sample_rate,
        voice=voice,
        rates=list(rates),
        pitches=list(pitches),
        pad_s=pad_s,
        noise_db=noise_db,
        peak=peak,
        seed=seed,
    )
    fingerprint = _fingerprint(sentences, ids, options)
    if _is_complete(out_dir, fingerprint, ids):
        log.info("Reusing the spoken corpus at %s", out_dir)
        return out_dir
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / STAMP).is_file():
        raise FileExistsError(
            f"{out_dir} is not empty and not a corpus written by speak_ljspeech_style_corpus"
        )
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
                    raise ValueError(
                        f"sentence {i + 1} ({utt}): the {name} {text!r} is empty or has '|' or a newline"
                    )
            rate, pitch = rates[i % len(rates)], pitches[i % len(pitches)]
            try:
                wav, fs = espeak_ng_wav(normalized, voice=voice, rate=rate, pitch=pitch)
            except RuntimeError as e:
                raise RuntimeError(f"sentence {i + 1} ({utt}): {e}") from e
            start, end, _ = speech_regions(wav, fs)
            wav = resample(wav[start:end], fs, sample_rate)
            pad = int(round(pad_s * sample_rate))
            wav = np.concatenate([np.zeros(pad), peak * wav / np.abs(wav).max(), np.zeros(pad)])
            if np.isfinite(noise_db):
                rng = np.random.default_rng([seed, i])
                wav = wav + rng.standard_normal(wav.size) * peak * 10 ** (noise_db / 20)
            sf.write(
                work / "wavs" / f"{utt}.wav",
                np.clip(wav, -1, 1).astype(np.float32),
                sample_rate,
                subtype="PCM_16",
            )
            lines.append(f"{utt}|{transcript}|{normalized}\n")
        (work / "metadata.csv").write_text("".join(lines), encoding="utf-8")
        (work / "README.md").write_text(
            README.format(
                num=len(sentences),
                version=version,
                voice=voice,
                rates=", ".join(map(str, rates)),
                pitches=", ".join(map(str, pitches)),
                sample_rate=sample_rate,
                pad_s=pad_s,
                noise_db=noise_db,
            ),
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


# 36 prompts: statements, questions, lists, commas, and 12 with a pause at a plain word
# boundary (no punctuation there), where only the audio tells the aligner about it.
PAUSE_SENTENCES: Tuple[str, ...] = (
    "Please enter your agent number, then press the pound key.",
    "The quick brown fox | jumps over the lazy dog.",
    "Is this the right number for customer service?",
    "Your call is important to us.",
    "We could not find that extension | please try again.",
    "Press one for sales, two for support, or three for billing.",
    "Thank you for calling | goodbye.",
    "Would you like to leave a message?",
    "The meeting has been moved to Thursday afternoon.",
    "All of our agents are busy | please stay on the line.",
    "Did you remember to lock the back door?",
    "She sells sea shells by the sea shore.",
    "You have three new messages | and one saved message.",
    "The conference will begin when the leader arrives.",
    "How many people are in the room right now?",
    "After the tone | record your name and press the star key.",
    "The weather today is cold, windy and wet.",
    "Can you hear me clearly over this line?",
    "This call may be recorded | for quality purposes.",
    "Every morning he walks the dog along the river.",
    "Are you ready to place your order now?",
    "The office is closed on public holidays.",
    "To return to the main menu | press zero.",
    "Where did you put the keys to the car?",
    "Our opening hours are nine to five on weekdays.",
    "Your account balance | is forty two dollars.",
    "Please hold while we transfer your call.",
    "Have you ever seen a whale in the ocean?",
    "The train to the city leaves at noon.",
    "Goodbye for now | and have a nice day.",
    "Music helps many people relax after work.",
    "Why is the sky blue in the middle of the day?",
    "The number you have dialed | is not in service.",
    "Good morning and welcome to the support line.",
    "Could you repeat that more slowly please?",
    "We will call you back | within one hour.",
)


@dataclass
class Utterance:
    """One generated recording and where its speech is (seconds in the written wav)."""

    utt: str
    text: str
    wav: Path
    speech_start: float
    speech_end: float
    pauses: List[Tuple[float, float]] = field(default_factory=list)


def speak_corpus_with_pauses(
    root: Path,
    sentences: Sequence[str] = PAUSE_SENTENCES,
    fs: int = 16000,
    pitch: int = 20,
    pad_s: float = 1.0,
    noise_db: float = -50.0,
    voice: str = "en-us",
    seed: int = 0,
    break_ms: int = 500,
) -> Dict[str, Utterance]:
    """Write ``root/wav/<utt>.wav`` and ``root/txt/<utt>.txt`` (one transcript each).

    Args:
        root: Output folder.
        sentences: Prompts (``|`` marks a pause of ``break_ms``, removed from the transcript).
        fs: Sampling rate of the written wavs, Hz.
        pitch: espeak-ng's pitch (``-p``, 0-99; 50 is its default, 20 a low male voice).
        pad_s: Noise before and after the speech, seconds.
        noise_db: RMS of the noise in dB re the RMS of the loudest 32 ms of speech.
        voice: espeak-ng voice.
        seed: Seed of the noise.
        break_ms: Length of each pause (an SSML break), ms.

    Returns:
        utt id -> :class:`Utterance` (times in the written wav, after padding).
    """
    rng = np.random.default_rng(seed)
    (root / "wav").mkdir(parents=True, exist_ok=True)
    (root / "txt").mkdir(parents=True, exist_ok=True)
    corpus = {}
    for i, sentence in enumerate(sentences):
        utt = f"spk1_{i:03d}"
        ssml = "<speak>" + sentence.replace("|", f'<break time="{break_ms}ms"/>') + "</speak>"
        raw, rate = espeak_ng_wav(ssml, voice=voice, pitch=pitch, ssml=True)
        start, end, pauses = speech_regions(raw, rate)
        # only the speech, resampled; the truth in seconds does not depend on the rate
        speech = resample(raw[start:end], rate, fs)
        frame = int(0.032 * fs)
        frames = librosa.util.frame(np.pad(speech, (0, frame)), frame_length=frame, hop_length=frame // 4)
        peak_rms = float(np.sqrt((frames**2).mean(axis=0)).max())
        pad = int(round(pad_s * fs))
        wav = np.concatenate([np.zeros(pad), speech, np.zeros(pad)])
        wav = wav + rng.standard_normal(wav.size) * peak_rms * 10 ** (noise_db / 20)
        path = root / "wav" / f"{utt}.wav"
        sf.write(path, (0.5 * wav / np.abs(wav).max()).astype(np.float32), fs, subtype="PCM_16")
        text = " ".join(sentence.replace("|", " ").split())
        (root / "txt" / f"{utt}.txt").write_text(text + "\n", encoding="utf-8")
        corpus[utt] = Utterance(
            utt=utt,
            text=text,
            wav=path,
            speech_start=pad_s,
            speech_end=pad_s + (end - start) / rate,
            pauses=[(pad_s + (s - start) / rate, pad_s + (e - start) / rate) for s, e in pauses],
        )
    return corpus


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
