"""FastSpeech2 conditioned on a prosody representation: the base class of Kathaka and CAMP.

ESPnet's FastSpeech2 with a prosody conditioning added to the input of the variance adaptor
(and of the decoder, ``condition_decoder``); docs/architecture.md ("The shared base") says
how and why.
"""

import inspect
from abc import ABC, abstractmethod
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from espnet.nets.pytorch_backend.nets_utils import make_non_pad_mask, make_pad_mask
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.tts.fastspeech2 import FastSpeech2

from prosody_plugin.text.word_boundaries import token_classes, word_ids
from prosody_plugin.tts.batch_inference import batch_text_to_mel
from prosody_plugin.tts.duration_sums import duration_sum_losses
from prosody_plugin.tts.variance_controls import VarianceControls
from prosody_plugin.tts.word_pooling import append_eos

DECODER_VARIANCE_INPUTS = ("ground_truth", "predicted", "none")


class ProsodyFastSpeech2(FastSpeech2, ABC):
    """Abstract FastSpeech2 whose variance adaptor and decoder are conditioned on prosody.

    Subclasses define how the conditioning is computed in training (from the target
    mel-spectrogram and its pitch, energy and durations, or an explicit representation)
    and at inference (from a reference recording, an explicit representation, or a default).

    Args:
        idim (int): Vocabulary size.
        odim (int): Feature dimension.
        decoder_variance_input (str): What the decoder receives as pitch and energy in
            training: "ground_truth" (FastSpeech2's teacher forcing), "predicted" (the
            predictors' outputs, as at inference) or "none" (no pitch and energy embedding).
        condition_decoder (bool): Whether the representation also enters the decoder
            directly (True) or conditions only the duration, pitch and energy predictors.
        duration_word_loss_weight (float): Weight of the word-level duration sum loss
            (needs word boundaries in the token list).
        duration_sentence_loss_weight (float): Weight of the sentence-level one.
        **fastspeech2_conf: Any option of ESPnet's FastSpeech2.

    """

    def __init__(
        self,
        idim: int,
        odim: int,
        decoder_variance_input: str = "ground_truth",
        condition_decoder: bool = True,
        duration_word_loss_weight: float = 0.0,
        duration_sentence_loss_weight: float = 0.0,
        **fastspeech2_conf,
    ):
        if fastspeech2_conf.get("use_gst", False):
            raise ValueError(
                f"{type(self).__name__} replaces GST with its own prosody encoder; "
                "remove use_gst from tts_conf"
            )
        if decoder_variance_input not in DECODER_VARIANCE_INPUTS:
            raise ValueError(
                f"decoder_variance_input must be one of {DECODER_VARIANCE_INPUTS}, "
                f"got {decoder_variance_input!r}"
            )
        if min(duration_word_loss_weight, duration_sentence_loss_weight) < 0:
            raise ValueError(
                "duration_word_loss_weight and duration_sentence_loss_weight must be >= 0, got "
                f"{duration_word_loss_weight} and {duration_sentence_loss_weight}"
            )
        super().__init__(idim=idim, odim=odim, **fastspeech2_conf)
        self.decoder_variance_input = decoder_variance_input
        self.condition_decoder = condition_decoder
        self.duration_word_loss_weight = duration_word_loss_weight
        self.duration_sentence_loss_weight = duration_sentence_loss_weight
        # word boundaries of the token list (set_token_list); models that need them in every
        # checkpoint (CAMP) register them again as persistent
        self.register_buffer("token_is_boundary", torch.zeros(idim, dtype=torch.bool), persistent=False)
        self.register_buffer("token_is_punctuation", torch.zeros(idim, dtype=torch.bool), persistent=False)

    def set_token_list(self, token_list: Sequence[str]) -> None:
        """Derive the word-boundary and punctuation tokens from the token list (the task calls it)."""
        if len(token_list) != len(self.token_is_boundary):
            raise ValueError(
                f"token list has {len(token_list)} tokens, the model {len(self.token_is_boundary)}"
            )
        is_boundary, is_punct = token_classes(token_list)
        self.token_is_boundary.copy_(is_boundary)
        self.token_is_punctuation.copy_(is_punct)

    def word_ids(self, xs: torch.Tensor, ilens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Word index of every token (B, T) and the number of words (B,)."""
        if not self.token_is_boundary.any():
            raise RuntimeError(
                f"{type(self).__name__}'s word-boundary tokens are unset: build the model through "
                "prosody_plugin's task (it calls set_token_list) with a token list that has <space> "
                "tokens (e.g. the espeak_ng_english_us_vits G2P)"
            )
        return word_ids(xs, ilens, self.token_is_boundary, self.token_is_punctuation)

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
        inherited = list(inspect.signature(ProsodyFastSpeech2.__init__).parameters.values())
        inherited += list(inspect.signature(FastSpeech2.__init__).parameters.values())
        for p in inherited:
            if p.name not in names and p.kind == p.POSITIONAL_OR_KEYWORD:
                params.append(p.replace(kind=p.KEYWORD_ONLY))
                names.add(p.name)
        params.sort(key=lambda p: p.kind)
        cls.__init__.__signature__ = own.replace(parameters=params)

    def _source_mask(self, ilens: torch.Tensor) -> torch.Tensor:
        """Self-attention mask (B, 1, T) of FastSpeech2, on the device of ``ilens``.

        FastSpeech2's own version reads the device from ``next(self.parameters())``, which
        raises StopIteration in ``torch.nn.DataParallel`` replicas (they hold no parameters).
        """
        return make_non_pad_mask(ilens).to(ilens.device).unsqueeze(-2)

    # ------------------------------------------------------------------ the system
    # What a stage-one class knows about its representation; the registry
    # (prosody_plugin.systems) and every tool (stage 7 and 9, pack, inference, benchmark)
    # ask the class instead of switching on its type.
    #: Name of the stage-two model that predicts the representation from text (the
    #: ``predictor`` choice of prosody_plugin.tasks.prosody_context).
    predictor_name: str = ""
    #: The config key (tts_conf) of the representation's size, which the predictor shares.
    size_key: str = ""
    #: Whether the model speaks without a representation (Kathaka: its prior mean).
    has_default_prosody: bool = False
    #: Whether the representation has one row per word of the text (else one per utterance).
    per_word: bool = False
    #: The system's name for readers (tables, pages).
    title: str = ""
    #: Whether stage two samples the representation (several renditions of one text: the
    #: recipe measures their spread and puts renditions on the samples page).
    one_to_many: bool = False
    #: The decodes of the system by prosody source, as (name suffix, description): "default"
    #: (the model's own prosody, when ``has_default_prosody``), "reference" (the
    #: recording's own: the oracle) and "predicted" (stage two's, from text). Stage 12 names
    #: a decode ``<system>_<suffix>``.
    decodes: Dict[str, Tuple[str, str]] = {}

    @property
    def representation_size(self) -> int:
        """Size of the representation (per utterance, or per word when ``per_word``)."""
        return int(getattr(self, self.size_key))

    @abstractmethod
    def prosody_target(
        self,
        xs: torch.Tensor,
        ilens: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        durations: Optional[torch.Tensor] = None,
        pitch: Optional[torch.Tensor] = None,
        energy: Optional[torch.Tensor] = None,
    ) -> List[torch.Tensor]:
        """Stage two's target of each recording of a batch: what its predictor learns.

        ``xs`` (B, T_text + 1) are token ids with eos, ``feats`` (B, T_feats, odim) the
        normalised mel-spectrograms, ``durations`` (B, T_text + 1), ``pitch`` and ``energy``
        (B, T_text + 1, 1) their normalised token-level values (each None when the model
        does not need it). Returns one tensor per recording.
        """

    def default_prosody(self) -> torch.Tensor:
        """The representation the model speaks with when given none (``has_default_prosody``)."""
        raise ValueError(f"{type(self).__name__} has no default prosody: give it a representation")

    def sample_prior(self) -> torch.Tensor:
        """One representation drawn from the model's prior (one-to-many systems with a prior)."""
        raise ValueError(f"{type(self).__name__} has no prior to sample from")

    def representation_of_target(self, target: torch.Tensor) -> torch.Tensor:
        """The representation a stage-two target (:meth:`prosody_target`) stands for."""
        return target

    @abstractmethod
    def conditioning(
        self, prosody: Optional[Sequence[Optional[torch.Tensor]]], xs: torch.Tensor, ilens: torch.Tensor
    ) -> torch.Tensor:
        """The conditioning (B, T_text + 1, adim) of a batch of representations.

        ``prosody`` holds one representation per utterance (the shape stage two predicts;
        None: the model's default), or is None for the default of every utterance. Raises
        ValueError naming the batch item whose representation does not fit its text.
        """

    # ------------------------------------------------------------------ conditioning
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
        pitch: torch.Tensor,
        energy: torch.Tensor,
        prosody: Optional[torch.Tensor],
        prosody_lengths: Optional[torch.Tensor],
    ) -> Tuple[torch.Tensor, torch.Tensor, Dict[str, torch.Tensor]]:
        """Return conditioning (B, T_text + 1, adim), an extra loss and extra stats.

        ``feats`` (B, T_feats, odim), ``durations`` (B, T_text + 1), ``pitch`` and
        ``energy`` (B, T_text + 1, 1) are the normalised targets of the batch.
        """

    @abstractmethod
    def _inference_conditioning(
        self,
        xs: torch.Tensor,
        feats: Optional[torch.Tensor],
        durations: Optional[torch.Tensor],
        pitch: Optional[torch.Tensor],
        energy: Optional[torch.Tensor],
        prosody: Optional[torch.Tensor],
        **kwargs,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return conditioning (1, T_text + 1, adim) and the prosody representation used.

        ``feats`` (1, T_ref, odim), ``durations`` (1, T_text + 1), ``pitch`` and ``energy``
        (1, T_text + 1, 1) describe a reference recording of the text (each may be None).
        """

    # ------------------------------------------------------------------ FastSpeech2 API
    def losses(
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
        decoder_feats: Optional[torch.Tensor] = None,
        decoder_variance_edit: Optional[VarianceControls] = None,
    ) -> Tuple[Dict[str, torch.Tensor], Dict[str, torch.Tensor]]:
        """Every loss term of a batch, separately.

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
            decoder_feats (Optional[Tensor]): The decoder's target (B, T_feats, odim) when
                it differs from ``feats`` (:mod:`prosody_plugin.tts.variance_augmentation`).
            decoder_variance_edit (Optional[VarianceControls]): The edit of the decoder's
                pitch and energy inputs that goes with ``decoder_feats``.

        Returns:
            Dict[str, Tensor]: Scalar loss terms: ``l1_loss`` (mel), ``duration_loss``,
                ``pitch_loss``, ``energy_loss`` (FastSpeech2's criterion) and
                ``prosody_loss`` (the model's own, e.g. Kathaka's weighted KL), plus
                ``duration_word_loss`` and ``duration_sentence_loss`` when weighted.
            Dict[str, Tensor]: The model's extra statistics.

        """
        text = text[:, : text_lengths.max()]  # for data-parallel
        feats = feats[:, : feats_lengths.max()]
        durations = durations[:, : durations_lengths.max()]
        pitch = pitch[:, : pitch_lengths.max()]
        energy = energy[:, : energy_lengths.max()]
        xs, ilens = self._tokens_with_eos(text, text_lengths)
        conditioning, prosody_loss, stats = self._training_conditioning(
            xs, ilens, feats, feats_lengths, durations, pitch, energy, prosody, prosody_lengths
        )
        before_outs, after_outs, d_outs, p_outs, e_outs = self._forward(
            xs,
            ilens,
            feats,
            feats_lengths,
            durations,
            pitch,
            energy,
            spembs=spembs,
            sids=sids,
            lids=lids,
            conditioning=conditioning,
            variance_edit=decoder_variance_edit,
        )
        # the decoder's target: the recording, or its augmented version (the conditioning and
        # the predictors above read the recording as it was)
        ys = feats if decoder_feats is None else decoder_feats[:, : feats.size(1)]
        olens = feats_lengths
        if self.reduction_factor > 1:  # as FastSpeech2: drop the frames past a multiple of r
            olens = olens.new([olen - olen % self.reduction_factor for olen in olens])
            ys = ys[:, : max(olens)]
        l1_loss, duration_loss, pitch_loss, energy_loss = self.criterion(
            after_outs=None if self.postnet is None else after_outs,
            before_outs=before_outs,
            d_outs=d_outs,
            p_outs=p_outs,
            e_outs=e_outs,
            ys=ys,
            ds=durations,
            ps=pitch,
            es=energy,
            ilens=ilens,
            olens=olens,
        )
        terms = dict(
            l1_loss=l1_loss,
            duration_loss=duration_loss,
            pitch_loss=pitch_loss,
            energy_loss=energy_loss,
            prosody_loss=prosody_loss,
        )
        if self.duration_word_loss_weight > 0 or self.duration_sentence_loss_weight > 0:
            words = self.word_ids(xs, ilens)[0] if self.duration_word_loss_weight > 0 else None
            word_loss, sentence_loss = duration_sum_losses(
                d_outs, durations, ilens, words, offset=self.duration_predictor.offset
            )
            terms.update(
                duration_word_loss=self.duration_word_loss_weight * word_loss,
                duration_sentence_loss=self.duration_sentence_loss_weight * sentence_loss,
            )
        return terms, stats

    def forward(self, **batch) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """The sum of :meth:`losses`' terms (keyword arguments as there), its statistics and
        the batch size (ESPnet's trainer convention, as FastSpeech2)."""
        terms, stats = self.losses(**batch)
        loss = sum(terms.values())
        stats = dict(stats, **{k: v.detach() for k, v in terms.items() if k != "prosody_loss"})
        if self.encoder_type == "transformer" and self.use_scaled_pos_enc:
            stats.update(encoder_alpha=self.encoder.embed[-1].alpha.data)
        if self.decoder_type == "transformer" and self.use_scaled_pos_enc:
            stats.update(decoder_alpha=self.decoder.embed[-1].alpha.data)
        stats.update(loss=loss.detach())
        return force_gatherable((loss, stats, batch["text"].size(0)), loss.device)

    def _forward(
        self,
        xs: torch.Tensor,
        ilens: torch.Tensor,
        ys: Optional[torch.Tensor] = None,
        olens: Optional[torch.Tensor] = None,
        ds: Optional[torch.Tensor] = None,
        ps: Optional[torch.Tensor] = None,
        es: Optional[torch.Tensor] = None,
        spembs: Optional[torch.Tensor] = None,
        sids: Optional[torch.Tensor] = None,
        lids: Optional[torch.Tensor] = None,
        is_inference: bool = False,
        alpha: float = 1.0,
        conditioning: Optional[torch.Tensor] = None,
        variance_edit: Optional[VarianceControls] = None,
    ) -> Sequence[torch.Tensor]:
        """FastSpeech2's ``_forward`` with the prosody ``conditioning`` (B, T_text + 1, adim).

        ``variance_edit`` (training only) edits the pitch and energy the decoder receives, as
        the inference controls do (the predictors' outputs and losses are unchanged).

        Returns before_outs, after_outs (B, T_feats, odim), d_outs (B, T_text + 1),
        p_outs and e_outs (B, T_text + 1, 1), as FastSpeech2.
        """
        x_masks = self._source_mask(ilens)
        hs, _ = self.encoder(xs, x_masks)  # (B, T_text + 1, adim)
        if self.spks is not None:
            hs = hs + self.sid_emb(sids.view(-1)).unsqueeze(1)
        if self.langs is not None:
            hs = hs + self.lid_emb(lids.view(-1)).unsqueeze(1)
        if self.spk_embed_dim is not None:
            hs = self._integrate_with_spk_embed(hs, spembs)
        if conditioning is None:
            conditioning = torch.zeros_like(hs)

        # The stop-gradient options protect the text encoder, never the representation.
        conditioned = hs + conditioning
        text_only = hs.detach() + conditioning
        d_masks = make_pad_mask(ilens).to(xs.device)
        pitch_in = text_only if self.stop_gradient_from_pitch_predictor else conditioned
        energy_in = text_only if self.stop_gradient_from_energy_predictor else conditioned
        p_outs = self.pitch_predictor(pitch_in, d_masks.unsqueeze(-1))
        e_outs = self.energy_predictor(energy_in, d_masks.unsqueeze(-1))

        if is_inference:
            d_outs = self.duration_predictor.inference(conditioned, d_masks)  # (B, T_text + 1)
            pitch_dec, energy_dec = p_outs, e_outs
        else:
            d_outs = self.duration_predictor(conditioned, d_masks)
            pitch_dec, energy_dec = {
                "ground_truth": (ps, es),
                "predicted": (p_outs, e_outs),
                "none": (None, None),
            }[self.decoder_variance_input]
            if variance_edit is not None and pitch_dec is not None:
                _, pitch_dec, energy_dec = variance_edit.apply(
                    d_outs, pitch_dec, energy_dec, d_masks.unsqueeze(-1)
                )
        hs = conditioned if self.condition_decoder else hs
        if self.decoder_variance_input != "none":
            hs = hs + self.pitch_embed(pitch_dec.transpose(1, 2)).transpose(1, 2)
            hs = hs + self.energy_embed(energy_dec.transpose(1, 2)).transpose(1, 2)
        if is_inference:
            hs = self.length_regulator(hs, d_outs, alpha)  # (B, T_feats, adim)
        else:
            hs = self.length_regulator(hs, ds)

        h_masks = None
        if olens is not None and not is_inference:
            olens_in = olens // self.reduction_factor if self.reduction_factor > 1 else olens
            h_masks = self._source_mask(olens_in)
        zs, _ = self.decoder(hs, h_masks)  # (B, T_feats, adim)
        before_outs = self.feat_out(zs).view(zs.size(0), -1, self.odim)
        if self.postnet is None:
            after_outs = before_outs
        else:
            after_outs = before_outs + self.postnet(before_outs.transpose(1, 2)).transpose(1, 2)
        return before_outs, after_outs, d_outs, p_outs, e_outs

    #: Synthesise a padded batch, each utterance as :meth:`_forward` would alone: ``xs``
    #: (B, T_text + 1) token ids with eos, ``ilens`` (B,), ``conditioning`` (B, T_text + 1,
    #: adim), e.g. each utterance's ``_inference_conditioning`` padded (:func:`batch_text_to_mel`).
    batch_inference = batch_text_to_mel

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
        reference_pitch: Optional[torch.Tensor] = None,
        reference_energy: Optional[torch.Tensor] = None,
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
            pitch, energy (Optional[Tensor]): Token-level (T_text + 1, 1), normalised, for
                teacher forcing.
            spembs, sids, lids, alpha, use_teacher_forcing: As in FastSpeech2.
            prosody (Optional[Tensor]): Explicit prosody representation, as predicted by
                stage two (Kathaka: (latent_dim,); CAMP: (num_words, D)). Takes precedence
                over the reference.
            reference_durations (Optional[LongTensor]): Token durations of the reference
                (T_text + 1,); with teacher forcing, ``durations`` serve.
            reference_pitch, reference_energy (Optional[Tensor]): Normalised token-level
                pitch and energy of the reference (T_text + 1, 1); with teacher forcing,
                ``pitch`` and ``energy`` serve.
            prosody_options: Model-specific options (Kathaka: ``temperature``).

        Returns:
            Dict[str, Tensor]: FastSpeech2's outputs (feat_gen (T_feats, odim), duration,
                pitch, energy) plus ``prosody``, the representation that was used.

        """
        xs, ilens = self._tokens_with_eos(text[None], text.new_tensor([len(text)]))
        if use_teacher_forcing:
            reference_durations = durations if reference_durations is None else reference_durations
            reference_pitch = pitch if reference_pitch is None else reference_pitch
            reference_energy = energy if reference_energy is None else reference_energy

        def batched(x: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
            return None if x is None else x[None]

        conditioning, representation = self._inference_conditioning(
            xs,
            batched(feats),
            batched(reference_durations),
            batched(reference_pitch),
            batched(reference_energy),
            prosody,
            **prosody_options,
        )
        spembs = batched(spembs)
        if use_teacher_forcing:
            _, outs, d_outs, p_outs, e_outs = self._forward(
                xs,
                ilens,
                ds=durations[None],
                ps=pitch[None],
                es=energy[None],
                spembs=spembs,
                sids=sids,
                lids=lids,
                conditioning=conditioning,
            )
        else:
            _, outs, d_outs, p_outs, e_outs = self._forward(
                xs,
                ilens,
                spembs=spembs,
                sids=sids,
                lids=lids,
                is_inference=True,
                alpha=alpha,
                conditioning=conditioning,
            )
        return dict(
            feat_gen=outs[0],
            duration=d_outs[0],
            pitch=p_outs[0],
            energy=e_outs[0],
            prosody=representation,
        )
