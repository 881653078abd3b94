"""Unsupervised phone durations: a forward-sum aligner (ESPnet's JETS alignment module and
loss) trained like any ESPnet TTS model, registered as the TTS class ``aligner``; its
teacher-forced inference writes ESPnet's ``--teacher_dumpdir`` durations.
docs/architecture.md ("The aligner").
"""

from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask
from espnet2.gan_tts.jets.alignments import AlignmentModule, viterbi_decode
from espnet2.gan_tts.jets.loss import ForwardSumLoss
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.tts.abs_tts import AbsTTS

from prosody_plugin.tts.word_pooling import append_eos


class CdistAlignmentModule(AlignmentModule):
    """ESPnet's JETS AlignmentModule with the token/frame distances computed by cdist.

    ESPnet's forward forms the (B, T_feats, T_text, adim) difference tensor to take its norm:
    about 1 GB for a batch of 16 ten-second utterances, the bulk of the aligner's time and
    memory on a CPU. ``torch.cdist`` gives the same distances without it. The layers, the
    masking and the beta-binomial prior are ESPnet's.
    """

    def forward(self, text, feats, text_lengths, feats_lengths, x_masks=None):
        """Log attention probabilities (B, T_feats, T_text); see AlignmentModule.forward."""
        text = self.t_conv2(F.relu(self.t_conv1(text.transpose(1, 2)))).transpose(1, 2)
        feats = feats.transpose(1, 2)
        feats = self.f_conv3(F.relu(self.f_conv2(F.relu(self.f_conv1(feats)))))
        score = -torch.cdist(feats.transpose(1, 2), text, compute_mode="donot_use_mm_for_euclid_dist")
        if x_masks is not None:
            score = score.masked_fill(x_masks.unsqueeze(-2), -float("inf"))
        log_p_attn = F.log_softmax(score, dim=-1)
        prior = self._generate_prior(text_lengths, feats_lengths)
        return log_p_attn + prior.to(dtype=log_p_attn.dtype, device=log_p_attn.device)


