"""The F0 range of a voice, measured on its recordings, for pitch extraction and scoring.

The two-pass method of De Looze and Hirst (2008): a wide first pass gives the voiced frames'
quartiles, then ``f0min = floor_factor * q1`` and ``f0max = ceil_factor * q3``.
Why: docs/own_corpus.md (The voice: F0 range); stage 2: docs/recipes.md.
"""

import logging
import multiprocessing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np
import pyworld
import soundfile as sf
import yaml
from tqdm import tqdm

PathLike = Union[str, Path]

#: The first pass searches this wide range (Hz): below every adult voice's quartiles, above
#: every voice's upper ones.
FIRST_PASS_RANGE = (40.0, 800.0)
#: Frame period of the first pass, ms.
FIRST_PASS_FRAME_PERIOD = 10.0
#: Fewer voiced frames than this cannot give a range (about 5 s of voiced speech).
MIN_VOICED_FRAMES = 500


@dataclass
class F0Range:
    """The F0 range of a voice and the statistics (Hz) of the first pass's voiced frames it comes from.

    Attributes:
        f0min, f0max: The range to search, Hz (integers, rounded outwards).
        q1, median, q3, p1, p99: Quartiles and 1st / 99th percentiles.
        coverage: Share of the voiced frames inside ``[f0min, f0max]``.
        voiced_frames, utterances: What was analysed.
        floor_factor, ceil_factor: ``f0min / q1`` and ``f0max / q3`` before rounding.
    """

    f0min: int
    f0max: int
    q1: float
    median: float
    q3: float
    p1: float
    p99: float
    coverage: float
    voiced_frames: int
    utterances: int
    floor_factor: float
    ceil_factor: float


def first_pass_f0(wav: np.ndarray, fs: int) -> np.ndarray:
    """Voiced F0 values (N,) in Hz of a (num_samples,) waveform over :data:`FIRST_PASS_RANGE` (DIO + StoneMask)."""
    x = np.ascontiguousarray(wav, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"expected a non-empty 1-D waveform, got shape {x.shape}")
    floor, ceil = FIRST_PASS_RANGE
    f0, times = pyworld.dio(
        x, fs, f0_floor=floor, f0_ceil=min(ceil, fs / 4), frame_period=FIRST_PASS_FRAME_PERIOD
    )
    f0 = pyworld.stonemask(x, f0, times, fs)
    return f0[f0 > 0]


def f0_range_from_frames(
    f0: np.ndarray, utterances: int, floor_factor: float = 0.75, ceil_factor: float = 1.5
) -> F0Range:
    """The two-pass range from the first pass's voiced F0 values (Hz).

    Raises:
        ValueError: With fewer than :data:`MIN_VOICED_FRAMES` values, or bad factors.
    """
    f0 = np.asarray(f0, dtype=np.float64)
    if not 0 < floor_factor <= 1 or ceil_factor < 1:
        raise ValueError(f"need 0 < floor_factor <= 1 <= ceil_factor, got {floor_factor} and {ceil_factor}")
    if f0.size < MIN_VOICED_FRAMES:
        raise ValueError(
            f"only {f0.size} voiced frames ({MIN_VOICED_FRAMES} needed) to estimate the F0 range: "
            "give the range instead (the recipe's --f0min and --f0max)"
        )
    p1, q1, median, q3, p99 = np.percentile(f0, [1, 25, 50, 75, 99])
    f0min, f0max = int(np.floor(floor_factor * q1)), int(np.ceil(ceil_factor * q3))
    return F0Range(
        f0min=f0min,
        f0max=f0max,
        q1=round(float(q1), 1),
        median=round(float(median), 1),
        q3=round(float(q3), 1),
        p1=round(float(p1), 1),
        p99=round(float(p99), 1),
        coverage=round(float(np.mean((f0 >= f0min) & (f0 <= f0max))), 4),
        voiced_frames=int(f0.size),
        utterances=int(utterances),
        floor_factor=float(floor_factor),
        ceil_factor=float(ceil_factor),
    )


