"""ESPnet's TTS model wrapper, passing the plugin's extra inputs through to the TTS module.

:class:`espnet2.tts.espnet_model.ESPnetTTSModel` extracts features (mel, pitch, energy),
normalises them and calls the TTS module, but it drops every batch key it does not name.
This subclass keeps ESPnet's feature path untouched and adds the prosody inputs:

* training: ``prosody`` / ``prosody_lengths`` from the data loader go to ``tts.forward``;
* inference: ``prosody``, and a reference recording (``speech``) whose normalised mel,
  phone ``durations`` and token-level pitch and energy the prosody models read without
  teacher forcing.
"""

from contextlib import contextmanager
from functools import partial
from typing import Dict, Optional

import torch
from espnet2.tts.espnet_model import ESPnetTTSModel


@contextmanager
def _extra_forward_kwargs(module: torch.nn.Module, **kwargs):
    """Bind extra keyword arguments to ``module.forward`` while the block runs.

    ESPnetTTSModel.forward ends with ``self.tts(**batch)`` over a fixed set of keys; binding
    the extras to the TTS module's forward for that one call passes them without copying
    ESPnet's feature extraction.
    """
    module.forward = partial(type(module).forward, module, **kwargs)
    try:
        yield
    finally:
        del module.forward


class ProsodyESPnetTTSModel(ESPnetTTSModel):
    """ESPnetTTSModel that also passes ``prosody`` and reference inputs to the TTS module."""

    @classmethod
    def from_espnet_model(cls, model: ESPnetTTSModel) -> "ProsodyESPnetTTSModel":
        """Re-wrap the components of an ESPnetTTSModel (same modules, same parameters)."""
        return cls(
            feats_extract=model.feats_extract,
            pitch_extract=model.pitch_extract,
            energy_extract=model.energy_extract,
            normalize=model.normalize,
            pitch_normalize=model.pitch_normalize,
            energy_normalize=model.energy_normalize,
            tts=model.tts,
        )

    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        prosody: Optional[torch.Tensor] = None,
        prosody_lengths: Optional[torch.Tensor] = None,
        **kwargs,
    ):
        """ESPnetTTSModel.forward, plus ``prosody`` (B, ...) for the TTS module."""
        if prosody is None:
            return super().forward(text, text_lengths, speech, speech_lengths, **kwargs)
        with _extra_forward_kwargs(self.tts, prosody=prosody, prosody_lengths=prosody_lengths):
            return super().forward(text, text_lengths, speech, speech_lengths, **kwargs)

    def reference_feats(self, speech: torch.Tensor) -> torch.Tensor:
        """Normalised features of one waveform (T_wav,) -> (T_feats, odim)."""
        feats = speech if self.feats_extract is None else self.feats_extract(speech[None])[0][0]
        if self.normalize is not None:
            feats = self.normalize(feats[None])[0][0]
        return feats

    def reference_variances(
        self, speech: torch.Tensor, durations: torch.Tensor, num_frames: int
    ) -> Dict[str, torch.Tensor]:
        """Normalised token-level pitch and energy of one waveform, as in training.

        Args:
            speech (Tensor): Waveform (T_wav,).
            durations (LongTensor): Its token durations (T_text + 1,).
            num_frames (int): Its number of feature frames.

        Returns:
            Dict[str, Tensor]: ``pitch`` and ``energy`` (T_text + 1, 1) for the extractors
                the model has (the same calls as ESPnet's teacher-forced inference).
        """
        out = {}
        lengths = dict(feats_lengths=torch.tensor([num_frames], dtype=torch.long), durations=durations[None])
        for key, extract, normalize in (
            ("pitch", self.pitch_extract, self.pitch_normalize),
            ("energy", self.energy_extract, self.energy_normalize),
        ):
            if extract is None:
                continue
            value = extract(speech[None], **lengths)[0]
            if normalize is not None:
                value = normalize(value)[0]
            out[key] = value[0]
        return out

    def prosody_target(
        self, text: torch.Tensor, speech: torch.Tensor, durations: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Stage two's target of one recording: its stage-one representation.

        Args:
            text (LongTensor): Token ids (T_text,), without eos.
            speech (Tensor): Its waveform (T_wav,).
            durations (Optional[LongTensor]): Its token durations (T_text + 1,), for the
                systems whose representation is per word.

        Returns:
            Tensor: What ``tts.prosody_target`` gives (Kathaka: (2 * latent_dim,); CAMP:
                (num_words, word_embed_dim)).
        """
        feats = self.reference_feats(speech)
        xs, ilens = self.tts._tokens_with_eos(text[None], text.new_tensor([len(text)]))
        pitch = energy = None
        if durations is not None:
            variances = self.reference_variances(speech, durations, len(feats))
            pitch, energy = (None if variances.get(k) is None else variances[k][None] for k in ("pitch", "energy"))
            durations = durations[None]
        targets = self.tts.prosody_target(
            xs, ilens, feats[None], feats.new_tensor([len(feats)]).long(), durations, pitch, energy
        )
        return targets[0]

    def inference(
        self,
        text: torch.Tensor,
        speech: Optional[torch.Tensor] = None,
        durations: Optional[torch.Tensor] = None,
        prosody: Optional[torch.Tensor] = None,
        **decode_config,
    ) -> Dict[str, torch.Tensor]:
        """ESPnetTTSModel.inference, plus prosody from ``prosody`` or a reference.

        Without teacher forcing, ESPnet passes neither the speech nor the durations on;
        here they become the reference of the prosody models (``feats``: its normalised
        mel-spectrogram; ``reference_durations``: its phone durations; with both,
        ``reference_pitch`` and ``reference_energy``: its normalised token-level pitch and
        energy). ``decode_config`` reaches ``tts.inference``.

        Returns ESPnet's outputs plus ``pitch_denorm`` and ``energy_denorm`` (T_text + 1,):
        the predicted token-level pitch (log-F0 for ESPnet's Dio) and energy, denormalised.
        """
        if not decode_config.get("use_teacher_forcing", False):
            if prosody is not None:
                decode_config.update(prosody=prosody)
            if speech is not None:
                feats = self.reference_feats(speech)
                decode_config.update(feats=feats)
                if durations is not None:
                    variances = self.reference_variances(speech, durations, len(feats))
                    decode_config.update(
                        reference_durations=durations,
                        reference_pitch=variances.get("pitch"),
                        reference_energy=variances.get("energy"),
                    )
            elif durations is not None:
                decode_config.update(reference_durations=durations)
        outputs = super().inference(text, speech=speech, durations=durations, **decode_config)
        # ESPnet denormalises only the mel; the scoring compares the token-level pitch and
        # energy the model predicts with the recording's, so return them in natural units too.
        for key, normalize in (("pitch", self.pitch_normalize), ("energy", self.energy_normalize)):
            if outputs.get(key) is not None:
                value = outputs[key].reshape(1, -1, 1)
                if normalize is not None:
                    value = normalize.inverse(value, value.new_tensor([value.size(1)]).long())[0]
                outputs[f"{key}_denorm"] = value.reshape(-1)
        return outputs