class ForwardSumAligner(AbsTTS):
    """Token/frame aligner giving FastSpeech2 durations.

    Args:
        idim (int): Vocabulary size (the last token is eos, as in FastSpeech2).
        odim (int): Feature dimension.
        adim (int): Hidden dimension.
        text_conv_layers (int): Convolutions of the text encoder (context for each token).
        text_conv_kernel_size (int): Their kernel size.
        dropout_rate (float): Dropout of the text encoder.
        bin_loss_weight (float): Weight of JETS' binarisation loss, which pulls the soft
            alignment toward the Viterbi path.
        bin_loss_start_steps (int): Training steps before the binarisation loss is used
            (the soft alignment must first be roughly right).

    """

    def __init__(
        self,
        idim: int,
        odim: int,
        adim: int = 256,
        text_conv_layers: int = 2,
        text_conv_kernel_size: int = 5,
        dropout_rate: float = 0.1,
        bin_loss_weight: float = 1.0,
        bin_loss_start_steps: int = 1000,
    ):
        super().__init__()
        self.odim = odim
        self.eos = idim - 1
        self.padding_idx = 0
        # single-speaker, single-language: what ESPnet's Text2Speech asks every TTS module
        self.spks = self.langs = self.spk_embed_dim = None
        self.bin_loss_weight = bin_loss_weight
        self.bin_loss_start_steps = bin_loss_start_steps
        self.embed = torch.nn.Embedding(idim, adim, padding_idx=self.padding_idx)
        self.text_convs = torch.nn.ModuleList(
            torch.nn.Conv1d(adim, adim, text_conv_kernel_size, padding=text_conv_kernel_size // 2)
            for _ in range(text_conv_layers)
        )
        self.dropout = torch.nn.Dropout(dropout_rate)
        self.alignment_module = CdistAlignmentModule(adim, odim)
        self.forwardsum_loss = ForwardSumLoss()
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.long))

    @property
    def require_vocoder(self) -> bool:
        """Return False: the aligner only reads features."""
        return False

    @staticmethod
    def _normalize_per_utterance(feats: torch.Tensor, feats_lengths: torch.Tensor) -> torch.Tensor:
        """Zero-mean, unit-variance per utterance and bin: no corpus statistics needed."""
        mask = (~make_pad_mask(feats_lengths, maxlen=feats.size(1))).to(feats.device)
        mask = mask.unsqueeze(-1).to(feats.dtype)
        count = mask.sum(1, keepdim=True).clamp(min=1)
        mean = (feats * mask).sum(1, keepdim=True) / count
        var = ((feats - mean).pow(2) * mask).sum(1, keepdim=True) / count
        return (feats - mean) / (var + 1e-5).sqrt() * mask

    def _log_p_attn(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        xs, ilens = append_eos(text, text_lengths, self.eos, self.padding_idx)
        x_masks = make_pad_mask(ilens).to(xs.device)
        hs = self.embed(xs).transpose(1, 2)
        for conv in self.text_convs:
            hs = self.dropout(F.relu(conv(hs)))
        hs = hs.transpose(1, 2).masked_fill(x_masks.unsqueeze(-1), 0.0)
        ys = self._normalize_per_utterance(feats, feats_lengths)
        log_p_attn = self.alignment_module(hs, ys, ilens, feats_lengths, x_masks)
        return log_p_attn, ilens

    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        feats: torch.Tensor,
        feats_lengths: torch.Tensor,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Forward-sum (and binarisation) loss of a batch.

        Args:
            text (LongTensor): Padded token ids (B, T_text).
            text_lengths (LongTensor): (B,).
            feats (Tensor): Padded features (B, T_feats, odim).
            feats_lengths (LongTensor): (B,).

        Returns:
            Tensor: Loss scalar value.
            Dict: Statistics to be monitored.
            Tensor: Weight value.

        """
        text = text[:, : text_lengths.max()]
        feats = feats[:, : feats_lengths.max()]
        log_p_attn, ilens = self._log_p_attn(text, text_lengths, feats, feats_lengths)
        forwardsum_loss = self.forwardsum_loss(log_p_attn, ilens, feats_lengths)
        loss = forwardsum_loss
        stats = dict(forwardsum_loss=forwardsum_loss.detach())
        if self.bin_loss_weight > 0 and int(self.num_updates) >= self.bin_loss_start_steps:
            _, bin_loss = viterbi_decode(log_p_attn, ilens, feats_lengths)
            loss = loss + self.bin_loss_weight * bin_loss
            stats.update(bin_loss=bin_loss.detach())
        if self.training:
            self.num_updates += 1
        stats.update(loss=loss.detach())
        return force_gatherable((loss, stats, text.size(0)), loss.device)

    def inference(
        self,
        text: torch.Tensor,
        feats: Optional[torch.Tensor] = None,
        use_teacher_forcing: bool = True,
        **kwargs,
    ) -> Dict[str, torch.Tensor]:
        """Durations of ``text`` in the recording ``feats``.

        Args:
            text (LongTensor): Token ids (T_text,).
            feats (Tensor): Features of the recording (T_feats, odim).

        Returns:
            Dict[str, Tensor]: ``duration`` (T_text + 1,) summing to T_feats, and
                ``feat_gen``, the input features (ESPnet's inference loop expects it).

        """
        if feats is None or not use_teacher_forcing:
            raise ValueError(
                "the aligner aligns text to a recording: run inference with "
                "--use_teacher_forcing true and the speech in the data"
            )
        text_lengths = text.new_tensor([len(text)])
        feats_lengths = text.new_tensor([len(feats)])
        if len(feats) < len(text) + 1:
            raise ValueError(f"{len(feats)} frames cannot hold {len(text) + 1} tokens (one frame each)")
        log_p_attn, ilens = self._log_p_attn(text[None], text_lengths, feats[None], feats_lengths)
        durations, _ = viterbi_decode(log_p_attn, ilens, feats_lengths)
        return dict(feat_gen=feats, duration=durations[0].long())
