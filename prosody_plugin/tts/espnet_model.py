"""ESPnet's TTS model wrapper, passing the plugin's inputs (``prosody``, a reference
recording) through to the TTS module; docs/architecture.md ("ESPnet integration").
"""

from argparse import Namespace
from dataclasses import fields
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask
from espnet2.tts.espnet_model import ESPnetTTSModel
from torch.amp import autocast

from prosody_plugin.tts.prosody_fastspeech2 import ProsodyFastSpeech2
from prosody_plugin.tts.variance_augmentation import VarianceAugmentation
from prosody_plugin.tts.variance_controls import NEUTRAL, VarianceControls, normalizer_stats
from prosody_plugin.tts.word_pooling import append_eos


def load_trained_model(train_config, model_file) -> Tuple["ProsodyESPnetTTSModel", Namespace, Callable]:
    """A trained model on the CPU in eval mode, its training arguments and its text
    preprocessing (``preprocess(utt, {"text": ...})["text"]``: token ids), for the tools that
    read recordings with it (stage two's targets, the emphasis fit, the scores)."""
    from prosody_plugin.tasks.tts import ProsodyTTSTask  # the task builds this module's model

    model, train_args = ProsodyTTSTask.build_model_from_file(train_config, model_file, "cpu")
    model.eval()
    return model, train_args, ProsodyTTSTask.build_preprocess_fn(train_args, False)


#: The modules of an ESPnetTTSModel, by the names its constructor takes.
ESPNET_COMPONENTS = (
    "feats_extract",
    "pitch_extract",
    "energy_extract",
    "normalize",
    "pitch_normalize",
    "energy_normalize",
    "tts",
)


