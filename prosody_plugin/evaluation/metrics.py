"""Objective TTS metrics: WORLD analysis, mel-cepstra, MCD, F0 errors and word-level prosody.

Pure functions, numpy in, numpy or floats out; waveforms are 1-D at ``fs`` Hz, F0 in Hz with 0
for unvoiced frames, pitch differences in cents. What each metric measures and how the
scoring uses them: docs/recipes.md (stage 12's metrics).
"""

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Tuple

import librosa
import numpy as np
import pyworld

# fs -> (mel-cepstrum order, all-pass constant alpha), as ESPnet's evaluate_mcd (8 kHz added).
MCEP_PARAMS: Dict[int, Tuple[int, float]] = {
    8000: (13, 0.31),
    16000: (23, 0.42),
    22050: (34, 0.45),
    24000: (34, 0.46),
    44100: (39, 0.53),
    48000: (39, 0.55),
}

# 1 neper (a natural-log unit) of frequency ratio in cents: 1200 / ln 2.
CENTS_PER_NEPER = 1200.0 / math.log(2.0)

# MCD scale: the mel-cepstrum is a natural-log amplitude, dB = 20 log10 = (20 / ln 10) ln, and
# sqrt(2 * sum d^2) = 2 * sqrt(sum d^2 / 2), hence (10 / ln 10) * sqrt(2 * ...).
_MCD_DB = 10.0 / math.log(10.0)

# Floor of the word energy before dB (ESPnet's energy is a magnitude norm: -100 dB).
_ENERGY_FLOOR = 1e-5


def mcep_params(fs: int) -> Tuple[int, float]:
    """Mel-cepstrum (order, alpha) for a sampling rate.

    Args:
        fs: Sampling rate in Hz.

    Returns:
        ``MCEP_PARAMS[fs]``, or the entry of the nearest tabulated rate (the lower one on a tie).
    """
    if fs <= 0:
        raise ValueError(f"fs must be positive, got {fs}")
    if fs in MCEP_PARAMS:
        return MCEP_PARAMS[fs]
    return MCEP_PARAMS[min(MCEP_PARAMS, key=lambda rate: (abs(rate - fs), rate))]


def _freqt_step(g: np.ndarray, u, alpha: float) -> np.ndarray:
    """One iteration of SPTK's freqt recursion: feed input ``u`` to the state ``g`` (M+1, ...).

    Literal transcription of the loop body of ``freqt.c`` (``d`` is the previous state)::

        g[0] = u + a d[0];  g[1] = (1 - a^2) d[0] + a d[1];  g[j] = d[j-1] + a (d[j] - g[j-1])
    """
    d = g
    g = np.empty_like(d)
    g[0] = u + alpha * d[0]
    if len(g) > 1:
        g[1] = (1.0 - alpha * alpha) * d[0] + alpha * d[1]
    for j in range(2, len(g)):
        g[j] = d[j - 1] + alpha * (d[j] - g[j - 1])
    return g


@lru_cache(maxsize=32)
def freqt_matrix(in_len: int, order: int, alpha: float) -> np.ndarray:
    """Matrix of SPTK's ``freqt``: frequency warping of a cepstrum by a first-order all-pass.

    ``freqt(c, order, alpha) == freqt_matrix(len(c), order, alpha) @ c``. With ``alpha > 0`` a
    cepstrum is mapped to a mel-cepstrum; ``-alpha`` maps back. ``alpha = 0`` is the identity
    truncated (or zero-padded) to ``order + 1`` coefficients.

    freqt feeds ``c[in_len-1], ..., c[0]`` through a linear recursion ``g <- A g + B c[k]``, so
    the output is ``sum_k A^k B c[k]``: column ``k`` is ``A^k B``, built here in
    O(in_len * order^2) from the recursion itself rather than by running it on unit vectors.

    Args:
        in_len: Length of the input cepstrum.
        order: Output order M (M + 1 coefficients).
        alpha: All-pass constant, ``|alpha| < 1``.

    Returns:
        Read-only array (order + 1, in_len) (cached, shared between callers).
    """
    if in_len < 1 or order < 0:
        raise ValueError(f"need in_len >= 1 and order >= 0, got in_len={in_len}, order={order}")
    if not abs(alpha) < 1.0:
        raise ValueError(f"all-pass constant must satisfy |alpha| < 1, got {alpha}")
    a_matrix = _freqt_step(np.eye(order + 1), 0.0, alpha)
    column = _freqt_step(np.zeros(order + 1), 1.0, alpha)
    matrix = np.empty((order + 1, in_len))
    for k in range(in_len):
        matrix[:, k] = column
        column = a_matrix @ column
    matrix.flags.writeable = False
    return matrix


