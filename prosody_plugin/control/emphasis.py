"""Word emphasis: a direction in CAMP's word-prosody space, read from the trained model at its training words.

:func:`emphasis_from_recordings` fits the :class:`EmphasisDirection` (recipe stage 9,
``prosody_plugin.bin.fit_emphasis``); systems without per-word embeddings use
:data:`FALLBACK_CONTROLS`. The definition and levels: docs/prosody_control.md (Emphasis).
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Union

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
    """The emphasis direction of a word-prosody space.

    Attributes:
        direction: (D,) unit vector.
        mean, std: Mean and standard deviation of the training words' projections.
        num_words: Words it was fitted on.
        correlations: Pearson correlation of the recordings' projections with each word
            measure of the recordings (does the model's direction match what they show).
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
            path,
            direction=self.direction.astype(np.float32),
            mean=self.mean,
            std=self.std,
            num_words=self.num_words,
            correlation_names=np.array(names),
            correlations=np.array([self.correlations[n] for n in names]),
        )

    @classmethod
    def load(cls, path: Union[str, Path]) -> "EmphasisDirection":
        with np.load(path) as data:
            try:
                return cls(
                    direction=data["direction"].astype(np.float32),
                    mean=float(data["mean"]),
                    std=float(data["std"]),
                    num_words=int(data["num_words"]),
                    correlations=dict(zip(data["correlation_names"].tolist(), data["correlations"].tolist())),
                )
            except KeyError as e:
                raise ValueError(f"{path}: not an emphasis direction file (no {e})") from None


def word_measures(
    durations: np.ndarray,
    log_f0: np.ndarray,
    energy: np.ndarray,
    word_ids: np.ndarray,
    num_words,
    frame_shift_s,
) -> Dict[str, np.ndarray]:
    """F0 range (cents), duration per phone (ms) and energy (dB) of each word, each (W,).

    Token inputs as :func:`~prosody_plugin.evaluation.metrics.word_prosody` takes them.
    """
    from prosody_plugin.evaluation.metrics import word_prosody

    words = word_prosody(durations, log_f0, energy, word_ids, num_words, frame_shift_s)
    phones = np.bincount(word_ids[word_ids >= 0], minlength=num_words)[:num_words]
    return dict(
        f0_range_cents=words.f0_range_cents,
        duration_ms_per_phone=words.duration_ms / np.maximum(phones, 1),
        energy_db=words.energy_db,
    )


@dataclass
class WordItem:
    """One recording's word embeddings and its tokens, for the direction fit.

    Attributes:
        xs: (1, T_text + 1) token ids with eos.
        embeddings: (W, D) the recording's word embeddings (stage 9's target).
        measures: :data:`MEASURES` -> (W,) values measured on the recording.
    """

    xs: torch.Tensor
    embeddings: torch.Tensor
    measures: Dict[str, np.ndarray]


def predicted_prominence_parts(tts, item: WordItem, embeddings: torch.Tensor) -> torch.Tensor:
    """The model's predicted F0 range, mean log-duration and mean energy of each word (W, 3).

    Differentiable in ``embeddings`` (W, D): CAMP's conditioning, then its variance adaptor.
    """
    from prosody_plugin.text.word_boundaries import word_ids
    from prosody_plugin.tts.batch_inference import masked_encoder

    xs = item.xs
    ilens = torch.tensor([xs.size(1)])
    hs = masked_encoder(tts.encoder, xs, ilens) + tts.conditioning([embeddings], xs, ilens)
    pitch = tts.pitch_predictor(hs)[0, :, 0]
    energy = tts.energy_predictor(hs)[0, :, 0]
    log_duration = tts.duration_predictor(hs)[0]  # log domain (training-mode forward)
    spans, _ = word_ids(xs, ilens, tts.token_is_boundary, tts.token_is_punctuation, pauses_in_words=False)
    parts = []
    for w in range(len(embeddings)):
        phones = spans[0] == w
        parts.append(
            torch.stack(
                [
                    pitch[phones].max() - pitch[phones].min(),
                    log_duration[phones].mean(),
                    energy[phones].mean(),
                ]
            )
        )
    return torch.stack(parts)


