"""Kathaka stage one: FastSpeech2 conditioned on a sentence-level variational prosody latent.

Karlapati et al., "Prosodic Representation Learning and Contextual Sampling for Neural
Text-to-Speech", ICASSP 2021. The reference encoder, the KL scaling, free bits and annealing:
docs/architecture.md (Kathaka).
"""

from typing import Dict, Optional, Sequence, Tuple

import torch
from espnet2.tts.gst.style_encoder import ReferenceEncoder
from torch.nn.utils.rnn import pack_padded_sequence

from prosody_plugin.tts.prosody_fastspeech2 import ProsodyFastSpeech2


class LengthAwareReferenceEncoder(ReferenceEncoder):
    """ESPnet's GST reference encoder with its GRU stopped at each utterance's last frame.

    ESPnet's runs over the batch padding, so an embedding would depend on the batch.
    """

    def forward(self, speech: torch.Tensor, speech_lengths: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Encode (B, T_feats, idim) mel-spectrograms to (B, gru_units)."""
        if speech_lengths is None:
            return super().forward(speech)
        hs = self.convs(speech.unsqueeze(1)).transpose(1, 2)  # (B, T', C, idim')
        hs = hs.contiguous().view(hs.size(0), hs.size(1), -1)  # (B, T', C * idim')
        lengths = speech_lengths
        for _ in range(self.conv_layers):
            lengths = (lengths - self.kernel_size + 2 * self.padding) // self.stride + 1
        lengths = lengths.clamp(min=1, max=hs.size(1))
        packed = pack_padded_sequence(hs, lengths.cpu(), batch_first=True, enforce_sorted=False)
        self.gru.flatten_parameters()
        _, ref_embs = self.gru(packed)  # (gru_layers, B, gru_units)
        return ref_embs[-1]


class Kathaka(ProsodyFastSpeech2):
    """FastSpeech2 conditioned on a sample of an utterance-level Gaussian prosody latent.

    Stage two's target is the recording's posterior ``[mu, logvar]``; without a
    representation it speaks with the prior mean.

    Args:
        idim (int): Vocabulary size.
        odim (int): Feature dimension (mel bins).
        adim (int): Attention dimension of FastSpeech2.
        latent_dim (int): Dimension of the prosody latent.
        ref_conv_layers, ref_conv_chans_list, ref_conv_kernel_size, ref_conv_stride,
        ref_gru_layers, ref_gru_units: Reference encoder (ESPnet's GST ReferenceEncoder).
        kl_weight (float): Final weight (beta) of the KL term.
        kl_free_bits (float): Nats per latent dimension free of KL penalty.
        kl_normalization (str): "mel_elements" (KL divided by the batch's mean mel elements,
            the scale of ESPnet's L1 loss) or "none".
        kl_anneal_start_steps (int): Training steps with beta = 0.
        kl_anneal_steps (int): Steps of the linear ramp to ``kl_weight`` (0: constant).
        reference_latent (str): From a reference at inference, the posterior "mean" or a "sample".
        **fastspeech2_conf: Any option of ESPnet's FastSpeech2.
    """

    def __init__(
        self,
        idim: int,
        odim: int,
        adim: int = 384,
        latent_dim: int = 16,
        ref_conv_layers: int = 6,
        ref_conv_chans_list: Sequence[int] = (32, 32, 64, 64, 128, 128),
        ref_conv_kernel_size: int = 3,
        ref_conv_stride: int = 2,
        ref_gru_layers: int = 1,
        ref_gru_units: int = 128,
        kl_weight: float = 1.0,
        kl_free_bits: float = 0.0,
        kl_normalization: str = "mel_elements",
        kl_anneal_start_steps: int = 0,
        kl_anneal_steps: int = 10000,
        reference_latent: str = "mean",
        **fastspeech2_conf,
    ):
        super().__init__(idim=idim, odim=odim, adim=adim, **fastspeech2_conf)
        if reference_latent not in ("mean", "sample"):
            raise ValueError(f"reference_latent must be mean or sample: {reference_latent}")
        if kl_normalization not in ("mel_elements", "none"):
            raise ValueError(f"kl_normalization must be mel_elements or none: {kl_normalization}")
        if kl_free_bits < 0:
            raise ValueError(f"kl_free_bits must be >= 0: {kl_free_bits}")
        self.latent_dim = latent_dim
        self.kl_weight = kl_weight
        self.kl_free_bits = kl_free_bits
        self.kl_normalization = kl_normalization
        self.kl_anneal_start_steps = kl_anneal_start_steps
        self.kl_anneal_steps = kl_anneal_steps
        self.reference_latent = reference_latent

        self.reference_encoder = LengthAwareReferenceEncoder(
            idim=odim,
            conv_layers=ref_conv_layers,
            conv_chans_list=ref_conv_chans_list,
            conv_kernel_size=ref_conv_kernel_size,
            conv_stride=ref_conv_stride,
            gru_layers=ref_gru_layers,
            gru_units=ref_gru_units,
        )
        self.posterior = torch.nn.Linear(ref_gru_units, 2 * latent_dim)
        self.latent_projection = torch.nn.Linear(latent_dim, adim)
        # Counts training forward steps; a buffer so that it is checkpointed and resumed.
        self.register_buffer("kl_anneal_step", torch.zeros((), dtype=torch.long))

    predictor_name = "kathaka_sampler"
    size_key = "latent_dim"
    has_default_prosody = True
    per_word = False
    title = "Kathaka"
    one_to_many = True
    decodes = {
        "reference": (
            "oracle",
            "Kathaka, prosody latent encoded from the utterance's own recording (oracle)",
        ),
        "default": ("prior", "Kathaka, the prior's mean latent (no stage two)"),
        "predicted": ("sampled", "Kathaka, latent sampled by stage two from the text (BERT + syntax)"),
    }

    # ---------------------------------------------------------------- prosody encoder
    def encode_prosody(
        self, feats: torch.Tensor, feats_lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Posterior of the prosody latent given normalised mel-spectrograms.

        Args:
            feats (Tensor): (B, T_feats, odim).
            feats_lengths (LongTensor): (B,).

        Returns:
            Tensor: mu (B, latent_dim).
            Tensor: logvar (B, latent_dim).
        """
        ref_embs = self.reference_encoder(feats, feats_lengths)
        mu, logvar = self.posterior(ref_embs).chunk(2, dim=-1)
        return mu, logvar

    def prosody_target(self, xs, ilens, feats, feats_lengths, durations=None, pitch=None, energy=None):
        """The posterior ``[mu, logvar]`` (2 * latent_dim,) of each recording."""
        mu, logvar = self.encode_prosody(feats, feats_lengths)
        return list(torch.cat([mu, logvar], dim=-1))

    def default_prosody(self) -> torch.Tensor:
        """The prior mean (zeros)."""
        return self.latent_projection.weight.new_zeros(self.latent_dim)

    def sample_prior(self) -> torch.Tensor:
        """A latent drawn from the prior N(0, I) (latent_dim,)."""
        return torch.randn(self.latent_dim, device=self.latent_projection.weight.device)

    def representation_of_target(self, target: torch.Tensor) -> torch.Tensor:
        """The posterior mean of a ``[mu, logvar]`` target (latent_dim,)."""
        return target[: self.latent_dim]

    def conditioning(self, prosody, xs, ilens):
        """Latents (latent_dim,) per utterance, None for the prior mean -> (B, T_text + 1, adim)."""
        z = xs.new_zeros(xs.size(0), self.latent_dim, dtype=torch.float32)
        for i, latent in enumerate(prosody if prosody is not None else []):
            if latent is None:
                continue
            latent = torch.as_tensor(latent).to(xs.device, torch.float32)
            if latent.numel() != self.latent_dim:
                raise ValueError(
                    f"item {i}: Kathaka prosody must be a vector of latent_dim={self.latent_dim} "
                    f"values, got shape {tuple(latent.shape)}"
                )
            z[i] = latent.reshape(-1)
        return self._broadcast(z, xs.size(1))

    def current_kl_weight(self) -> float:
        """Beta at the current training step of the annealing schedule."""
        step = int(self.kl_anneal_step) - self.kl_anneal_start_steps
        if step < 0:
            return 0.0
        if self.kl_anneal_steps <= 0:
            return self.kl_weight
        return self.kl_weight * min(1.0, step / self.kl_anneal_steps)

    def _broadcast(self, z: torch.Tensor, num_tokens: int) -> torch.Tensor:
        return self.latent_projection(z).unsqueeze(1).expand(-1, num_tokens, -1)

    def _training_conditioning(
        self, xs, ilens, feats, feats_lengths, durations, pitch, energy, prosody, prosody_lengths
    ):
        if prosody is not None:  # explicit latents: no posterior, no KL
            return self._broadcast(prosody, xs.size(1)), feats.new_zeros(()), {}
        mu, logvar = self.encode_prosody(feats, feats_lengths)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        kl_per_dim = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean(0)  # (latent_dim,)
        kl = kl_per_dim.clamp(min=self.kl_free_bits).sum()
        if self.kl_normalization == "mel_elements":
            kl = kl / (feats_lengths.float().mean() * feats.size(-1))
        beta = self.current_kl_weight()
        if self.training:
            self.kl_anneal_step += 1
        stats: Dict[str, torch.Tensor] = dict(
            kl_loss=kl_per_dim.sum().detach(),  # nats per utterance, before floor and scaling
            kl_weight=torch.tensor(beta),
            # dimensions carrying information; 0 means the posterior has collapsed
            kl_active_dims=(kl_per_dim > 0.01).sum().float(),
        )
        width = len(str(self.latent_dim - 1))
        for i, value in enumerate(kl_per_dim.detach()):
            stats[f"kl_dim{i:0{width}d}"] = value
        return self._broadcast(z, xs.size(1)), beta * kl, stats

    def _inference_conditioning(self, xs, feats, durations, pitch, energy, prosody, temperature: float = 1.0):
        if prosody is not None:
            conditioning = self.conditioning([prosody], xs, xs.new_tensor([xs.size(1)]))
            return conditioning, prosody.reshape(-1).to(xs.device, torch.float32)
        if feats is not None:
            mu, logvar = self.encode_prosody(feats, feats.new_tensor([feats.size(1)]).long())
            z = mu
            if self.reference_latent == "sample":
                z = mu + temperature * torch.exp(0.5 * logvar) * torch.randn_like(mu)
        else:  # prior mean
            z = xs.new_zeros(1, self.latent_dim, dtype=torch.float32)
        return self._broadcast(z, xs.size(1)), z[0]


__all__ = ["Kathaka", "LengthAwareReferenceEncoder"]
