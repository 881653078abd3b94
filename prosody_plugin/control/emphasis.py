"""Word emphasis: a direction in CAMP's word-prosody space, read from the trained model at its training words.

CAMP's stage one encodes every word of a recording to one vector, and its stage two
predicts that vector from text; a word's prosody is one point of that space. Emphasis is a
move along the direction of that space in which the model makes a word more prominent:

    prominence(w) = F0 range / s_range + mean log-duration / s_dur + mean energy / s_energy
                    of the model's own predictions over the phones of word w (its variance
                    adaptor, conditioned on the word embeddings), each over its standard
                    deviation s across the training words
    direction     = the mean over the training words of d prominence(w) / d e_w, at the
                    recordings' own embeddings e (stage 9's targets), scaled to unit length

So the direction is read from the model where it matters (a move along it raises what the
decoder is given for that word), at the points of the space real words occupy. Whether it
also matches how prominent the words *sounded* is checked, not assumed: the projection of
the recordings' embeddings on it is correlated with the words' measured F0 range, duration
per phone and energy in the recordings (the model's pitch and energy extraction pooled into
speech-only word spans, as the word-level scoring does), and the correlations are saved
with the direction. :func:`emphasis_from_recordings` computes both (recipe stage 9,
``python -m prosody_plugin.bin.fit_emphasis``).

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
    """The emphasis direction of a word-prosody space (module docstring).

    Attributes:
        direction: Unit vector (D,).
        mean, std: Mean and standard deviation of the training words' projections.
        num_words: Words it was fitted on.
        correlations: Pearson correlation, over the training words, of the projection of
            the recordings' embeddings with each word measure of the recordings: whether the
            direction the model reads as "more prominent" is the one the recordings show.
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
    durations: np.ndarray, log_f0: np.ndarray, energy: np.ndarray, word_ids: np.ndarray, num_words, frame_shift_s
) -> Dict[str, np.ndarray]:
    """F0 range (cents), duration per phone (ms) and energy (dB) of each word (W,).

    The arguments are :func:`~prosody_plugin.evaluation.metrics.word_prosody`'s, which
    measures the words (``word_ids`` -1 outside the speech-only word spans); a word's phone
    count is its number of tokens in its span.
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
        xs: Token ids with eos (1, T_text + 1).
        embeddings: The recording's word embeddings (W, D) (stage 9's target).
        measures: :data:`MEASURES` -> (W,) values measured on the recording (for the report).
    """

    xs: torch.Tensor
    embeddings: torch.Tensor
    measures: Dict[str, np.ndarray]


def predicted_prominence_parts(tts, item: WordItem, embeddings: torch.Tensor) -> torch.Tensor:
    """The model's predicted F0 range, mean log-duration and mean energy of each word (W, 3).

    Differentiable in ``embeddings`` (W, D): CAMP's conditioning, then its variance adaptor
    as :func:`~prosody_plugin.tts.batch_inference.batch_text_to_mel` runs it (one utterance: no padding).
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
        parts.append(torch.stack([
            pitch[phones].max() - pitch[phones].min(), log_duration[phones].mean(), energy[phones].mean(),
        ]))  # fmt: skip
    return torch.stack(parts)


def fit_emphasis_direction(tts, items: Sequence[WordItem]) -> EmphasisDirection:
    """The emphasis direction of a per-word model (module docstring) from recordings' words.

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
        raise ValueError("emphasis: the model's predictions do not depend on the word embeddings (zero gradient)")
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
    model, preprocess, texts: Mapping[str, str], wavs: Mapping[str, str], durations: Mapping[str, str],
    targets: Mapping[str, np.ndarray],
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
    items = []
    for utt, target in targets.items():
        if utt not in texts or utt not in wavs or utt not in durations:
            logging.warning(f"{utt}: no text, wav or durations: left out of the emphasis fit")
            continue
        ids = torch.from_numpy(preprocess(utt, {"text": texts[utt]})["text"])
        xs, ilens = tts._tokens_with_eos(ids[None], ids.new_tensor([len(ids)]))
        spans, num_words = word_ids(xs, ilens, tts.token_is_boundary, tts.token_is_punctuation, pauses_in_words=False)
        if int(num_words[0]) != len(target):
            logging.warning(f"{utt}: {int(num_words[0])} words in the tokens, {len(target)} in the target: left out")
            continue
        with torch.no_grad():
            speech = torch.from_numpy(sf.read(wavs[utt], dtype="float32")[0])
            token_durations = torch.tensor([int(d) for d in durations[utt].split()])
            feats = model.reference_feats(speech)
            natural = model.natural_variances(**model.reference_variances(speech, token_durations, len(feats)))
        measures = word_measures(
            token_durations.numpy(), natural["pitch"].numpy(), natural["energy"].numpy(), spans[0].numpy(),
            len(target), frame_shift_s,
        )  # fmt: skip
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