class ProsodyESPnetTTSModel(ESPnetTTSModel):
    """ESPnetTTSModel that also passes ``prosody`` and reference inputs to the TTS module.

    Args:
        variance_augmentation (Optional[VarianceAugmentation]): In training, move random
            utterances' pitch and loudness and the decoder's pitch and energy inputs with them
            (:mod:`prosody_plugin.tts.variance_augmentation`); None: off.
        Others: As ESPnetTTSModel.
    """

    def __init__(self, *args, variance_augmentation: Optional[VarianceAugmentation] = None, **kwargs):
        super().__init__(*args, **kwargs)
        if variance_augmentation is not None:
            if not (hasattr(self.feats_extract, "stft") and hasattr(self.feats_extract, "logmel")):
                raise ValueError("variance_augmentation needs the mel frontend (feats_extract: fbank)")
            if self.pitch_extract is None or self.energy_extract is None:
                raise ValueError("variance_augmentation needs pitch_extract and energy_extract (FastSpeech2)")
        self.variance_augmentation = variance_augmentation

    @classmethod
    def from_espnet_model(
        cls, model: ESPnetTTSModel, variance_augmentation: Optional[VarianceAugmentation] = None
    ) -> "ProsodyESPnetTTSModel":
        """Re-wrap the components of an ESPnetTTSModel (same modules, same parameters)."""
        components = {name: getattr(model, name) for name in ESPNET_COMPONENTS}
        return cls(**components, variance_augmentation=variance_augmentation)

    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        durations: Optional[torch.Tensor] = None,
        durations_lengths: Optional[torch.Tensor] = None,
        pitch: Optional[torch.Tensor] = None,
        pitch_lengths: Optional[torch.Tensor] = None,
        energy: Optional[torch.Tensor] = None,
        energy_lengths: Optional[torch.Tensor] = None,
        spembs: Optional[torch.Tensor] = None,
        sids: Optional[torch.Tensor] = None,
        lids: Optional[torch.Tensor] = None,
        prosody: Optional[torch.Tensor] = None,
        prosody_lengths: Optional[torch.Tensor] = None,
        **kwargs,
    ):
        """ESPnetTTSModel.forward, plus ``prosody`` (B, ...) and its lengths for the TTS module.

        The features are extracted and normalised as in ESPnetTTSModel.forward (espnet
        202511); the batch handed to the TTS module is ESPnet's, plus the prosody when there is one.
        """
        with autocast("cuda", enabled=False):
            if self.feats_extract is not None:
                feats, feats_lengths = self.feats_extract(speech, speech_lengths)
            else:
                feats, feats_lengths = speech, speech_lengths
            lengths = dict(
                feats_lengths=feats_lengths, durations=durations, durations_lengths=durations_lengths
            )
            if self.pitch_extract is not None and pitch is None:
                pitch, pitch_lengths = self.pitch_extract(speech, speech_lengths, **lengths)
            if self.energy_extract is not None and energy is None:
                energy, energy_lengths = self.energy_extract(speech, speech_lengths, **lengths)
            if self.normalize is not None:
                feats, feats_lengths = self.normalize(feats, feats_lengths)
            if self.pitch_normalize is not None:
                pitch, pitch_lengths = self.pitch_normalize(pitch, pitch_lengths)
            if self.energy_normalize is not None:
                energy, energy_lengths = self.energy_normalize(energy, energy_lengths)
        batch = dict(text=text, text_lengths=text_lengths, feats=feats, feats_lengths=feats_lengths)
        if self.pitch_extract is not None and pitch is not None:
            batch.update(pitch=pitch, pitch_lengths=pitch_lengths)
        if self.energy_extract is not None and energy is not None:
            batch.update(energy=energy, energy_lengths=energy_lengths)
        extras = dict(
            spembs=spembs,
            sids=sids,
            lids=lids,
            durations=durations,
            durations_lengths=durations_lengths,
            prosody=prosody,
            prosody_lengths=prosody_lengths,
        )
        batch.update({k: v for k, v in extras.items() if v is not None})
        if self.tts.require_raw_speech:
            batch.update(speech=speech, speech_lengths=speech_lengths)
        if self.training and self.variance_augmentation is not None:
            batch.update(self._augmented(speech, speech_lengths, batch))
        return self.tts(**batch)

    def _augmented(
        self, speech: torch.Tensor, speech_lengths: torch.Tensor, batch: Mapping[str, torch.Tensor]
    ) -> Dict[str, object]:
        """The batch entries that :class:`VarianceAugmentation` changes.

        A prosody model (a :class:`ProsodyFastSpeech2`) keeps its targets for
        the reference encoder and the predictors and gets the moved mel as the decoder's target
        with the matching :class:`VarianceControls` edit of the decoder's pitch and energy
        inputs; any other FastSpeech2 (ESPnet's) gets the moved mel, pitch and energy as its
        targets, which its teacher-forced decoder reads.
        """
        augmentation = self.variance_augmentation
        pitch, energy = batch["pitch"], batch["energy"]
        pad = make_pad_mask(batch["pitch_lengths"], maxlen=pitch.size(1)).to(pitch.device)[..., None]
        semitones, db, ranges = augmentation.draw(speech.size(0), speech.device)
        per_token = lambda v: v[:, None].expand(-1, pitch.size(1))  # noqa: E731
        edit = VarianceControls.from_natural(
            torch.ones_like(pitch[..., 0]),
            per_token(semitones),
            per_token(ranges),
            per_token(db),
            self.pitch_normalize,
            self.energy_normalize,
        )
        with autocast("cuda", enabled=False):
            stft, stft_lengths = self.feats_extract.stft(speech, speech_lengths)
            magnitudes = torch.sqrt(torch.clamp(stft[..., 0] ** 2 + stft[..., 1] ** 2, min=1.0e-10))
            frame_semitones = augmentation.frame_semitones(
                semitones,
                ranges,
                pitch,
                batch["durations"],
                pad,
                normalizer_stats(self.pitch_normalize)[1],
                magnitudes.size(1),
            )
            edited = augmentation.edit_magnitudes(magnitudes, frame_semitones, db, self.feats_extract.fs)
            feats, feats_lengths = self.feats_extract.logmel(edited, stft_lengths)
            if self.normalize is not None:
                feats, feats_lengths = self.normalize(feats, feats_lengths)
        feats = feats[:, : batch["feats"].size(1)]
        if isinstance(self.tts, ProsodyFastSpeech2):
            return dict(decoder_feats=feats, decoder_variance_edit=edit)
        _, pitch, energy = edit.apply(pitch[..., 0], pitch, energy, pad)
        return dict(feats=feats, pitch=pitch, energy=energy)

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
            pitch, energy = (
                None if variances.get(k) is None else variances[k][None] for k in ("pitch", "energy")
            )
            durations = durations[None]
        targets = self.tts.prosody_target(
            xs, ilens, feats[None], feats.new_tensor([len(feats)]).long(), durations, pitch, energy
        )
        return targets[0]

    @torch.no_grad()
    def batch_inference(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        prosody: Optional[Sequence[Optional[torch.Tensor]]] = None,
        alpha: float = 1.0,
        controls: Optional[Sequence[Optional[Mapping[str, torch.Tensor]]]] = None,
    ) -> List[Dict[str, torch.Tensor]]:
        """Synthesise a padded batch of token sequences in one masked forward.

        Each item gives what it gives alone (:func:`prosody_plugin.tts.batch_inference.batch_text_to_mel`
        masks the padding of the shorter ones).

        Args:
            text (LongTensor): Token ids (B, T_text), without eos; padding 0.
            text_lengths (LongTensor): (B,).
            prosody: One representation per item for a prosody system (None: the model's
                default, where it has one); must be None for the baseline.
            alpha (float): FastSpeech2's speaking-rate control (>1: slower).
            controls: Per item (None: none), prosody controls in natural units per token,
                eos included ((T_text + 1,) each: ``rate``, ``pitch_semitones``,
                ``pitch_range``, ``energy_db``; :func:`prosody_plugin.tts.variance_controls.token_controls`
                builds them), applied to the variance adaptor's predictions.

        Returns:
            List[Dict[str, Tensor]]: Per item, as :meth:`inference`: ``feat_gen``
                (T_feats, odim) and ``feat_gen_denorm``, ``duration`` (T_text + 1,),
                ``pitch`` and ``energy`` (T_text + 1, 1), ``pitch_denorm`` and
                ``energy_denorm`` (T_text + 1,), and ``prosody`` for the prosody systems.
        """
        from prosody_plugin.tts.batch_inference import batch_text_to_mel

        xs, ilens = append_eos(text, text_lengths, self.tts.eos, self.tts.padding_idx)
        conditioning = None
        if hasattr(self.tts, "conditioning"):
            conditioning = self.tts.conditioning(prosody, xs, ilens)
        elif prosody is not None and any(p is not None for p in prosody):
            raise ValueError(f"{type(self.tts).__name__} takes no prosody representation")
        out = batch_text_to_mel(
            self.tts,
            xs,
            ilens,
            conditioning=conditioning,
            alpha=alpha,
            controls=self._variance_controls(controls, ilens),
        )
        results = []
        for i, (n_tokens, n_frames) in enumerate(zip(ilens.tolist(), out["feat_lengths"].tolist())):
            item = dict(
                feat_gen=out["feat_gen"][i, :n_frames],
                duration=out["duration"][i, :n_tokens],
                pitch=out["pitch"][i, :n_tokens],
                energy=out["energy"][i, :n_tokens],
            )
            if prosody is not None and prosody[i] is not None:
                item["prosody"] = torch.as_tensor(prosody[i])
            results.append(self._denormalise(item))
        return results

    def _variance_controls(
        self, controls: Optional[Sequence[Optional[Mapping[str, torch.Tensor]]]], ilens: torch.Tensor
    ) -> Optional[VarianceControls]:
        """Natural-unit controls per item -> the batch's :class:`VarianceControls` (None: none)."""
        if controls is None or all(c is None for c in controls):
            return None
        if len(controls) != len(ilens):
            raise ValueError(f"controls: {len(controls)} items for a batch of {len(ilens)}")
        t_max = int(ilens.max())
        natural = {name: torch.full((len(ilens), t_max), value) for name, value in NEUTRAL.items()}
        for i, (item, n) in enumerate(zip(controls, ilens.tolist())):
            for name, value in (item or {}).items():
                if name not in NEUTRAL:
                    raise ValueError(f"item {i}: unknown control {name!r}; known: {', '.join(NEUTRAL)}")
                value = torch.as_tensor(value, dtype=torch.float32).reshape(-1)
                if value.numel() != n:
                    raise ValueError(
                        f"item {i}: control {name} has {value.numel()} values for {n} tokens (eos included)"
                    )
                natural[name][i, :n] = value
        try:
            edits = VarianceControls.from_natural(
                **natural, pitch_normalize=self.pitch_normalize, energy_normalize=self.energy_normalize
            )
        except ValueError as e:
            raise ValueError(f"controls: {e}") from None
        device = ilens.device
        return VarianceControls(*(getattr(edits, f.name).to(device) for f in fields(edits)))

    def _denormalise(self, outputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Add ``feat_gen_denorm``, ``pitch_denorm`` and ``energy_denorm`` to one item's outputs."""
        if self.normalize is not None:
            feats = outputs["feat_gen"][None]
            outputs["feat_gen_denorm"] = self.normalize.inverse(
                feats.clone(), feats.new_tensor([feats.size(1)]).long()
            )[0][0]
        else:
            outputs["feat_gen_denorm"] = outputs["feat_gen"]
        # ESPnet denormalises only the mel; the scoring compares the token-level pitch and
        # energy the model predicts with the recording's, so return them in natural units too.
        natural = self.natural_variances(outputs.get("pitch"), outputs.get("energy"))
        outputs.update({f"{key}_denorm": value for key, value in natural.items()})
        return outputs

    def natural_variances(
        self, pitch: Optional[torch.Tensor] = None, energy: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """Token-level pitch (log-F0) and energy in natural units, from normalised ones.

        Args:
            pitch, energy (Optional[Tensor]): Normalised values of one utterance, (T,) or (T, 1).

        Returns:
            Dict[str, Tensor]: ``pitch`` and ``energy`` (T,) for those given.
        """
        natural = {}
        for key, value, normalize in (
            ("pitch", pitch, self.pitch_normalize),
            ("energy", energy, self.energy_normalize),
        ):
            if value is not None:
                value = value.reshape(1, -1, 1).clone()
                if normalize is not None:
                    value = normalize.inverse(value, value.new_tensor([value.size(1)]).long())[0]
                natural[key] = value.reshape(-1)
        return natural

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
        denormalised = self._denormalise(
            dict(feat_gen=outputs["feat_gen"], pitch=outputs.get("pitch"), energy=outputs.get("energy"))
        )
        outputs.update({k: v for k, v in denormalised.items() if k.endswith("_denorm") and k not in outputs})
        return outputs
