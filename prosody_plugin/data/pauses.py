"""Pauses in phone durations: silence goes to the word-boundary tokens, not into the words.

:func:`refine_durations` finds the pauses of a recording and :func:`place_pauses` moves them
onto ``<space>`` / punctuation / eos, which FastSpeech2 can give long durations. Why and the
options: docs/recipes.md (Stage 4).
"""

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

from prosody_plugin.text.word_boundaries import WORD_BOUNDARY_TOKEN, is_boundary_token


@dataclass
class BoundaryGroup:
    """Tokens ``[start, end)`` between two words (or after the last word: ``final``)."""

    start: int
    end: int
    carrier: int
    final: bool = False


def boundary_groups(tokens: Sequence[str]) -> List[BoundaryGroup]:
    """The boundary groups of a token sequence that ends with eos; the last one holds eos.

    A group is a maximal run of boundary tokens after a word; leading punctuation forms none.

    Args:
        tokens: (T_text + 1,) token strings, FastSpeech2's eos last.
    """
    boundary = [is_boundary_token(t) for t in tokens]
    groups: List[BoundaryGroup] = []
    seen_word = False
    i = 0
    while i < len(tokens):
        if not boundary[i]:
            seen_word = True
            i += 1
            continue
        j = i
        while j < len(tokens) and boundary[j]:
            j += 1
        if seen_word:
            spaces = [k for k in range(i, j) if tokens[k] == WORD_BOUNDARY_TOKEN]
            groups.append(BoundaryGroup(i, j, spaces[0] if spaces else i, final=j == len(tokens)))
        i = j
    return groups


