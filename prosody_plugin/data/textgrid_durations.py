"""Montreal Forced Aligner TextGrids -> phone tokens and ESPnet durations (recipe stage 2).

As in ESPnet's MFA-based TTS recipes, MFA's phones become the tokens: :func:`convert_data_dir`
(command line: ``prosody_plugin.bin.textgrid_to_durations``) writes the durations and rewrites
the data dir's ``text`` to the phones. When to use it: docs/own_corpus.md.
"""

import logging
import math
import shutil
from bisect import bisect_right
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from tqdm import tqdm

from prosody_plugin.data.kaldi_dir import drop_utterances, read_kaldi_map, write_kaldi_map
from prosody_plugin.data.textgrid import Interval, TextGrid, load_textgrid
from prosody_plugin.text.word_boundaries import WORD_BOUNDARY_TOKEN

#: Labels of silence intervals (compared in lower case) in the words and phones tiers.
SILENCE_LABELS = frozenset(["", "sil", "sp", "<eps>", "<sil>"])
#: The TextGrid may be longer than the audio by this many frames (MFA rounds its times).
MAX_EXTRA_FRAMES = 2


class UtteranceError(Exception):
    """A problem with one utterance; ``reason`` is a short key, ``str()`` the details."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def is_silence(label: str) -> bool:
    """True for MFA's silence labels (empty, ``sil``, ``sp``, ``<eps>``)."""
    return label.strip().lower() in SILENCE_LABELS


def find_tier(textgrid: TextGrid, name: str) -> List[Interval]:
    """Return tier ``name``; MFA names a speaker's tiers ``<speaker> - <name>``."""
    if name in textgrid.tiers:
        return textgrid.tiers[name]
    matches = [t for t in textgrid.tiers if t.endswith(f" - {name}")]
    if len(matches) == 1:
        return textgrid.tiers[matches[0]]
    raise UtteranceError("missing_tier", f"no tier {name!r} (tiers: {', '.join(map(repr, textgrid.tiers))})")


def frame_index(t: float, fs: int, n_shift: int) -> int:
    """Frame boundary of time ``t`` (s): ``round(t * fs / n_shift)``, halves rounded up."""
    return int(math.floor(t * fs / n_shift + 0.5))


def textgrid_to_tokens(
    textgrid: TextGrid, words_tier: str = "words", phones_tier: str = "phones"
) -> Tuple[List[str], List[float]]:
    """Return the tokens of a TextGrid and the end time (s) of each but the last.

    The tokens are the non-silent phones (``spn`` included), grouped by the words that contain
    their midpoint, with ``<space>`` between words; ``ends[i]`` is where token ``i`` ends and
    token ``i + 1`` starts (the last token ends with the audio, the first starts at 0). So
    leading silence goes to the first phone, trailing silence to the last, a pause between
    words to their ``<space>`` (0 frames without a pause), a silence inside a word half to
    each side.
    """
    words = sorted((s, e, w) for s, e, w in find_tier(textgrid, words_tier) if not is_silence(w))
    phones = sorted((s, e, p) for s, e, p in find_tier(textgrid, phones_tier) if not is_silence(p))
    if not phones:
        raise UtteranceError("no_phones", f"tier {phones_tier!r} has no phone")
    word_starts = [s for s, _, _ in words]
    tokens: List[str] = []
    ends: List[float] = []
    prev_word, prev_end = None, 0.0
    for start, end, phone in phones:
        phone = phone.strip()
        if any(c.isspace() for c in phone):
            raise UtteranceError("bad_phone", f"phone label {phone!r} contains whitespace")
        mid = (start + end) / 2
        w = bisect_right(word_starts, mid) - 1
        if w < 0 or mid > words[w][1]:
            raise UtteranceError(
                "phone_outside_words",
                f"phone {phone!r} at {start:.3f}-{end:.3f} s is in no word of tier {words_tier!r}",
            )
        if tokens:
            if w != prev_word:
                # the pause between two words (if any) is the <space> token's
                ends.append(prev_end)
                tokens.append(WORD_BOUNDARY_TOKEN)
                ends.append(start)
            else:
                # silence inside a word: half to each side
                ends.append((prev_end + start) / 2)
        tokens.append(phone)
        prev_word, prev_end = w, end
    return tokens, ends


def textgrid_to_durations(
    textgrid: TextGrid,
    num_samples: int,
    fs: int,
    n_shift: int,
    words_tier: str = "words",
    phones_tier: str = "phones",
    offset: float = 0.0,
    original_duration: Optional[float] = None,
) -> Tuple[List[str], List[int]]:
    """Return the tokens and their durations in frames (one more for eos).

    The durations sum to ``num_samples // n_shift + 1``, ESPnet's (centred STFT) frame count:
    token boundaries are ``round(t * fs / n_shift)`` (half up), clamped to be non-decreasing
    and at most the frame count; eos gets the frames left. For trimmed audio, ``offset`` (s)
    is where it starts in the original recording the TextGrid describes, and
    ``original_duration`` (s) that recording's length.
    """
    num_frames = num_samples // n_shift + 1
    audio_end = num_samples / fs
    grid_end = max([textgrid.xmax] + [e for tier in textgrid.tiers.values() for _, e, _ in tier])
    original_end = original_duration if original_duration is not None else audio_end
    extra_frames = (grid_end - original_end) * fs / n_shift
    if extra_frames > MAX_EXTRA_FRAMES:
        raise UtteranceError(
            "textgrid_too_long",
            f"the TextGrid is {grid_end:.3f} s long, the audio {original_end:.3f} s "
            f"({extra_frames:.1f} frames more than the allowed {MAX_EXTRA_FRAMES})",
        )
    tokens, ends = textgrid_to_tokens(textgrid, words_tier, phones_tier)
    # the last phone ends with the audio: trailing silence (or audio after the TextGrid's end)
    boundaries = [frame_index(t - offset, fs, n_shift) for t in ends] + [frame_index(audio_end, fs, n_shift)]
    durations, prev = [], 0
    for b in boundaries:
        b = min(max(b, prev), num_frames)
        durations.append(b - prev)
        prev = b
    durations.append(num_frames - prev)  # eos
    assert sum(durations) == num_frames and min(durations) >= 0
    return tokens, durations