# Not pysptk.sp2mc: its results differ in the last float bits (scores.csv would change); no wheel, slower.
def spectrum_to_mcep(spectral_envelope: np.ndarray, order: int, alpha: float) -> np.ndarray:
    """Power spectral envelope to mel-cepstrum, as ``pysptk.sp2mc``.

    ``c = irfft(log(sp)); c[0] /= 2; mc = freqt(c, order, alpha)``. The real cepstrum of the log
    *power* spectrum is twice that of the log amplitude, so after halving ``c[0]`` the result is
    SPTK's cepstrum of the minimum-phase filter ``H(z) = exp(sum_m c_m z^-m)``
    (``log|H(w)| = c_0 + sum_{m>=1} c_m cos(m w)``), warped. Like pysptk, the whole ``n_fft``
    long (symmetric) irfft output enters freqt; its upper, mirrored half only reaches the low
    output orders through exponentially small weights.

    Args:
        spectral_envelope: (..., n_fft // 2 + 1) positive power spectrum (WORLD's CheapTrick
            output), ``n_fft`` even.
        order: Mel-cepstrum order M.
        alpha: All-pass constant.

    Returns:
        (..., order + 1) mel-cepstrum (natural-log amplitude units).
    """
    sp = np.asarray(spectral_envelope, dtype=np.float64)
    if sp.shape[-1] < 2:
        raise ValueError(f"need at least 2 frequency bins, got shape {sp.shape}")
    if not np.all(sp > 0):
        raise ValueError("the power spectrum must be positive (its log is taken)")
    cepstrum = np.fft.irfft(np.log(sp), axis=-1)
    cepstrum[..., 0] /= 2.0
    return cepstrum @ freqt_matrix(cepstrum.shape[-1], order, float(alpha)).T


def _as_waveform(wav: np.ndarray, name: str) -> np.ndarray:
    """Check a waveform and return it as the contiguous float64 array pyworld requires."""
    x = np.ascontiguousarray(wav, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D waveform, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name}: empty waveform")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: waveform has non-finite samples")
    if not np.any(x):
        raise ValueError(f"{name}: silent waveform (all samples are zero)")
    return x


def _world_f0(x: np.ndarray, fs: int, frame_period: float, f0_floor: float, f0_ceil: float):
    f0, times = pyworld.dio(x, fs, f0_floor=f0_floor, f0_ceil=f0_ceil, frame_period=frame_period)
    return pyworld.stonemask(x, f0, times, fs), times


def world_f0(
    wav: np.ndarray, fs: int, frame_period: float = 5.0, *, f0_floor: float, f0_ceil: float
) -> np.ndarray:
    """F0 contour (T,) in Hz, 0 for unvoiced frames: the F0 of :func:`world_analysis` alone."""
    return _world_f0(_as_waveform(wav, "wav"), fs, frame_period, f0_floor, f0_ceil)[0]


def world_analysis(
    wav: np.ndarray,
    fs: int,
    frame_period: float = 5.0,
    *,
    f0_floor: float,
    f0_ceil: float,
    name: str = "wav",
) -> Tuple[np.ndarray, np.ndarray]:
    """WORLD analysis of a waveform: F0 and mel-cepstrum per frame.

    Args:
        wav: (num_samples,) waveform (any float dtype; converted to float64 for pyworld).
        fs: Sampling rate in Hz.
        frame_period: Frame shift in ms.
        f0_floor: Lowest F0 searched, Hz (the voice's range: the model's pitch_extract_conf f0min).
        f0_ceil: Highest F0 searched, Hz (its f0max).
        name: Names the waveform in errors (empty, silent, non-finite, not 1-D).

    Returns:
        f0: (T,) F0 in Hz, 0 for unvoiced frames (DIO refined by StoneMask).
        mcep: (T, order + 1) mel-cepstrum of the CheapTrick envelope, ``mcep_params(fs)``.
    """
    x = _as_waveform(wav, name)
    f0, times = _world_f0(x, fs, frame_period, f0_floor, f0_ceil)
    envelope = pyworld.cheaptrick(x, f0, times, fs, f0_floor=f0_floor)
    order, alpha = mcep_params(fs)
    return f0, spectrum_to_mcep(envelope, order, alpha)