def silent_runs(silent: np.ndarray, min_frames: int) -> List[Tuple[int, int]]:
    """Runs ``[s, e)`` of silent frames: at least ``min_frames`` long, or touching the end.

    Args:
        silent: (T_feats,) bool, True for silent frames.
        min_frames: Shortest inner pause, frames.
    """
    silent = np.asarray(silent, dtype=bool)
    padded = np.concatenate([[False], silent, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    runs = []
    for s, e in zip(edges[::2], edges[1::2]):
        if e - s >= min_frames or (e == len(silent) and s > 0):
            runs.append((int(s), int(e)))
    return runs


@dataclass
class PausePlacement:
    """The result of :func:`place_pauses` for one utterance.

    Attributes:
        durations: (T_text + 1,) new durations in frames (same sum as the input).
        pauses: The pauses found, ``[s, e)`` frames (leading silence excluded).
        placed: The pauses moved onto a boundary group (or already there).
        moved_frames: Frames that changed token.
    """

    durations: np.ndarray
    pauses: List[Tuple[int, int]] = field(default_factory=list)
    placed: List[Tuple[int, int]] = field(default_factory=list)
    moved_frames: int = 0


def _frame_tokens(durations: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(durations)), durations)


def place_pauses(
    durations: Sequence[int], tokens: Sequence[str], silent: np.ndarray, min_pause_frames: int
) -> PausePlacement:
    """Move the pauses of one utterance onto its word-boundary tokens.

    Each inner pause goes to the nearest boundary group whose two neighbouring words it
    overlaps, trailing silence to the final group; the group's carrier (``<space>``, else its
    first token) takes the pause, the words' tokens are clipped to it (one frame each at
    least). A pause no group can take that way stays where it is (not placed).

    Args:
        durations: (T_text + 1,) token durations in frames, eos last, summing to T_feats.
        tokens: (T_text + 1,) token strings, eos last.
        silent: (T_feats,) bool, True for silent frames.
        min_pause_frames: Shortest inner pause, frames (>= 1).
    """
    durations = np.asarray(durations, dtype=np.int64)
    silent = np.asarray(silent, dtype=bool)
    if len(durations) != len(tokens):
        raise ValueError(f"{len(durations)} durations for {len(tokens)} tokens")
    if durations.sum() != len(silent):
        raise ValueError(f"durations sum to {durations.sum()} frames, the audio has {len(silent)}")
    if np.any(durations < 0):
        raise ValueError("negative duration")
    if min_pause_frames < 1:
        raise ValueError(f"min_pause_frames must be >= 1, got {min_pause_frames}")
    total = len(silent)
    groups = boundary_groups(tokens)
    bounds = np.concatenate([[0], np.cumsum(durations)])  # token k spans [bounds[k], bounds[k+1])
    result = PausePlacement(durations=durations.copy())
    runs = [(s, e) for s, e in silent_runs(silent, min_pause_frames) if s > 0]  # leading: no token
    result.pauses = list(runs)
    if not groups or not runs:
        return result

    # the word spans around each group: from the first token after the previous group (or 0)
    # to the last token before the next group (or the end)
    def window(gi: int) -> Tuple[int, int]:
        lo = groups[gi - 1].end if gi > 0 else 0
        hi = groups[gi + 1].start if gi + 1 < len(groups) else len(tokens)
        return int(bounds[lo]), int(bounds[hi])

    choices: List[Tuple[int, Tuple[int, int]]] = []
    for s, e in runs:
        if e == total:  # trailing silence: the final group
            choices.append((len(groups) - 1, (s, e)))
            continue
        best, best_key = None, None
        for gi, g in enumerate(groups):
            if g.final:
                continue
            lo, hi = window(gi)
            if e <= lo or s >= hi:
                continue
            g_lo, g_hi = int(bounds[g.start]), int(bounds[g.end])
            distance = max(0, g_lo - e, s - g_hi)
            key = (distance, -(min(e, g_hi) - max(s, g_lo)))
            if best_key is None or key < best_key:
                best, best_key = gi, key
        if best is not None:
            choices.append((best, (s, e)))
    # one pause per group (the longest), in order
    per_group = {}
    for gi, (s, e) in choices:
        if gi not in per_group or e - s > per_group[gi][1] - per_group[gi][0]:
            per_group[gi] = (s, e)

    new = bounds.copy()
    anchor_idx, anchor_pos = 0, 0  # token boundary index and frame fixed so far
    for gi in sorted(per_group):
        g, (s, e) = groups[gi], per_group[gi]
        n_before = g.carrier - g.start  # group tokens before / after the carrier: one frame each
        n_after = g.end - g.carrier - 1
        start, end = s - n_before, e + n_after
        if g.final:
            end = total
        if start - anchor_pos < g.start - anchor_idx or total - end < len(tokens) - g.end:
            continue  # the tokens before or after would get less than one frame
        if end - start < g.end - g.start:
            continue
        # the tokens between the anchor and the group: clipped to end at `start`
        for k in range(g.start - 1, anchor_idx, -1):
            new[k] = min(new[k], start - (g.start - k))
        for k in range(anchor_idx + 1, g.start):
            new[k] = max(new[k], anchor_pos + (k - anchor_idx))
        new[g.start] = start
        for k in range(g.start + 1, g.carrier + 1):
            new[k] = start + (k - g.start)
        for k in range(g.carrier + 1, g.end + 1):
            new[k] = end - (g.end - k)
        # the tokens after: start at `end` at the earliest
        for k in range(g.end + 1, len(tokens)):
            new[k] = max(new[k], end + (k - g.end))
        anchor_idx, anchor_pos = g.end, end
        result.placed.append((s, e))
    new_durations = np.diff(new)
    assert new_durations.sum() == total and np.all(new_durations >= 0), new_durations
    result.durations = new_durations
    result.moved_frames = int(np.count_nonzero(_frame_tokens(new_durations) != _frame_tokens(durations)))
    return result


def last_word_end(durations: Sequence[int], tokens: Sequence[str]) -> Optional[int]:
    """The frame where the last word ends (after its last in-word token); None if no word."""
    inside = [k for k, t in enumerate(tokens) if not is_boundary_token(t)]
    if not inside:
        return None
    return int(np.sum(np.asarray(durations)[: inside[-1] + 1]))


def speech_end(silent: np.ndarray) -> int:
    """The frame after the last non-silent frame (0 if every frame is silent)."""
    loud = np.flatnonzero(~np.asarray(silent, dtype=bool))
    return int(loud[-1]) + 1 if loud.size else 0


@dataclass
class PauseConfig:
    """Silence and pause settings of :func:`refine_durations`.

    Attributes:
        threshold_db: Frames this many dB below the loudest frame are silent (as trimming).
        min_pause_ms: Shortest inner pause, ms.
        max_late_ms: Warn when the last word ends this long after the speech does, ms.
        move: Move the pauses onto the boundary tokens (False: only check and report).
    """

    threshold_db: float = 35.0
    min_pause_ms: float = 100.0
    max_late_ms: float = 200.0
    move: bool = True


@dataclass
class UtterancePauses:
    """Pauses and the last word of one utterance, before and after :func:`refine_durations`."""

    durations: np.ndarray
    num_pauses: int
    num_placed: int
    moved_frames: int
    late_before_ms: Optional[float]
    late_after_ms: Optional[float]


def silent_frames(wav: np.ndarray, n_shift: int, threshold_db: float) -> np.ndarray:
    """(num_samples // n_shift + 1,) bool: the silent frames on ESPnet's feature frame grid.

    Levels over two frame shifts per frame, finer than the STFT window, so short pauses are not smeared.
    """
    from prosody_plugin.data.silence import frame_levels_db

    return frame_levels_db(wav, frame_length=2 * n_shift, hop_length=n_shift) < -threshold_db


def refine_durations(
    durations: Sequence[int],
    tokens: Sequence[str],
    wav: np.ndarray,
    fs: int,
    n_shift: int,
    config: PauseConfig,
) -> UtterancePauses:
    """Place the pauses of one utterance (when ``config.move``) and measure its last word.

    Args:
        durations: (T_text + 1,) durations in frames, eos last.
        tokens: (T_text + 1,) token strings, eos last.
        wav: (num_samples,) the audio the durations count frames of.
        fs: Its sampling rate, Hz.
        n_shift: Feature frame shift, samples.
        config: PauseConfig.

    Returns:
        UtterancePauses; ``late_*_ms``: how long after the speech's end the last word ends,
        before and after placing the pauses.
    """
    durations = np.asarray(durations, dtype=np.int64)
    silent = silent_frames(wav, n_shift, config.threshold_db)
    frame_ms = 1000.0 * n_shift / fs
    placement = place_pauses(durations, tokens, silent, max(1, int(round(config.min_pause_ms / frame_ms))))
    new = placement.durations if config.move else durations
    end = speech_end(silent)

    def late(d) -> Optional[float]:
        word_end = last_word_end(d, tokens)
        return None if word_end is None else (word_end - end) * frame_ms

    return UtterancePauses(
        durations=new,
        num_pauses=len(placement.pauses),
        num_placed=len(placement.placed) if config.move else 0,
        moved_frames=placement.moved_frames if config.move else 0,
        late_before_ms=late(durations),
        late_after_ms=late(new),
    )


__all__ = [
    "BoundaryGroup",
    "PauseConfig",
    "PausePlacement",
    "UtterancePauses",
    "boundary_groups",
    "is_boundary_token",
    "last_word_end",
    "place_pauses",
    "refine_durations",
    "silent_frames",
    "silent_runs",
    "speech_end",
]
