"""FastSpeech2 conditioned on a prosody representation: the base of Kathaka and CAMP.

The models are ESPnet's :class:`~espnet2.tts.fastspeech2.FastSpeech2` (encoder, variance
adaptor, length regulator, decoder, postnet, losses) with exactly one addition:

    hs = encoder(tokens)                          # (B, T_text + 1, adim)
    hs = hs + prosody_conditioning                # (B, T_text + 1, adim)   <- new
    ... variance adaptor, decoder as in FastSpeech2

FastSpeech2 has no seam between its encoder and its variance adaptor, so the addition
is made by a forward hook on ESPnet's own encoder module. Nothing of FastSpeech2 is
copied, and the parameter names stay those of FastSpeech2, so a Kathaka or CAMP model can
be initialised from a trained ESPnet FastSpeech2 checkpoint with ``--init_param``.
"""

import inspect
from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import Dict, Optional, Tuple

import torch
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.tts.fastspeech2 import FastSpeech2

from prosody_plugin.tts.word_boundaries import append_eos


class ProsodyFastSpeech2(FastSpeech2, ABC):
    """Abstract FastSpeech2 whose phoneme encodings are conditioned on prosody.

    Subclasses define how the conditioning is computed in training (from the target
    mel-spectrogram, or an explicit representation) and at inference (from a reference
    mel-spectrogram, an explicit representation, or a default).
    """

    def __init__(self, idim: int, odim: int, **fastspeech2_conf):
        if fastspeech2_conf.get("use_gst", False):
            raise ValueError(
                f"{type(self).__name__} replaces GST with its own prosody encoder; "
                "remove use_gst from tts_conf"
            )
        super().__init__(idim=idim, odim=odim, **fastspeech2_conf)
        self._pending_conditioning: Optional[torch.Tensor] = None
        self.encoder.register_forward_hook(self._add_conditioning_to_encoder_output)

    def __init_subclass__(cls, **kwargs):
        """Advertise FastSpeech2's options in the subclass signature.

        ESPnet's ``--print_config`` reads the model's options from the signature of
        ``__init__``; merging FastSpeech2's keyword arguments into it shows users every
        option a Kathaka or CAMP config accepts, with its default.
        """
        super().__init_subclass__(**kwargs)
        own = inspect.signature(cls.__init__)
        params = [p for p in own.parameters.values() if p.kind != p.VAR_KEYWORD]
        names = {p.name for p in params}
        for p in inspect.signature(FastSpeech2.__init__).parameters.values():
            if p.name not in names and p.kind == p.POSITIONAL_OR_KEYWORD:
                params.append(p.replace(kind=p.KEYWORD_ONLY))
        params.sort(key=lambda p: p.kind)
        cls.__init__.__signature__ = own.replace(parameters=params)

    # ------------------------------------------------------------------ conditioning
    def _add_conditioning_to_encoder_output(self, module, inputs, output):
        if self._pending_conditioning is None:
            return output
        hs, masks = output[0], output[1]
        return (hs + self._pending_conditioning,) + tuple(output[1:])

    @contextmanager
    def _conditioned_on(self, conditioning: Optional[torch.Tensor]):
        """Add ``conditioning`` (B, T_text + 1, adim) to the encoder output meanwhile."""
        self._pending_conditioning = conditioning
        try:
            yield
        finally:
            self._pending_conditioning = None

    def _tokens_with_eos(
        self, text: torch.Tensor, text_lengths: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Append eos as FastSpeech2 does: (B, T_text) -> (B, T_text + 1)."""
        return append_eos(text, text_lengths, self.eos, self.padding_idx)

    @abstractmethod
    def _training_conditioning(
        self,
        xs: torch.Tensor,
        ilens: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        durations: torch.Tensor,
        prosody: Optional[torch.Tensor],
        prosody_lengths: Optional[torch.Tensor],
    ) -> Tuple[torch.Tensor, torch.Tensor, Dict[str, torch.Tensor]]:
        """Return conditioning (B, T_text + 1, adim), an extra loss and extra stats."""

    @abstractmethod
    def _inference_conditioning(
        self,
        xs: torch.Tensor,
        feats: Optional[torch.Tensor],
        durations: Optional[torch.Tensor],
        prosody: Optional[torch.Tensor],
        **kwargs,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return conditioning (1, T_text + 1, adim) and the prosody representation used."""

    # ------------------------------------------------------------------ FastSpeech2 API
    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        durations: torch.Tensor,
        durations_lengths: torch.Tensor,
        pitch: torch.Tensor,
        pitch_lengths: torch.Tensor,
        energy: torch.Tensor,
        energy_lengths: torch.Tensor,
        spembs: Optional[torch.Tensor] = None,
        sids: Optional[torch.Tensor] = None,
        lids: Optional[torch.Tensor] = None,
        prosody: Optional[torch.Tensor] = None,
        prosody_lengths: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Calculate the FastSpeech2 losses plus the prosody model's own.

        Args:
            text (LongTensor): Batch of padded token ids (B, T_text).
            text_lengths (LongTensor): Batch of lengths of each input (B,).
            feats (Tensor): Batch of padded target features (B, T_feats, odim); the
                reference encoder reads them.
            feats_lengths (LongTensor): Batch of the lengths of each target (B,).
            durations (LongTensor): Batch of padded durations (B, T_text + 1).
            durations_lengths (LongTensor): Batch of duration lengths (B,).
            pitch (Tensor): Batch of padded token-averaged pitch (B, T_text + 1, 1).
            pitch_lengths (LongTensor): Batch of pitch lengths (B,).
            energy (Tensor): Batch of padded token-averaged energy (B, T_text + 1, 1).
            energy_lengths (LongTensor): Batch of energy lengths (B,).
            spembs, sids, lids: As in FastSpeech2.
            prosody (Optional[Tensor]): Explicit prosody representations to use instead
                of the reference encoder (Kathaka: (B, latent_dim); CAMP: (B, W, D)).
            prosody_lengths (Optional[LongTensor]): Their lengths (B,).

        Returns:
            Tensor: Loss scalar value.
            Dict: Statistics to be monitored.
            Tensor: Weight value.

        """
        text = text[:, : text_lengths.max()]
        feats = feats[:, : feats_lengths.max()]
        durations = durations[:, : durations_lengths.max()]
        xs, ilens = self._tokens_with_eos(text, text_lengths)
        conditioning, extra_loss, extra_stats = self._training_conditioning(
            xs, ilens, feats, feats_lengths, durations, prosody, prosody_lengths
        )
        with self._conditioned_on(conditioning):
            loss, stats, weight = super().forward(
                text, text_lengths, feats, feats_lengths, durations, durations_lengths,
                pitch, pitch_lengths, energy, energy_lengths,
                spembs=spembs, sids=sids, lids=lids,
            )  # fmt: skip
        loss = loss + extra_loss
        stats.update(extra_stats)
        stats.update(loss=loss.detach())
        return force_gatherable((loss, stats, weight), loss.device)

    def inference(
        self,
        text: torch.Tensor,
        feats: Optional[torch.Tensor] = None,
        durations: Optional[torch.Tensor] = None,
        spembs: Optional[torch.Tensor] = None,
        sids: Optional[torch.Tensor] = None,
        lids: Optional[torch.Tensor] = None,
        pitch: Optional[torch.Tensor] = None,
        energy: Optional[torch.Tensor] = None,
        alpha: float = 1.0,
        use_teacher_forcing: bool = False,
        prosody: Optional[torch.Tensor] = None,
        reference_durations: Optional[torch.Tensor] = None,
        **prosody_options,
    ) -> Dict[str, torch.Tensor]:
        """Generate features from tokens with prosody from a reference or given directly.

        Args:
            text (LongTensor): Token ids (T_text,).
            feats (Optional[Tensor]): Reference mel-spectrogram (T_ref, odim), normalised
                like the training targets; its prosody is transferred ("oracle" prosody
                when it is the utterance's own recording).
            durations (Optional[LongTensor]): Token durations (T_text + 1,) for teacher
                forcing.
            pitch, energy, spembs, sids, lids, alpha, use_teacher_forcing: As in
                FastSpeech2.
            prosody (Optional[Tensor]): Explicit prosody representation, as predicted by
                stage two (Kathaka: (latent_dim,); CAMP: (num_words, D)). Takes precedence
                over ``feats``.
            reference_durations (Optional[LongTensor]): Token durations of the reference
                (T_text + 1,); CAMP pools the reference per word with them (with teacher
                forcing, ``durations`` serve).
            prosody_options: Model-specific options (Kathaka: ``temperature``).

        Returns:
            Dict[str, Tensor]: FastSpeech2's outputs (feat_gen (T_feats, odim), duration,
                pitch, energy) plus ``prosody``, the representation that was used.

        """
        xs, _ = self._tokens_with_eos(text[None], text.new_tensor([len(text)]))
        if reference_durations is None and use_teacher_forcing:
            reference_durations = durations
        conditioning, representation = self._inference_conditioning(
            xs,
            None if feats is None else feats[None],
            None if reference_durations is None else reference_durations[None],
            prosody,
            **prosody_options,
        )
        with self._conditioned_on(conditioning):
            outputs = super().inference(
                text, feats=feats, durations=durations, spembs=spembs, sids=sids,
                lids=lids, pitch=pitch, energy=energy, alpha=alpha,
                use_teacher_forcing=use_teacher_forcing,
            )  # fmt: skip
        outputs.update(prosody=representation)
        return outputs
