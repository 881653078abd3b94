"""Training augmentation that teaches the decoder to render the pitch and energy it is given.

A random part of each batch gets its recording pitch-shifted (formants kept, by cepstral
liftering), range-scaled and gained, and the decoder's pitch and energy inputs the same
:class:`~prosody_plugin.tts.variance_controls.VarianceControls` edit. Why and how:
docs/prosody_control.md (A decoder that follows).
"""

import inspect
import math
from typing import Optional, Tuple

import torch
from espnet.nets.pytorch_backend.fastspeech.length_regulator import LengthRegulator

from prosody_plugin.tts.variance_controls import utterance_mean


class VarianceAugmentation:
    """Random pitch shifts and gains of training utterances, and the matching input edits.

    Args:
        probability: Chance that an utterance is pitch-shifted (and, independently, gained).
        max_semitones: Shifts drawn uniformly from [-max_semitones, max_semitones].
        max_db: Gains drawn uniformly from [-max_db, max_db].
        max_range: Pitch ranges drawn log-uniformly from [1 / max_range, max_range]; 1: none.
        envelope_quefrency_ms: Cepstral lifter of the envelope; below the voice's shortest
            pitch period.
    """

    def __init__(
        self,
        probability: float = 0.5,
        max_semitones: float = 4.0,
        max_db: float = 6.0,
        max_range: float = 1.0,
        envelope_quefrency_ms: float = 1.8,
    ):
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"variance_augmentation: probability must be in [0, 1], got {probability}")
        if max_semitones < 0 or max_db < 0 or envelope_quefrency_ms <= 0:
            raise ValueError(
                "variance_augmentation: max_semitones and max_db must be >= 0 and envelope_quefrency_ms > 0, "
                f"got {max_semitones}, {max_db}, {envelope_quefrency_ms}"
            )
        self.probability = probability
        self.max_semitones = max_semitones
        if max_range < 1.0:
            raise ValueError(f"variance_augmentation: max_range must be >= 1, got {max_range}")
        self.max_db = max_db
        self.max_range = max_range
        self.envelope_quefrency_ms = envelope_quefrency_ms
        self.expand = LengthRegulator()  # ESPnet's: token values -> frames by durations

    def draw(self, batch_size: int, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per utterance (B,): pitch shift in semitones, gain in dB and pitch range (0, 0, 1
        where not drawn)."""

        def uniform(limit: float) -> torch.Tensor:
            values = (torch.rand(batch_size, device=device) * 2.0 - 1.0) * limit
            return values * (torch.rand(batch_size, device=device) < self.probability)

        ranges = torch.exp(uniform(math.log(self.max_range)))
        return uniform(self.max_semitones), uniform(self.max_db), ranges

    def frame_semitones(
        self,
        semitones: torch.Tensor,
        ranges: torch.Tensor,
        pitch: torch.Tensor,
        durations: torch.Tensor,
        pad: torch.Tensor,
        pitch_std: float,
        num_frames: int,
    ) -> torch.Tensor:
        """The pitch shift of every frame (B, T_feats) that a shift and a range make.

        The range moves each token's pitch by ``(range - 1) * (p - mean)``, as
        :class:`~prosody_plugin.tts.variance_controls.VarianceControls` does.

        Args:
            semitones, ranges (Tensor): (B,) per utterance.
            pitch (Tensor): (B, T_text + 1, 1) normalised token pitch.
            durations (LongTensor): (B, T_text + 1) token durations in frames.
            pad (BoolTensor): (B, T_text + 1, 1) True at padded tokens.
            pitch_std (float): The pitch normaliser's standard deviation (1: none).
            num_frames (int): T_feats.
        """
        deviation = (
            (pitch - utterance_mean(pitch, pad)).masked_fill(pad, 0.0) * pitch_std * (12.0 / math.log(2.0))
        )
        per_token = semitones[:, None, None] + (ranges[:, None, None] - 1.0) * deviation  # (B, T_text + 1, 1)
        frames = self.expand(per_token, durations)[..., 0]  # (B, max total duration)
        frames = frames[:, :num_frames]
        return torch.nn.functional.pad(frames, (0, num_frames - frames.size(1)))

    def edit_magnitudes(
        self, magnitudes: torch.Tensor, semitones: torch.Tensor, db: torch.Tensor, fs: int
    ) -> torch.Tensor:
        """Pitch-shift (envelope and frame energy kept) and scale STFT magnitudes.

        Args:
            magnitudes (Tensor): (B, T_feats, n_fft // 2 + 1), linear.
            semitones (Tensor): (B,) or (B, T_feats) shift.
            db (Tensor): (B,) gain.
            fs (int): Sampling rate.

        Returns:
            Tensor: Edited magnitudes, same shape.
        """
        num_bins = magnitudes.size(-1)
        n_fft = 2 * (num_bins - 1)
        log_mag = torch.log(magnitudes.clamp(min=1e-5))
        cepstrum = torch.fft.irfft(log_mag, n=n_fft, dim=-1)
        cutoff = max(1, min(int(round(self.envelope_quefrency_ms * 1e-3 * fs)), n_fft // 2 - 1))
        lifter = torch.zeros(n_fft, device=magnitudes.device, dtype=log_mag.dtype)
        lifter[:cutoff] = 1.0
        lifter[n_fft - cutoff + 1 :] = 1.0
        envelope = torch.fft.rfft(cepstrum * lifter, n=n_fft, dim=-1).real
        fine = log_mag - envelope
        # fine'(k) = fine(k / ratio), linear interpolation; past the top bin the top bin repeats
        if semitones.dim() == 1:
            semitones = semitones[:, None].expand(-1, fine.size(1))
        ratio = torch.pow(2.0, semitones / 12.0).to(log_mag.dtype)[..., None]  # (B, T_feats, 1)
        source = torch.arange(num_bins, device=magnitudes.device, dtype=log_mag.dtype) / ratio
        source = source.clamp(max=num_bins - 1)
        low = source.floor().long()
        high = (low + 1).clamp(max=num_bins - 1)
        weight = source - low.to(source.dtype)
        shifted = fine.gather(-1, low) * (1.0 - weight) + fine.gather(-1, high) * weight
        unchanged = (semitones == 0).all(dim=1)[:, None, None]
        fine = torch.where(unchanged, fine, shifted)
        edited = torch.exp(envelope + fine)
        # each frame keeps its energy (ESPnet's Energy: the L2 norm over frequency) times the gain
        norm = lambda m: m.pow(2).sum(dim=-1, keepdim=True).clamp(min=1e-10).sqrt()  # noqa: E731
        gain = torch.pow(10.0, db / 20.0).to(log_mag.dtype)[:, None, None]
        edited = edited * (gain * norm(magnitudes) / norm(edited))
        # utterances drawn neither shift nor gain keep their exact magnitudes
        untouched = unchanged & (db == 0)[:, None, None]
        return torch.where(untouched, magnitudes, edited)


def build_variance_augmentation(conf: Optional[dict]) -> Optional[VarianceAugmentation]:
    """The training config's ``variance_augmentation: {...}`` -> the augmentation (None: off)."""
    if not conf:
        return None
    unknown = set(conf) - set(inspect.signature(VarianceAugmentation).parameters)
    if unknown:
        raise ValueError(f"variance_augmentation: unknown option(s) {', '.join(sorted(unknown))}")
    return VarianceAugmentation(**conf)


__all__ = ["VarianceAugmentation", "build_variance_augmentation"]