def fit_emphasis_direction(tts, items: Sequence[WordItem]) -> EmphasisDirection:
    """The direction: mean over training words of d prominence(w) / d e_w, unit length.

    Args:
        tts: The stage-one module (CAMP), in eval mode.
        items: The recordings' tokens, word embeddings and measured word prosody.
    """
    with torch.no_grad():  # first pass: the scale of each predicted measure over the words
        parts = torch.cat([predicted_prominence_parts(tts, item, item.embeddings) for item in items])
    scale = parts.std(dim=0)
    n, d = sum(len(item.embeddings) for item in items), items[0].embeddings.size(1)
    if n < max(10, 2 * d):
        raise ValueError(f"emphasis: {n} words, too few to fit a {d}-dim direction (need {max(10, 2 * d)})")
    if not bool((scale > 0).all()):
        raise ValueError(f"emphasis: a predicted measure does not vary over the words (std {scale.tolist()})")
    gradient = torch.zeros(d)
    for item in items:
        embeddings = item.embeddings.clone().requires_grad_(True)
        prominence = (predicted_prominence_parts(tts, item, embeddings) / scale).sum(dim=1)  # (W,)
        for w in range(len(prominence)):  # d prominence(w) / d e_w: the word's own row only
            (grad,) = torch.autograd.grad(prominence[w], embeddings, retain_graph=w < len(prominence) - 1)
            gradient += grad[w]
    norm = float(gradient.norm())
    if not norm > 0:
        raise ValueError(
            "emphasis: the model's predictions do not depend on the word embeddings (zero gradient)"
        )
    direction = (gradient / norm).numpy().astype(np.float32)
    embeddings = torch.cat([item.embeddings for item in items]).numpy().astype(np.float64)
    projection = embeddings @ direction
    correlations = {}
    values = {m: np.concatenate([item.measures[m] for item in items]) for m in MEASURES}
    for m, v in values.items():
        ok = np.isfinite(v)
        correlations[m] = float(np.corrcoef(projection[ok], v[ok])[0, 1]) if ok.sum() > 2 else float("nan")
    return EmphasisDirection(direction, float(projection.mean()), float(projection.std()), n, correlations)


def emphasis_from_recordings(
    model,
    preprocess,
    texts: Mapping[str, str],
    wavs: Mapping[str, str],
    durations: Mapping[str, str],
    targets: Mapping[str, np.ndarray],
) -> EmphasisDirection:
    """Fit the direction of a trained per-word system on recordings and their stage-one targets.

    Args:
        model: The ``ProsodyESPnetTTSModel`` (eval mode) of a per-word system (CAMP).
        preprocess: Its preprocessor (text -> token ids).
        texts, wavs, durations: Kaldi maps ``text``, ``wav.scp`` and phone durations (eos included).
        targets: Utterance -> its stage-one target (W, D) (stage 9's ``target.scp``).
    """
    import soundfile as sf

    from prosody_plugin.text.word_boundaries import word_ids

    tts = model.tts
    if not getattr(tts, "per_word", False):
        raise ValueError(f"emphasis directions are fitted for per-word systems, not {type(tts).__name__}")
    frame_shift_s = model.feats_extract.hop_length / model.feats_extract.fs
    items = []
    for utt, target in targets.items():
        if utt not in texts or utt not in wavs or utt not in durations:
            logging.warning(f"{utt}: no text, wav or durations: left out of the emphasis fit")
            continue
        ids = torch.from_numpy(preprocess(utt, {"text": texts[utt]})["text"])
        xs, ilens = tts._tokens_with_eos(ids[None], ids.new_tensor([len(ids)]))
        spans, num_words = word_ids(
            xs, ilens, tts.token_is_boundary, tts.token_is_punctuation, pauses_in_words=False
        )
        if int(num_words[0]) != len(target):
            logging.warning(
                f"{utt}: {int(num_words[0])} words in the tokens, {len(target)} in the target: left out"
            )
            continue
        with torch.no_grad():
            speech = torch.from_numpy(sf.read(wavs[utt], dtype="float32")[0])
            token_durations = torch.tensor([int(d) for d in durations[utt].split()])
            feats = model.reference_feats(speech)
            natural = model.natural_variances(
                **model.reference_variances(speech, token_durations, len(feats))
            )
        measures = word_measures(
            token_durations.numpy(),
            natural["pitch"].numpy(),
            natural["energy"].numpy(),
            spans[0].numpy(),
            len(target),
            frame_shift_s,
        )
        items.append(WordItem(xs, torch.as_tensor(np.asarray(target), dtype=torch.float32), measures))
    if not items:
        raise ValueError("emphasis: no utterance could be measured")
    logging.info(f"emphasis: {len(items)} utterances")
    return fit_emphasis_direction(tts, items)


__all__ = [
    "EMPHASIS_STEPS",
    "FALLBACK_CONTROLS",
    "MEASURES",
    "EmphasisDirection",
    "WordItem",
    "predicted_prominence_parts",
    "check_level",
    "emphasis_from_recordings",
    "fit_emphasis_direction",
    "word_measures",
]
