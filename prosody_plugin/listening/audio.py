"""Stimulus preparation for listening tests: read, resample, low-pass anchor, level-align, pad, write.

Waveforms are 1-D float64 in [-1, 1]. Levels are gated active-speech levels (in the spirit of
ITU-T P.56), aligned per trial as BS.1534-3 asks; docs/listening_tests.md (The MUSHRA test).
"""

from math import gcd
from pathlib import Path
from typing import Dict, Tuple, Union

import numpy as np
import soundfile as sf
from scipy import signal

PathLike = Union[str, Path]

#: BS.1534-3's low anchor: the reference low-passed at 3.5 kHz.
ANCHOR_CUTOFF_HZ = 3500.0
#: Level the stimuli are aligned to (dBFS of the active speech; ITU-T P.56's usual -26).
DEFAULT_LEVEL_DBFS = -26.0
#: The loudest sample a stimulus may have after level alignment.
PEAK_LIMIT = 0.99


def read_mono(path: PathLike, what: str = "") -> Tuple[np.ndarray, int]:
    """A wav file as a mono float64 waveform (channels averaged) and its rate.

    Raises:
        FileNotFoundError: the file is missing (``what`` names the system and utterance).
        ValueError: the file cannot be decoded, is empty or silent.
    """
    label = f"{what}: " if what else ""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{label}{path} is missing")
    try:
        wav, rate = sf.read(path, dtype="float64", always_2d=True)
    except (RuntimeError, OSError) as e:  # soundfile's LibsndfileError is a RuntimeError
        raise ValueError(f"{label}cannot read {path}: {e}") from e
    wav = wav.mean(axis=1)
    if wav.size == 0 or not np.any(np.abs(wav) > 0):
        raise ValueError(f"{label}{path} is empty or silent")
    return wav, int(rate)


def resample(wav: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample ``wav`` (T_in,) from ``rate_in`` to ``rate_out`` Hz -> (ceil(T_in * out / in),)."""
    if rate_in == rate_out:
        return np.asarray(wav, dtype=np.float64)
    g = gcd(int(rate_in), int(rate_out))
    return signal.resample_poly(np.asarray(wav, dtype=np.float64), int(rate_out) // g, int(rate_in) // g)


def lowpass_anchor(
    wav: np.ndarray, fs: int, cutoff_hz: float = ANCHOR_CUTOFF_HZ, order: int = 8
) -> np.ndarray:
    """The low-pass anchor of ``wav`` (T,): zero-phase Butterworth (``sosfiltfilt``), -6 dB at ``cutoff_hz``, aligned with the reference."""
    if not 0 < cutoff_hz < fs / 2:
        raise ValueError(
            f"the anchor's cutoff {cutoff_hz} Hz must be below the Nyquist frequency {fs / 2} Hz"
        )
    sos = signal.butter(order, cutoff_hz, btype="lowpass", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, np.asarray(wav, dtype=np.float64))


def active_level_db(wav: np.ndarray, fs: int, frame_s: float = 0.02, gate_db: float = 40.0) -> float:
    """Active speech level (dBFS) of ``wav`` (T,): RMS over the frames within ``gate_db`` of the loudest."""
    frame = max(1, int(round(frame_s * fs)))
    n = max(1, len(wav) // frame)
    frames = (
        np.asarray(wav[: n * frame], dtype=np.float64).reshape(n, -1)
        if len(wav) >= frame
        else np.asarray(wav)[None]
    )
    power = np.mean(frames**2, axis=1)
    if not np.any(power > 0):
        raise ValueError("silent waveform: no active level")
    gate = power.max() * 10 ** (-gate_db / 10)
    return float(10 * np.log10(np.mean(power[power >= gate])))


def align_levels(
    wavs: Dict[str, np.ndarray], fs: int, level_dbfs: float = DEFAULT_LEVEL_DBFS
) -> Tuple[Dict[str, np.ndarray], float]:
    """Scale every waveform to the same active level; returns them and the level (dBFS) used.

    Args:
        wavs: name -> waveform (T_name,) at ``fs``.
        level_dbfs: Target level; lowered for all when a stimulus would peak above :data:`PEAK_LIMIT`.
    """
    levels = {name: active_level_db(wav, fs) for name, wav in wavs.items()}
    peaks = {
        name: float(np.max(np.abs(wav))) * 10 ** ((level_dbfs - levels[name]) / 20)
        for name, wav in wavs.items()
    }
    target = level_dbfs
    loudest = max(peaks.values())
    if loudest > PEAK_LIMIT:
        target = level_dbfs + 20 * np.log10(PEAK_LIMIT / loudest)
    scaled = {name: wav * 10 ** ((target - levels[name]) / 20) for name, wav in wavs.items()}
    return scaled, float(target)


def pad_to(wav: np.ndarray, length: int) -> np.ndarray:
    """``wav`` (T,) followed by silence up to ``length`` samples (T <= length)."""
    if len(wav) > length:
        raise ValueError(f"cannot pad {len(wav)} samples to {length}")
    return np.concatenate([wav, np.zeros(length - len(wav))])


def write_wav(path: PathLike, wav: np.ndarray, fs: int) -> None:
    """Write 16-bit PCM mono (the format every browser and webMUSHRA plays)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(wav, -1.0, 1.0), fs, subtype="PCM_16")


__all__ = [
    "ANCHOR_CUTOFF_HZ",
    "DEFAULT_LEVEL_DBFS",
    "PEAK_LIMIT",
    "active_level_db",
    "align_levels",
    "lowpass_anchor",
    "pad_to",
    "read_mono",
    "resample",
    "write_wav",
]