def dtw_path(x: np.ndarray, y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Optimal monotonic alignment of two feature sequences (euclidean frame cost).

    Steps are (1, 1), (1, 0) and (0, 1) with equal weights (librosa's defaults); the path
    starts at (0, 0) and ends at (Tx - 1, Ty - 1).

    Args:
        x: (Tx, D) features.
        y: (Ty, D) features.

    Returns:
        Frame indices into ``x`` and ``y``, each (N,), in increasing time order.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"expected (Tx, D) and (Ty, D) features, got {x.shape} and {y.shape}")
    if len(x) == 0 or len(y) == 0:
        raise ValueError(f"cannot align an empty sequence: {x.shape} and {y.shape}")
    # librosa takes (D, T) and returns the path backwards, as (N, 2) (x, y) index pairs.
    _, path = librosa.sequence.dtw(X=x.T, Y=y.T, metric="euclidean", backtrack=True)
    path = path[::-1]
    return path[:, 0].astype(np.intp), path[:, 1].astype(np.intp)


@dataclass
class WavScores:
    """Scores of a synthesized waveform against its reference (see ``score_wav_pair``).

    Attributes:
        mcd_db: Mel-cepstral distortion without c0 along the DTW path, dB.
        log_f0_rmse_cents: RMSE of log F0 on frames voiced in both, cents (nan if none).
        f0_pearson: Pearson correlation of log F0 on frames voiced in both (nan if undefined).
        vde: Voicing decision error, fraction of path frames whose voicing differs.
        frames: Length of the DTW path.
        voiced_frames: Path frames voiced in both utterances.
    """

    mcd_db: float
    log_f0_rmse_cents: float
    f0_pearson: float
    vde: float
    frames: int
    voiced_frames: int


def score_wav_pair(
    reference: np.ndarray,
    synthesized: np.ndarray,
    fs: int,
    *,
    f0_floor: float,
    f0_ceil: float,
    frame_period: float = 5.0,
) -> WavScores:
    """MCD, log-F0 RMSE, F0 correlation and VDE of a synthesized waveform against a reference.

    Both are analysed with ``world_analysis`` and aligned by DTW on the mel-cepstrum without
    c0; every metric is computed over the pairs of frames on that path.

    Args:
        reference: (num_samples,) natural (or reference) waveform.
        synthesized: (num_samples',) synthesized waveform, same sampling rate.
        fs: Sampling rate in Hz.
        f0_floor: Lowest F0 searched, Hz.
        f0_ceil: Highest F0 searched, Hz.
        frame_period: Analysis frame shift in ms.

    Returns:
        WavScores.
    """
    return score_world_features(
        world_analysis(reference, fs, frame_period, f0_floor=f0_floor, f0_ceil=f0_ceil, name="reference"),
        world_analysis(synthesized, fs, frame_period, f0_floor=f0_floor, f0_ceil=f0_ceil, name="synthesized"),
    )


def score_world_features(
    reference: Tuple[np.ndarray, np.ndarray], synthesized: Tuple[np.ndarray, np.ndarray]
) -> WavScores:
    """:func:`score_wav_pair` on ``world_analysis`` outputs (f0, mcep), e.g. to analyse a
    reference once for several systems."""
    (f0_ref, mcep_ref), (f0_syn, mcep_syn) = reference, synthesized
    i, j = dtw_path(mcep_ref[:, 1:], mcep_syn[:, 1:])

    diff = mcep_ref[i, 1:] - mcep_syn[j, 1:]
    mcd = _MCD_DB * np.sqrt(2.0 * np.sum(diff**2, axis=1))

    f0_ref, f0_syn = f0_ref[i], f0_syn[j]
    voiced_ref, voiced_syn = f0_ref > 0, f0_syn > 0
    both = voiced_ref & voiced_syn
    cents_ref = 1200.0 * np.log2(f0_ref[both])
    cents_syn = 1200.0 * np.log2(f0_syn[both])
    return WavScores(
        mcd_db=float(np.mean(mcd)),
        log_f0_rmse_cents=rmse(cents_syn, cents_ref),
        f0_pearson=pearson(cents_syn, cents_ref),
        vde=float(np.mean(voiced_ref != voiced_syn)),
        frames=len(i),
        voiced_frames=int(np.count_nonzero(both)),
    )


@dataclass
class WordProsody:
    """Prosody of each word of an utterance (see ``word_prosody``); every field is (W,).

    Attributes:
        duration_ms: Word duration, ms.
        mean_log_f0_cents: Duration-weighted mean log F0 of the word's voiced tokens, cents
            re 1 Hz (only differences between words or systems are meaningful); nan if none.
        f0_range_cents: Max minus min token log F0 over those tokens, cents; nan if none.
        energy_db: Duration-weighted mean token energy, dB (floored at -100 dB); nan if the
            word has no frame.
    """

    duration_ms: np.ndarray
    mean_log_f0_cents: np.ndarray
    f0_range_cents: np.ndarray
    energy_db: np.ndarray


# The WordProsody fields as tables show them: (field, title, decimals).
WORD_FEATURES = (
    ("duration_ms", "word duration (ms)", 0),
    ("mean_log_f0_cents", "word mean log-F0 (cents)", 0),
    ("f0_range_cents", "word F0 range (cents)", 0),
    ("energy_db", "word energy (dB)", 2),
)


def word_prosody(
    durations: np.ndarray,
    log_f0: np.ndarray,
    energy: np.ndarray,
    word_ids: np.ndarray,
    num_words: int,
    frame_shift_s: float,
) -> WordProsody:
    """Pool ESPnet's token-level prosody targets into words.

    Args:
        durations: (T_tok,) token durations in frames (non-negative).
        log_f0: (T_tok,) token-averaged natural-log F0 (ESPnet's Dio with ``use_log_f0``);
            values <= 0 mean the token has no F0 and are excluded.
        energy: (T_tok,) token-averaged energy (ESPnet's Energy: linear magnitude norm, >= 0).
        word_ids: (T_tok,) word index of each token in ``[0, num_words)``; -1 = not in a word
            (pauses, punctuation, <sos/eos>), ignored.
        num_words: Number of words W.
        frame_shift_s: Frame shift in seconds (hop_length / fs).

    Returns:
        WordProsody with (W,) arrays. Only tokens with a positive duration count for F0 and
        energy, weighted by their duration (a token average stands for that many frames).
    """
    durations = np.asarray(durations, dtype=np.float64)
    log_f0 = np.asarray(log_f0, dtype=np.float64)
    energy = np.asarray(energy, dtype=np.float64)
    word_ids = np.asarray(word_ids)
    arrays = dict(durations=durations, log_f0=log_f0, energy=energy, word_ids=word_ids)
    shapes = {name: a.shape for name, a in arrays.items()}
    if any(len(shape) != 1 for shape in shapes.values()):
        raise ValueError(f"token inputs must be 1-D, got shapes {shapes}")
    if len(set(shapes.values())) != 1:
        raise ValueError(f"token inputs must have equal lengths, got shapes {shapes}")
    if word_ids.size and not np.issubdtype(word_ids.dtype, np.integer):
        raise ValueError(f"word_ids must be integers, got dtype {word_ids.dtype}")
    word_ids = word_ids.astype(np.intp)  # an empty list arrives as float64
    if num_words < 0 or frame_shift_s <= 0:
        raise ValueError(f"need num_words >= 0 and frame_shift_s > 0, got {num_words} and {frame_shift_s}")
    if np.any((word_ids < -1) | (word_ids >= num_words)):
        raise ValueError(f"word_ids must be in [-1, {num_words}), got {word_ids.min()}..{word_ids.max()}")
    if np.any(durations < 0) or not np.all(np.isfinite(durations)):
        raise ValueError("durations must be finite and non-negative")

    in_word = word_ids >= 0
    words, durations = word_ids[in_word], durations[in_word]
    log_f0, energy = log_f0[in_word], energy[in_word]

    def word_sum(weights: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.bincount(words[mask], weights=weights[mask], minlength=num_words)

    voiced = (log_f0 > 0) & (durations > 0)
    frames = word_sum(durations, np.ones(words.shape, dtype=bool))
    voiced_frames = word_sum(durations, voiced)
    highest = np.full(num_words, -np.inf)
    lowest = np.full(num_words, np.inf)
    np.maximum.at(highest, words[voiced], log_f0[voiced])
    np.minimum.at(lowest, words[voiced], log_f0[voiced])
    has_f0 = voiced_frames > 0
    # 0 / 0 -> nan marks words without F0 (or without frames, for energy).
    with np.errstate(invalid="ignore"):
        mean_log_f0 = word_sum(durations * log_f0, voiced) / voiced_frames
        mean_energy = word_sum(durations * energy, durations > 0) / frames
    return WordProsody(
        duration_ms=frames * frame_shift_s * 1000.0,
        mean_log_f0_cents=mean_log_f0 * CENTS_PER_NEPER,
        f0_range_cents=np.where(has_f0, highest - lowest, np.nan) * CENTS_PER_NEPER,
        energy_db=20.0 * np.log10(np.maximum(mean_energy, _ENERGY_FLOOR)),
    )


def _finite_pairs(a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Flattened elements of ``a`` and ``b`` at positions where both are finite."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    return a[keep], b[keep]


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    """Root-mean-square difference over the pairs where both are finite; nan if none."""
    a, b = _finite_pairs(a, b)
    if a.size == 0:
        return math.nan
    return float(np.sqrt(np.mean((a - b) ** 2)))


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation over the pairs where both are finite.

    nan with fewer than 2 pairs or when either side is constant (correlation undefined).
    """
    a, b = _finite_pairs(a, b)
    # Test constancy exactly: a - mean(a) can be a rounding residue, not zero, for constant a.
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    a, b = a - a.mean(), b - b.mean()
    r = np.dot(a, b) / math.sqrt(np.dot(a, a) * np.dot(b, b))
    return float(np.clip(r, -1.0, 1.0))
