"""Word emphasis: a direction in CAMP's word-prosody space learnt from the recordings.

CAMP's stage one encodes every word of a recording to one vector, and its stage two
predicts that vector from text; a word's prosody is one point of that space. Emphasis is a
move along the direction of the space that best predicts how prominent words were in the
training recordings:

    prominence = z(F0 range) + z(duration per phone) + z(energy)    z: standardised over the words
    direction  = ridge regression of prominence on the word embeddings, scaled to unit length

The F0 range, duration and energy of each word come from the recording itself (the
model's own token-level pitch and energy extraction, pooled into speech-only word spans as
the word-level scoring does: :func:`prosody_plugin.evaluation.metrics.word_prosody`); the
duration is divided by the word's phone count, so that long words are not "prominent" for
their length. :func:`fit_emphasis_direction` fits it, :func:`emphasis_from_recordings`
gathers the data of a data dir (recipe stage 9, ``python -m prosody_plugin.bin.fit_emphasis``).

A level moves a word's embedding ``e`` along the unit direction ``u``, in units of the
standard deviation ``s`` of the training words' projections ``e . u`` (mean ``m``):

    ========  =========================================
    reduced   e - 1 s u
    none      e + (m - e . u) u   (an average word)
    moderate  e + 1 s u
    strong    e + 2 s u
    ========  =========================================

Systems without a per-word representation (Kathaka, the FastSpeech2 baseline) emphasise a
word with the per-word variance controls of :data:`FALLBACK_CONTROLS` instead: a fixed
recipe (longer, higher, wider, louder), not one learnt from the data.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional, Union

import numpy as np
import torch

#: The levels (W3C SSML's ``<emphasis level>``) and their step along the direction, in
#: standard deviations of the training words' projections ("none": to the mean).
EMPHASIS_STEPS: Dict[str, Optional[float]] = {"reduced": -1.0, "none": None, "moderate": 1.0, "strong": 2.0}

#: Per-word variance controls that stand for emphasis where there is no word-level
#: representation to move (Kathaka, the baseline).
FALLBACK_CONTROLS: Dict[str, Dict[str, float]] = {
    "reduced": dict(rate=1.1, pitch_semitones=-1.0, pitch_range=0.7, energy_db=-3.0),
    "none": {},
    "moderate": dict(rate=0.9, pitch_semitones=1.5, pitch_range=1.3, energy_db=3.0),
    "strong": dict(rate=0.8, pitch_semitones=3.0, pitch_range=1.6, energy_db=6.0),
}

#: The word measures of prominence (keys of :func:`word_measures`).
MEASURES = ("f0_range_cents", "duration_ms_per_phone", "energy_db")


def check_level(level: str) -> str:
    """``level`` when it is an emphasis level; ValueError naming the known ones."""
    if level not in EMPHASIS_STEPS:
        raise ValueError(f"unknown emphasis level {level!r}; known: {', '.join(EMPHASIS_STEPS)}")
    return level


@dataclass
class EmphasisDirection:
    """The emphasis direction of a word-prosody space (module docstring).

    Attributes:
        direction: Unit vector (D,).
        mean, std: Mean and standard deviation of the training words' projections.
        num_words: Words it was fitted on.
        correlations: Pearson correlation of the projection with each measure and with the
            prominence over the training words: how much of prominence the direction carries.
    """

    direction: np.ndarray
    mean: float
    std: float
    num_words: int
    correlations: Dict[str, float] = field(default_factory=dict)

    def emphasize(self, embedding: torch.Tensor, level: str) -> torch.Tensor:
        """The embedding (D,) of a word moved to an emphasis level."""
        check_level(level)
        if embedding.shape[-1] != len(self.direction):
            raise ValueError(
                f"emphasis: a {embedding.shape[-1]}-dim word embedding, but the direction was fitted on "
                f"{len(self.direction)}-dim ones (another model?)"
            )
        u = torch.as_tensor(self.direction, dtype=embedding.dtype, device=embedding.device)
        step = EMPHASIS_STEPS[level]
        if step is None:
            return embedding + (self.mean - embedding @ u) * u
        return embedding + step * self.std * u

    def save(self, path: Union[str, Path]) -> None:
        names = list(self.correlations)
        np.savez(
            path, direction=self.direction.astype(np.float32), mean=self.mean, std=self.std, num_words=self.num_words,
            correlation_names=np.array(names), correlations=np.array([self.correlations[n] for n in names]),
        )  # fmt: skip

    @classmethod
    def load(cls, path: Union[str, Path]) -> "EmphasisDirection":
        with np.load(path) as data:
            try:
                return cls(
                    direction=data["direction"].astype(np.float32), mean=float(data["mean"]), std=float(data["std"]),
                    num_words=int(data["num_words"]),
                    correlations=dict(zip(data["correlation_names"].tolist(), data["correlations"].tolist())),
                )  # fmt: skip
            except KeyError as e:
                raise ValueError(f"{path}: not an emphasis direction file (no {e})") from None


def word_measures(
    durations: np.ndarray,
    log_f0: np.ndarray,
    energy: np.ndarray,
    word_ids: np.ndarray,
    num_words: int,
    frame_shift_s: float,
) -> Dict[str, np.ndarray]:
    """F0 range (cents), duration per phone (ms) and energy (dB) of each word (W,).

    Token inputs as :func:`~prosody_plugin.evaluation.metrics.word_prosody` takes them
    (``word_ids`` -1 outside the speech-only word spans); a word's phone count is its
    number of tokens in its span.
    """
    from prosody_plugin.evaluation.metrics import word_prosody

    words = word_prosody(durations, log_f0, energy, word_ids, num_words, frame_shift_s)
    phones = np.bincount(word_ids[word_ids >= 0], minlength=num_words)[:num_words]
    return dict(
        f0_range_cents=words.f0_range_cents,
        duration_ms_per_phone=words.duration_ms / np.maximum(phones, 1),
        energy_db=words.energy_db,
    )


def fit_emphasis_direction(
    embeddings: np.ndarray, measures: Mapping[str, np.ndarray], ridge: float = 0.01
) -> EmphasisDirection:
    """Fit the direction (module docstring) on N words.

    Args:
        embeddings: Word embeddings (N, D).
        measures: :data:`MEASURES` -> (N,) values; words with a nan (e.g. unvoiced, no F0
            range) are left out.
        ridge: L2 penalty of the regression, relative to the embeddings' mean variance.

    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    values = np.stack([np.asarray(measures[m], dtype=np.float64) for m in MEASURES], axis=1)  # (N, 3)
    keep = np.isfinite(values).all(axis=1) & np.isfinite(embeddings).all(axis=1)
    embeddings, values = embeddings[keep], values[keep]
    n, d = embeddings.shape
    if n < max(10, 2 * d):
        raise ValueError(f"emphasis: {n} words with all measures, too few to fit a {d}-dim direction (need {max(10, 2 * d)})")
    spread = values.std(axis=0)
    if not (spread > 0).all():
        raise ValueError(f"emphasis: a measure does not vary over the words ({dict(zip(MEASURES, spread))})")
    prominence = ((values - values.mean(axis=0)) / spread).sum(axis=1)
    centred = embeddings - embeddings.mean(axis=0)
    gram = centred.T @ centred
    # the penalty scales with the embeddings' variance: the same ridge suits any model
    weights = np.linalg.solve(gram + ridge * np.trace(gram) / d * np.eye(d), centred.T @ (prominence - prominence.mean()))
    norm = np.linalg.norm(weights)
    if not norm > 0:
        raise ValueError("emphasis: the embeddings carry no trace of prominence (zero direction)")
    direction = weights / norm
    projection = embeddings @ direction
    correlations = {m: float(np.corrcoef(projection, values[:, i])[0, 1]) for i, m in enumerate(MEASURES)}
    correlations["prominence"] = float(np.corrcoef(projection, prominence)[0, 1])
    return EmphasisDirection(direction.astype(np.float32), float(projection.mean()), float(projection.std()), n, correlations)


