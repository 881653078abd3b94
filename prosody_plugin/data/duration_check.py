"""Check phone durations against the tokens and frames training will see, then place the pauses (recipe stage 4).

:func:`check_durations` drops (or stops on) every utterance whose durations do not fit;
:func:`place_pauses_of_set` moves the pauses onto the word-boundary tokens
(:mod:`prosody_plugin.data.pauses`). docs/recipes.md (Stage 4).
"""

import logging
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import soundfile as sf
from espnet2.train.preprocessor import CommonPreprocessor
from tqdm import tqdm

from prosody_plugin.data.kaldi_dir import drop_utterances, read_kaldi_map, write_kaldi_map
from prosody_plugin.data.pauses import PauseConfig, refine_durations
from prosody_plugin.text.word_boundaries import EOS_TOKEN


def duration_problem(
    durations: Optional[List[int]], num_tokens: int, num_samples: int, n_shift: int
) -> Optional[str]:
    """Return what is wrong with one utterance's durations, or None."""
    if durations is None:
        return "no durations"
    if len(durations) != num_tokens + 1:
        return f"{len(durations)} durations for {num_tokens} tokens + eos"
    if any(d < 0 for d in durations):
        return "negative duration"
    num_frames = num_samples // n_shift + 1
    if sum(durations) != num_frames:
        return f"durations sum to {sum(durations)} frames, the audio has {num_frames}"
    return None


def check_durations(
    data_dir: Path,
    durations_in: Path,
    durations_out: Path,
    preprocessor: CommonPreprocessor,
    n_shift: int,
    on_error: str = "drop",
    pauses: Optional[PauseConfig] = None,
) -> Dict[str, str]:
    """Write the durations of the valid utterances (pauses placed with ``pauses``); drop or stop on the others.

    Returns:
        Dict[str, str]: Dropped utterance -> reason.
    """
    texts = read_kaldi_map(data_dir / "text")
    num_samples = {k: int(v) for k, v in read_kaldi_map(data_dir / "utt2num_samples").items()}
    all_durations = {k: [int(d) for d in v.split()] for k, v in read_kaldi_map(durations_in).items()}
    good: Dict[str, str] = {}
    dropped: Dict[str, str] = {}
    for utt, text in tqdm(texts.items(), desc=f"check durations {data_dir.name}", leave=False):
        tokens = preprocessor(utt, {"text": text})["text"]
        problem = duration_problem(all_durations.get(utt), len(tokens), num_samples[utt], n_shift)
        if problem is None:
            good[utt] = " ".join(map(str, all_durations[utt]))
            continue
        if on_error == "stop":
            raise SystemExit(f"{data_dir}: utterance {utt}: {problem} ({durations_in})")
        logging.warning(f"{data_dir}: dropping {utt}: {problem}")
        dropped[utt] = problem
    if not good:
        raise SystemExit(f"{data_dir}: no utterance has usable durations in {durations_in}")
    write_kaldi_map(durations_out, good)
    if dropped:
        drop_utterances(data_dir, good, {u: f"durations: {r}" for u, r in dropped.items()})
        logging.warning(f"{data_dir}: dropped {len(dropped)} of {len(texts)} utterances")
    logging.info(f"{data_dir}: {len(good)} utterances with valid durations -> {durations_out}")
    if pauses is not None:
        place_pauses_of_set(data_dir, durations_out, preprocessor, n_shift, pauses)
    return dropped


def place_pauses_of_set(
    data_dir: Path, durations_path: Path, preprocessor: CommonPreprocessor, n_shift: int, config: PauseConfig
) -> Dict[str, float]:
    """Move the pauses of a set's durations onto its word-boundary tokens; check the last words.

    Rewrites ``durations_path`` (the input stays in ``<durations_path>.checked``), writes
    ``pauses`` (``utt num_pauses num_placed moved_frames late_before_ms late_after_ms``) and
    ``warnings`` beside it.

    Returns:
        Dict[str, float]: Utterances whose last word ends more than ``config.max_late_ms``
        after the speech, and by how much (ms).
    """
    durations = {k: np.array(v.split(), dtype=np.int64) for k, v in read_kaldi_map(durations_path).items()}
    texts = read_kaldi_map(data_dir / "text")
    wavs = read_kaldi_map(data_dir / "wav.scp")
    converter = preprocessor.token_id_converter
    new, rows, late = {}, {}, {}
    late_before = []
    totals = np.zeros(3, dtype=np.int64)
    for utt, d in tqdm(durations.items(), desc=f"pauses {data_dir.name}", leave=False):
        tokens = converter.ids2tokens(preprocessor(utt, {"text": texts[utt]})["text"]) + [EOS_TOKEN]
        try:
            wav, fs = sf.read(wavs[utt], dtype="float32", always_2d=True)
        except (RuntimeError, OSError) as e:  # soundfile's LibsndfileError is a RuntimeError
            raise SystemExit(f"{data_dir}: utterance {utt}: cannot read {wavs[utt]}: {e}") from None
        result = refine_durations(d, tokens, wav[:, 0], fs, n_shift, config)
        new[utt] = " ".join(map(str, result.durations))
        totals += (result.num_pauses, result.num_placed, result.moved_frames)
        rows[utt] = " ".join(
            [
                str(result.num_pauses),
                str(result.num_placed),
                str(result.moved_frames),
                *("nan" if v is None else f"{v:.0f}" for v in (result.late_before_ms, result.late_after_ms)),
            ]
        )
        if result.late_before_ms is not None and result.late_before_ms > config.max_late_ms:
            late_before.append(utt)
        if result.late_after_ms is not None and result.late_after_ms > config.max_late_ms:
            late[utt] = result.late_after_ms
    out_dir = durations_path.parent
    checked = durations_path.with_name(durations_path.name + ".checked")
    durations_path.replace(checked)
    write_kaldi_map(durations_path, new)
    write_kaldi_map(out_dir / "pauses", rows)
    with open(out_dir / "warnings", "w", encoding="utf-8") as f:
        for utt, ms in sorted(late.items()):
            f.write(f"{utt}\tlate_last_word\tthe last word ends {ms:.0f} ms after the speech\n")
    name = data_dir.name
    if config.move:
        logging.info(
            f"{name}: {totals[0]} pauses (>= {config.min_pause_ms:.0f} ms, or trailing silence) in {len(new)} "
            f"utterances, {totals[1]} placed on word boundaries, {totals[2]} frames moved "
            f"(before: {checked}); last word more than {config.max_late_ms:.0f} ms after the speech: "
            f"{len(late_before)} utterances before, {len(late)} after"
        )
    if late:
        logging.warning(
            f"{name}: in {len(late)} utterances the aligned last word ends more than {config.max_late_ms:.0f} ms "
            f"after the speech (trailing silence or noise taken for speech; listed in {out_dir / 'warnings'}): "
            + ", ".join(f"{u} ({ms:.0f} ms)" for u, ms in sorted(late.items())[:20])
            + (" ..." if len(late) > 20 else "")
        )
    return late
