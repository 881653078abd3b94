"""A corpus with known speech spans, generated with espeak-ng (real, if robotic, speech).

Each utterance is espeak-ng speech (Debian's espeak-ng, as the G2P uses) at a low pitch,
resampled to the corpus rate, with ``pad_s`` seconds of low-level white noise before and
after and the same noise under the whole recording, as a studio corpus has. A ``|`` in a
sentence is a pause: espeak-ng reads the sentence as SSML with ``<break time="...ms"/>``
there, so the recording has a real silence between two words that the transcript (written
without the ``|``) does not mark.

The ground truth comes from espeak-ng's own output before padding and noise, where silence
is digital: speech starts at the first and ends at the last sample above -60 dB re the
peak, and a pause is a stretch of at least 150 ms below that level.
"""

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import librosa
import numpy as np
import soundfile as sf

# 36 prompts: statements, questions, lists, commas, and 12 with a pause at a plain word
# boundary (no punctuation there), where only the audio tells the aligner about it.
SENTENCES: Tuple[str, ...] = (
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


def espeak(text: str, voice: str = "en-us", pitch: int = 20, break_ms: int = 500) -> Tuple[np.ndarray, int]:
    """espeak-ng's waveform of ``text`` (``|`` = an SSML break of ``break_ms``) and its rate."""
    ssml = "<speak>" + text.replace("|", f'<break time="{break_ms}ms"/>') + "</speak>"
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(["espeak-ng", "-m", "-v", voice, "-p", str(pitch), "-w", f.name, ssml], check=True)
        wav, rate = sf.read(f.name, dtype="float64")
    return wav, rate


def speech_regions(wav: np.ndarray, fs: int, min_pause_s: float = 0.15) -> Tuple[int, int, List[Tuple[int, int]]]:
    """Speech start and end and the inner pauses (sample indices) of espeak-ng's clean output."""
    loud = np.abs(wav) > 1e-3 * np.abs(wav).max()
    idx = np.flatnonzero(loud)
    start, end = int(idx[0]), int(idx[-1]) + 1
    pauses = []
    gaps = np.flatnonzero(np.diff(idx) > min_pause_s * fs)
    for g in gaps:
        pauses.append((int(idx[g]) + 1, int(idx[g + 1])))
    return start, end, pauses


def make_corpus(
    root: Path,
    sentences: Sequence[str] = SENTENCES,
    fs: int = 16000,
    pitch: int = 20,
    pad_s: float = 1.0,
    noise_db: float = -50.0,
    voice: str = "en-us",
    seed: int = 0,
) -> Dict[str, Utterance]:
    """Write ``root/wav/<utt>.wav`` and ``root/txt/<utt>.txt`` (one transcript each).

    Args:
        root: Output folder.
        sentences: Prompts (``|`` marks a pause, removed from the transcript).
        fs: Sampling rate of the written wavs, Hz.
        pitch: espeak-ng's pitch (``-p``, 0-99; 50 is its default, 20 a low male voice).
        pad_s: Noise before and after the speech, seconds.
        noise_db: RMS of the noise in dB re the RMS of the loudest 32 ms of speech.
        voice: espeak-ng voice.
        seed: Seed of the noise.

    Returns:
        utt id -> :class:`Utterance` (times in the written wav, after padding).
    """
    rng = np.random.default_rng(seed)
    (root / "wav").mkdir(parents=True, exist_ok=True)
    (root / "txt").mkdir(parents=True, exist_ok=True)
    corpus = {}
    for i, sentence in enumerate(sentences):
        utt = f"spk1_{i:03d}"
        raw, rate = espeak(sentence, voice=voice, pitch=pitch)
        start, end, pauses = speech_regions(raw, rate)
        # only the speech, resampled; the truth in seconds does not depend on the rate
        speech = librosa.resample(raw[start:end], orig_sr=rate, target_sr=fs)
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
            utt=utt, text=text, wav=path,
            speech_start=pad_s, speech_end=pad_s + (end - start) / rate,
            pauses=[(pad_s + (s - start) / rate, pad_s + (e - start) / rate) for s, e in pauses],
        )  # fmt: skip
    return corpus