@torch.no_grad()
def emphasis_from_recordings(
    model, preprocess, texts: Mapping[str, str], wavs: Mapping[str, str], durations: Mapping[str, str],
    targets: Mapping[str, np.ndarray], ridge: float = 0.01,
) -> EmphasisDirection:
    """Fit the direction of a trained per-word system on recordings and their stage-one targets.

    Args:
        model: The ``ProsodyESPnetTTSModel`` (eval mode) of a per-word system (CAMP).
        preprocess: Its preprocessor (text -> token ids).
        texts, wavs, durations: Kaldi maps of the data dir (``text``, ``wav.scp``) and its
            phone durations (``<utt> d1 d2 ...``, eos included).
        targets: Utterance -> its stage-one target (W, D) (stage 9's ``target.scp``).

    """
    import soundfile as sf

    from prosody_plugin.text.word_boundaries import word_ids

    tts = model.tts
    if not getattr(tts, "per_word", False):
        raise ValueError(f"emphasis directions are fitted for per-word systems, not {type(tts).__name__}")
    frame_shift_s = model.feats_extract.hop_length / model.feats_extract.fs
    embeddings, measures = [], {m: [] for m in MEASURES}
    used = 0
    for utt, target in targets.items():
        if utt not in texts or utt not in wavs or utt not in durations:
            logging.warning(f"{utt}: no text, wav or durations: left out of the emphasis fit")
            continue
        ids = torch.from_numpy(preprocess(utt, {"text": texts[utt]})["text"])
        speech = torch.from_numpy(sf.read(wavs[utt], dtype="float32")[0])
        token_durations = torch.tensor([int(d) for d in durations[utt].split()])
        feats = model.reference_feats(speech)
        natural = model.natural_variances(**model.reference_variances(speech, token_durations, len(feats)))
        xs, ilens = tts._tokens_with_eos(ids[None], ids.new_tensor([len(ids)]))
        spans, num_words = word_ids(xs, ilens, tts.token_is_boundary, tts.token_is_punctuation, pauses_in_words=False)
        if int(num_words[0]) != len(target):
            logging.warning(f"{utt}: {int(num_words[0])} words in the tokens, {len(target)} in the target: left out")
            continue
        values = word_measures(
            token_durations.numpy(), natural["pitch"].numpy(), natural["energy"].numpy(), spans[0].numpy(),
            len(target), frame_shift_s,
        )  # fmt: skip
        embeddings.append(np.asarray(target))
        for m in MEASURES:
            measures[m].append(values[m])
        used += 1
    if not embeddings:
        raise ValueError("emphasis: no utterance could be measured")
    logging.info(f"emphasis: {used} utterances")
    return fit_emphasis_direction(np.concatenate(embeddings), {m: np.concatenate(v) for m, v in measures.items()}, ridge)


__all__ = [
    "EMPHASIS_STEPS",
    "FALLBACK_CONTROLS",
    "MEASURES",
    "EmphasisDirection",
    "check_level",
    "emphasis_from_recordings",
    "fit_emphasis_direction",
    "word_measures",
]
