"""Leading and trailing silence of recordings: where speech starts and ends, and trimming.

Studio corpora often hold a second or more of silence before and after each prompt. The
aligner has no token for it, so it folds the leading silence into the first word and the
trailing silence into the last one, which corrupts training durations and word-level
scores. ESPnet's recipes for such corpora (e.g. ``egs2/vctk/tts1`` through
``scripts/audio/trim_silence.sh``) trim it with an energy threshold: frames quieter than
the loudest frame minus ``threshold_db`` are silence (``librosa.effects.trim``), and a
small margin is kept on each side. This module does the same, on the audio in memory:

* :func:`frame_levels_db`: the RMS level of every analysis frame, in dB re the loudest frame;
* :func:`speech_span`: the first and last non-silent sample (``librosa.effects.trim``);
* :func:`trim_span`: that span widened by the margins, clipped to the recording;
* :func:`silent_share`: the share of frames that are silence (after trimming: pauses).

Frame sizes are given in milliseconds so that one configuration serves every sampling
rate (32 ms frames every 8 ms by default: 512/128 samples at 16 kHz).
"""

from dataclasses import dataclass
from typing import Tuple

import librosa
import numpy as np


@dataclass
class TrimConfig:
    """How silence is found and how much of it is kept.

    Attributes:
        threshold_db: Frames more than this many dB below the loudest frame are silence
            (ESPnet's ``trim_silence.sh`` uses 35 dB).
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
    """RMS level of every frame in dB re the loudest frame (0 dB at the maximum).

    Frames are centred (frame ``k`` is centred on sample ``k * hop_length``, the audio is
    zero-padded at both ends), as ESPnet's STFT frontends count them: ``num_samples //
    hop_length + 1`` frames.

    Args:
        wav: (num_samples,) waveform.
        frame_length: Window length in samples.
        hop_length: Frame shift in samples.

    Returns:
        (num_samples // hop_length + 1,) levels in dB, <= 0; ``-inf``-free (floored at
        -200 dB); all -200 for an all-zero waveform.
    """
    x = _as_mono(wav)
    rms = librosa.feature.rms(y=x, frame_length=frame_length, hop_length=hop_length, center=True, pad_mode="constant")[0]
    peak = float(rms.max()) if rms.size else 0.0
    if peak <= 0:
        return np.full(rms.shape, -200.0)
    return np.maximum(20.0 * np.log10(np.maximum(rms, 1e-12) / peak), -200.0)


def speech_span(wav: np.ndarray, fs: int, config: TrimConfig) -> Tuple[int, int]:
    """First and last non-silent sample, ``[start, end)``, by ``librosa.effects.trim``.

    A frame is silent when its RMS level is more than ``config.threshold_db`` below the
    loudest frame's. The span is frame-accurate and errs on the side of speech: a frame
    counts as soon as its window reaches the speech, so the span may start up to half a
    frame early and end up to half a frame late.

    Args:
        wav: (num_samples,) waveform.
        fs: Sampling rate in Hz.
        config: Threshold and frame sizes.

    Returns:
        (start, end) sample indices, ``0 <= start < end <= num_samples``; ``(0, 0)`` for an
        empty or all-zero waveform.
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
    """The part of ``wav`` to keep: :func:`speech_span` widened by ``margin_ms`` each side.

    Returns:
        (start, end) sample indices into ``wav`` (the whole waveform when it is all zeros).
    """
    x = _as_mono(wav)
    start, end = speech_span(x, fs, config)
    if end <= start:
        return 0, int(x.size)
    margin = int(round(config.margin_ms * fs / 1000.0))
    return max(0, start - margin), min(int(x.size), end + margin)


def silent_share(wav: np.ndarray, fs: int, config: TrimConfig) -> float:
    """Share of the frames of ``wav`` that are silence (``threshold_db`` below the loudest).

    After trimming this is the share of inner pauses (and of the margins).

    Returns:
        A fraction in [0, 1]; 1.0 for an empty or all-zero waveform.
    """
    x = _as_mono(wav)
    if x.size == 0 or not np.any(x):
        return 1.0
    levels = frame_levels_db(x, *config.frames(fs))
    return float(np.mean(levels < -config.threshold_db))


__all__ = ["TrimConfig", "frame_levels_db", "silent_share", "speech_span", "trim_span"]
