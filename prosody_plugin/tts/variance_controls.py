"""Prosody controls on FastSpeech2's variance adaptor: speaking rate, pitch, pitch range, energy.

A control edits the predicted durations, pitch and energy before the decoder sees them;
:class:`VarianceControls` holds the edits in the model's normalised units (both
normalisations are affine, so they are exact). Units: docs/prosody_control.md.
"""

import math
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Sequence, Tuple

import torch

#: The neutral value of each control in natural units.
NEUTRAL = dict(rate=1.0, pitch_semitones=0.0, pitch_range=1.0, energy_db=0.0)
#: The controls that compose by multiplying (the others add).
MULTIPLICATIVE = ("rate", "pitch_range")


def normalizer_stats(normalize: Optional[torch.nn.Module]) -> Tuple[float, float]:
    """(mean, std) of a ``GlobalMVN`` of one feature dimension; (0, 1) for none."""
    if normalize is None:
        return 0.0, 1.0
    mean = float(normalize.mean.reshape(-1)[0]) if normalize.norm_means else 0.0
    std = float(normalize.std.reshape(-1)[0]) if normalize.norm_vars else 1.0
    return mean, std


def utterance_mean(values: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
    """Mean over each utterance's tokens (B, 1, 1) of (B, T, 1) values; ``pad`` (B, T, 1)
    is True at padding. The centre that ``pitch_range`` scales around."""
    valid = (~pad).float()
    return (values * valid).sum(dim=1, keepdim=True) / valid.sum(dim=1, keepdim=True).clamp(min=1.0)


@dataclass
class VarianceControls:
    """Edits of a batch's variance predictions, each (B, T_text + 1), in normalised units.

    Applied by :meth:`apply` as::

        durations  d' = d * duration_scale                       (then alpha, rounding)
        pitch      p' = m + pitch_range * (p - m) + pitch_shift  (m: the utterance's mean)
        energy     e' = energy_scale * e + energy_shift
    """

    duration_scale: torch.Tensor
    pitch_range: torch.Tensor
    pitch_shift: torch.Tensor
    energy_scale: torch.Tensor
    energy_shift: torch.Tensor

    @classmethod
    def from_natural(
        cls,
        rate: torch.Tensor,
        pitch_semitones: torch.Tensor,
        pitch_range: torch.Tensor,
        energy_db: torch.Tensor,
        pitch_normalize: Optional[torch.nn.Module] = None,
        energy_normalize: Optional[torch.nn.Module] = None,
    ) -> "VarianceControls":
        """The edits of controls in natural units, each (B, T_text + 1).

        Args:
            rate, pitch_semitones, pitch_range, energy_db (Tensor): Per token.
            pitch_normalize, energy_normalize: The model's ``GlobalMVN`` of pitch and energy
                (None: the model predicts natural values).
        """
        if not bool((rate > 0).all()):
            raise ValueError(f"rate must be positive, got {rate.min().item():g}")
        if not bool((pitch_range >= 0).all()):
            raise ValueError(f"pitch_range must be >= 0, got {pitch_range.min().item():g}")
        for name, value in (("pitch_semitones", pitch_semitones), ("energy_db", energy_db)):
            if not bool(torch.isfinite(value).all()):
                raise ValueError(f"{name} must be finite")
        _, pitch_std = normalizer_stats(pitch_normalize)
        energy_mean, energy_std = normalizer_stats(energy_normalize)
        gain = torch.pow(10.0, energy_db / 20.0)
        return cls(
            duration_scale=1.0 / rate,
            pitch_range=pitch_range,
            pitch_shift=pitch_semitones * (math.log(2.0) / 12.0) / pitch_std,
            energy_scale=gain,
            # e_norm = (e - mu) / sd  ->  (g e - mu) / sd = g e_norm + (g - 1) mu / sd
            energy_shift=(gain - 1.0) * energy_mean / energy_std,
        )

    def apply(
        self, durations: torch.Tensor, pitch: torch.Tensor, energy: torch.Tensor, pad: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Edit predictions of a padded batch.

        Args:
            durations (LongTensor): (B, T_text) predicted durations.
            pitch, energy (Tensor): (B, T_text, 1) normalised predictions.
            pad (BoolTensor): (B, T_text, 1) True at padded tokens.

        Returns:
            Tensor: (B, T_text) duration scale for the length regulator (which rounds).
            Tensor: (B, T_text, 1) pitch, padded tokens 0.
            Tensor: (B, T_text, 1) energy, padded tokens 0.
        """
        t = durations.size(1)
        mean = utterance_mean(pitch, pad)
        pitch_range = self.pitch_range[:, :t, None]
        pitch = mean + pitch_range * (pitch - mean) + self.pitch_shift[:, :t, None]
        energy = self.energy_scale[:, :t, None] * energy + self.energy_shift[:, :t, None]
        return self.duration_scale[:, :t], pitch.masked_fill(pad, 0.0), energy.masked_fill(pad, 0.0)


def compose_controls(first: Mapping[str, float], second: Mapping[str, float]) -> Dict[str, float]:
    """Two sets of controls applied together: rates and ranges multiply, semitones and dB add."""
    composed = dict(first)
    for name, value in second.items():
        if name not in NEUTRAL:
            raise ValueError(f"unknown control {name!r}; known: {', '.join(NEUTRAL)}")
        if name in composed:
            value = composed[name] * value if name in MULTIPLICATIVE else composed[name] + value
        composed[name] = float(value)
    return composed


def token_controls(
    num_tokens: int,
    global_controls: Optional[Mapping[str, float]] = None,
    word_controls: Optional[Mapping[int, Mapping[str, float]]] = None,
    token_word_ids: Optional[Sequence[int]] = None,
    is_phone: Optional[Sequence[bool]] = None,
) -> Dict[str, torch.Tensor]:
    """Per-token controls in natural units of one utterance, eos included: (num_tokens + 1,) each.

    Args:
        num_tokens: Tokens of the text (without eos).
        global_controls: Name -> value for every token (NEUTRAL's names).
        word_controls: Word index -> controls of that word's phones, composed with the global
            ones (rates and ranges multiply, semitones and dB add).
        token_word_ids: Word index of each token (needed with ``word_controls``).
        is_phone: Whether each token is a phone; a word's controls act on its phones only.
    """
    values = {name: torch.full((num_tokens + 1,), neutral) for name, neutral in NEUTRAL.items()}
    for name, value in (global_controls or {}).items():
        if name not in NEUTRAL:
            raise ValueError(f"unknown control {name!r}; known: {', '.join(NEUTRAL)}")
        values[name].fill_(float(value))
    if word_controls:
        if token_word_ids is None or is_phone is None or len(token_word_ids) != num_tokens:
            raise ValueError("word controls need each token's word index and phone flag")
        word_ids = torch.as_tensor(token_word_ids)
        phones = torch.as_tensor(is_phone, dtype=torch.bool)
        num_words = int(word_ids.max()) + 1 if num_tokens else 0
        for word, controls in word_controls.items():
            if not 0 <= int(word) < num_words:
                raise ValueError(f"word {word}: the text has {num_words} words (0..{num_words - 1})")
            where = torch.cat([(word_ids == int(word)) & phones, torch.zeros(1, dtype=torch.bool)])
            for name, value in controls.items():
                if name not in NEUTRAL:
                    raise ValueError(f"word {word}: unknown control {name!r}; known: {', '.join(NEUTRAL)}")
                if name in MULTIPLICATIVE:
                    values[name][where] *= float(value)
                else:
                    values[name][where] += float(value)
    return values


__all__ = [
    "MULTIPLICATIVE",
    "NEUTRAL",
    "VarianceControls",
    "compose_controls",
    "normalizer_stats",
    "token_controls",
    "utterance_mean",
]
