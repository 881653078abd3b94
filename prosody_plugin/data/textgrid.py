"""Praat TextGrids (long or short text format, as MFA and Praat write them), read with praatio.

Tiers come as ``name -> [(xmin, xmax, label), ...]`` in file order; point tiers give
``(time, time, mark)``. A malformed file raises ValueError naming it. Used by
:mod:`prosody_plugin.data.textgrid_durations` (docs/own_corpus.md).
"""

from pathlib import Path
from typing import Dict, List, NamedTuple, Tuple, Union

from praatio import textgrid as praatio_textgrid
from praatio.utilities.constants import INTERVAL_TIER
from praatio.utilities.errors import PraatioException

PathLike = Union[str, Path]
Interval = Tuple[float, float, str]


class TextGrid(NamedTuple):
    """A parsed TextGrid: its time domain and its tiers (name -> intervals)."""

    xmin: float
    xmax: float
    tiers: Dict[str, List[Interval]]


def load_textgrid(path: PathLike) -> TextGrid:
    """Read a TextGrid file (UTF-8, or UTF-16 with a byte order mark as Praat writes it)."""
    try:
        grid = praatio_textgrid.openTextgrid(str(path), includeEmptyIntervals=True, reportingMode="silence")
    except (PraatioException, ValueError, IndexError, AttributeError, UnicodeError) as e:
        raise ValueError(f"{path}: malformed TextGrid ({type(e).__name__}: {e})") from None
    tiers = {}
    for name, tier in zip(grid.tierNames, grid.tiers):
        if tier.tierType == INTERVAL_TIER:
            tiers[name] = [(start, end, label) for start, end, label in tier.entries]
        else:
            tiers[name] = [(time, time, mark) for time, mark in tier.entries]
    return TextGrid(grid.minTimestamp, grid.maxTimestamp, tiers)