def find_textgrid(textgrid_dir: Path, utt: str, index: Dict[str, Optional[Path]]) -> Path:
    """``<textgrid_dir>/<utt>.TextGrid``, else the unique ``<textgrid_dir>/**/<utt>.TextGrid``."""
    path = textgrid_dir / f"{utt}.TextGrid"
    if path.is_file():
        return path
    if not index:  # built once, on the first utterance not found directly
        for p in sorted(textgrid_dir.rglob("*.TextGrid")):
            index[p.stem] = None if p.stem in index else p  # None: ambiguous
        index.setdefault("", None)  # mark as built even when empty
    if utt in index and index[utt] is None:
        raise UtteranceError(
            "missing_textgrid", f"several {utt}.TextGrid under {textgrid_dir}, none at its top"
        )
    if index.get(utt) is None:
        raise UtteranceError("missing_textgrid", f"no TextGrid {path}")
    return index[utt]


def convert_data_dir(
    data_dir: Path,
    durations_out: Path,
    textgrid_dir: Path,
    fs: int,
    n_shift: int,
    words_tier: str = "words",
    phones_tier: str = "phones",
    on_error: str = "drop",
) -> Dict[str, str]:
    """Write the durations, rewrite ``text`` to the phones and drop the failing utterances.

    ``<textgrid_dir>/<utt>.TextGrid`` or MFA's ``<textgrid_dir>/<speaker>/<utt>.TextGrid`` per
    utterance; the original transcript is kept in ``text.orig`` (written once, so a rerun is
    harmless); a ``trim`` file (stage 2's kept spans) shifts and clips the TextGrid's times.
    An utterance without TextGrid, tier or phones, or whose TextGrid is longer than the audio
    by more than ``MAX_EXTRA_FRAMES``, is dropped (listed in ``dropped``), or stops the run with
    ``on_error="stop"`` (nothing written then).

    Returns:
        Dict[str, str]: Dropped utterance -> reason.

    """
    data_dir, durations_out, textgrid_dir = Path(data_dir), Path(durations_out), Path(textgrid_dir)
    if not (data_dir / "utt2num_samples").is_file():
        raise SystemExit(f"{data_dir}/utt2num_samples does not exist (run format_data first)")
    if not textgrid_dir.is_dir():
        raise SystemExit(f"--textgrid_dir {textgrid_dir} is not a directory")
    texts = read_kaldi_map(data_dir / "text")
    num_samples = {k: int(v) for k, v in read_kaldi_map(data_dir / "utt2num_samples").items()}
    trims: Dict[str, Tuple[float, float]] = {}  # utt -> (trimmed start, original duration), s
    if (data_dir / "trim").is_file():
        for k, v in read_kaldi_map(data_dir / "trim").items():
            start, _, duration = map(float, v.split())
            trims[k] = (start, duration)
    index: Dict[str, Optional[Path]] = {}
    phone_texts: Dict[str, str] = {}
    durations: Dict[str, str] = {}
    dropped: Dict[str, str] = {}
    for utt in tqdm(texts, desc=f"TextGrids of {data_dir.name}", leave=False):
        try:
            if utt not in num_samples:
                raise UtteranceError("no_num_samples", f"not in {data_dir}/utt2num_samples")
            path = find_textgrid(textgrid_dir, utt, index)
            try:
                textgrid = load_textgrid(path)
            except ValueError as e:
                raise UtteranceError("bad_textgrid", str(e)) from None
            offset, original = trims.get(utt, (0.0, None))
            tokens, durs = textgrid_to_durations(
                textgrid, num_samples[utt], fs, n_shift, words_tier, phones_tier, offset, original
            )
        except UtteranceError as e:
            if on_error == "stop":
                raise SystemExit(f"{data_dir}: utterance {utt}: {e.reason}: {e}")
            logging.warning(f"{data_dir}: dropping {utt}: {e.reason}: {e}")
            dropped[utt] = f"{e.reason}: {e}"
            continue
        phone_texts[utt] = " ".join(tokens)
        durations[utt] = " ".join(map(str, durs))
    if not durations:
        raise SystemExit(f"{data_dir}: no utterance has a usable TextGrid in {textgrid_dir}")

    if not (data_dir / "text.orig").exists():
        shutil.copyfile(data_dir / "text", data_dir / "text.orig")
    write_kaldi_map(durations_out, durations)
    write_kaldi_map(data_dir / "text", phone_texts)  # the kept ones only: not among drop_utterances' files
    if dropped:
        drop_utterances(data_dir, durations, dropped, files=("wav.scp", "utt2spk", "utt2num_samples"))
        reasons = Counter(r.split(":")[0] for r in dropped.values())
        logging.warning(f"{data_dir}: dropped {len(dropped)} of {len(texts)} utterances ({dict(reasons)})")
    logging.info(
        f"{data_dir}: {len(durations)} utterances -> {durations_out}; text rewritten to MFA "
        f"phones (original in {data_dir / 'text.orig'})"
    )
    return dropped
