"""Leading and trailing silence of recordings: where speech starts and ends, and trimming.

The same energy-threshold trimming as ESPnet's ``scripts/audio/trim_silence.sh``
(``librosa.effects.trim``), on audio in memory; frame sizes in ms serve every sampling rate.
Why: docs/own_corpus.md (Silence).
"""

from dataclasses import dataclass
from typing import Tuple

import librosa
import numpy as np


@dataclass
class TrimConfig:
    """How silence is found and how much of it is kept.

    Attributes:
        threshold_db: Frames more than this many dB below the loudest frame are silence.
        margin_ms: Silence kept before the first and after the last non-silent frame, ms.
        frame_ms: Analysis frame (window) length, ms.
        hop_ms: Analysis frame shift, ms.
    """

    threshold_db: float = 35.0
    margin_ms: float = 50.0
    frame_ms: float = 32.0
    hop_ms: float = 8.0

    def __post_init__(self):
        if self.threshold_db <= 0:
            raise ValueError(f"threshold_db must be positive, got {self.threshold_db}")
        if self.margin_ms < 0:
            raise ValueError(f"margin_ms must be >= 0, got {self.margin_ms}")
        if self.frame_ms <= 0 or self.hop_ms <= 0:
            raise ValueError(f"frame_ms and hop_ms must be positive, got {self.frame_ms}, {self.hop_ms}")

    def frames(self, fs: int) -> Tuple[int, int]:
        """(frame_length, hop_length) in samples at ``fs``."""
        frame_length = max(2, int(round(self.frame_ms * fs / 1000.0)))
        hop_length = max(1, int(round(self.hop_ms * fs / 1000.0)))
        return frame_length, min(hop_length, frame_length)


def _as_mono(wav: np.ndarray) -> np.ndarray:
    x = np.asarray(wav, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D waveform, got shape {x.shape}")
    return x


def frame_levels_db(wav: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """RMS level of every centred frame in dB re the loudest frame, as ESPnet's STFT counts frames.

    Args:
        wav: (num_samples,) waveform.
        frame_length: Window length in samples.
        hop_length: Frame shift in samples.

    Returns:
        (num_samples // hop_length + 1,) levels in dB, <= 0, floored at -200 (all -200 for
        an all-zero waveform).
    """
    x = _as_mono(wav)
    rms = librosa.feature.rms(
        y=x, frame_length=frame_length, hop_length=hop_length, center=True, pad_mode="constant"
    )[0]
    peak = float(rms.max()) if rms.size else 0.0
    if peak <= 0:
        return np.full(rms.shape, -200.0)
    return np.maximum(20.0 * np.log10(np.maximum(rms, 1e-12) / peak), -200.0)


def speech_span(wav: np.ndarray, fs: int, config: TrimConfig) -> Tuple[int, int]:
    """First and last non-silent sample, ``[start, end)``, by ``librosa.effects.trim``.

    Frame-accurate, erring on the side of speech (up to half a frame each side).

    Args:
        wav: (num_samples,) waveform.
        fs: Sampling rate in Hz.
        config: Threshold and frame sizes.

    Returns:
        (start, end) sample indices; ``(0, 0)`` for an empty or all-zero waveform.
    """
    x = _as_mono(wav)
    if x.size == 0 or not np.any(x):
        return 0, 0
    frame_length, hop_length = config.frames(fs)
    _, (start, end) = librosa.effects.trim(
        x, top_db=config.threshold_db, frame_length=frame_length, hop_length=hop_length
    )
    return int(start), int(end)


def trim_span(wav: np.ndarray, fs: int, config: TrimConfig) -> Tuple[int, int]:
    """The (start, end) samples of ``wav`` to keep: :func:`speech_span` widened by ``margin_ms`` (all of an all-zero wav)."""
    x = _as_mono(wav)
    start, end = speech_span(x, fs, config)
    if end <= start:
        return 0, int(x.size)
    margin = int(round(config.margin_ms * fs / 1000.0))
    return max(0, start - margin), min(int(x.size), end + margin)


def silent_share(wav: np.ndarray, fs: int, config: TrimConfig) -> float:
    """Share of the frames of ``wav`` that are silence, in [0, 1] (1.0 for an empty or all-zero wav)."""
    x = _as_mono(wav)
    if x.size == 0 or not np.any(x):
        return 1.0
    levels = frame_levels_db(x, *config.frames(fs))
    return float(np.mean(levels < -config.threshold_db))


__all__ = ["TrimConfig", "frame_levels_db", "silent_share", "speech_span", "trim_span"]