def _analyse(item: Tuple[str, str]) -> Tuple[str, np.ndarray, str]:
    utt, path = item
    try:
        wav, fs = sf.read(path, dtype="float64", always_2d=True)
        return utt, first_pass_f0(wav[:, 0], fs), ""
    except (RuntimeError, OSError, ValueError) as e:
        return utt, np.zeros(0), f"{path}: {e}"


def spread_subset(keys: Sequence[str], max_items: int) -> List[str]:
    """At most ``max_items`` of the sorted ``keys``, evenly spread (all when max_items <= 0)."""
    keys = sorted(keys)
    if max_items <= 0 or len(keys) <= max_items:
        return keys
    picks = np.linspace(0, len(keys) - 1, max_items).round().astype(int)
    return [keys[i] for i in sorted(set(picks.tolist()))]


def estimate_f0_range(
    wav_scp: Dict[str, str],
    max_utts: int = 300,
    floor_factor: float = 0.75,
    ceil_factor: float = 1.5,
    nj: int = 1,
) -> F0Range:
    """The F0 range of the voice of ``wav_scp`` (utt -> audio path), over at most ``max_utts`` spread utterances.

    Raises:
        ValueError: When an audio file cannot be read (named), or too little is voiced.
    """
    items = [(u, wav_scp[u]) for u in spread_subset(list(wav_scp), max_utts)]
    if not items:
        raise ValueError("no utterance to estimate the F0 range from")
    frames = []
    with multiprocessing.Pool(max(1, min(nj, len(items)))) if nj > 1 else _Serial() as pool:
        for utt, f0, error in tqdm(
            pool.imap(_analyse, items), total=len(items), desc="first-pass F0", unit="utt"
        ):
            if error:
                raise ValueError(f"{utt}: cannot analyse {error}")
            frames.append(f0)
    result = f0_range_from_frames(np.concatenate(frames), len(items), floor_factor, ceil_factor)
    logging.info(
        f"F0 range {result.f0min}-{result.f0max} Hz from {result.voiced_frames} voiced frames of {result.utterances} "
        f"utterances (quartiles {result.q1} / {result.median} / {result.q3} Hz, 1st-99th percentile "
        f"{result.p1}-{result.p99} Hz; {result.coverage:.1%} of the first pass's voiced frames inside)"
    )
    return result


class _Serial:
    """``multiprocessing.Pool``'s imap, in this process."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def imap(function, items):
        return map(function, items)


def write_f0_range(path: PathLike, f0_range: F0Range, source: str = "") -> None:
    """Write ``f0min``, ``f0max`` and their statistics as YAML (comments say where from)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = [
        "# F0 range of the voice, measured by prosody_plugin.bin.estimate_f0_range"
        + (f" on {source}" if source else ""),
        f"# (two-pass method: f0min = {f0_range.floor_factor} x q1, f0max = {f0_range.ceil_factor} x q3 of a "
        f"first pass over {FIRST_PASS_RANGE[0]:.0f}-{FIRST_PASS_RANGE[1]:.0f} Hz). The recipe passes f0min and",
        "# f0max to every config's pitch_extract_conf; the scorer reads them from the model's config.",
    ]
    path.write_text(
        "\n".join(header) + "\n" + yaml.safe_dump(asdict(f0_range), sort_keys=False), encoding="utf-8"
    )


def read_f0_range(path: PathLike) -> Tuple[float, float]:
    """(f0min, f0max) of a file of :func:`write_f0_range`."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if "f0min" not in data or "f0max" not in data:
        raise ValueError(f"{path}: no f0min / f0max")
    return float(data["f0min"]), float(data["f0max"])


__all__ = [
    "F0Range",
    "FIRST_PASS_RANGE",
    "estimate_f0_range",
    "f0_range_from_frames",
    "first_pass_f0",
    "read_f0_range",
    "spread_subset",
    "write_f0_range",
]
