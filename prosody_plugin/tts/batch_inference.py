"""Batched text-to-mel inference for ESPnet's FastSpeech2 and the plugin's subclasses: each
utterance of a padded batch gives what it gives alone.

The ``masked_*`` functions mirror ESPnet's forwards at inference (espnet 202511) with the
padding zeroed before every convolution and the decoder masked; a layer variant they do not
mirror raises ValueError naming its option. docs/architecture.md ("Batched inference").
"""

from typing import Dict, Optional

import torch
from espnet.nets.pytorch_backend.conformer.convolution import ConvolutionModule
from espnet.nets.pytorch_backend.conformer.encoder_layer import (
    EncoderLayer as ConformerEncoderLayer,
)
from espnet.nets.pytorch_backend.fastspeech.duration_predictor import DurationPredictor
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask
from espnet.nets.pytorch_backend.tacotron2.decoder import Postnet
from espnet.nets.pytorch_backend.transformer.attention import (
    LegacyRelPositionMultiHeadedAttention,
    MultiHeadedAttention,
    RelPositionMultiHeadedAttention,
)
from espnet.nets.pytorch_backend.transformer.embedding import LegacyRelPositionalEncoding
from espnet.nets.pytorch_backend.transformer.encoder_layer import (
    EncoderLayer as TransformerEncoderLayer,
)
from espnet.nets.pytorch_backend.transformer.multi_layer_conv import (
    Conv1dLinear,
    MultiLayeredConv1d,
)
from espnet.nets.pytorch_backend.transformer.positionwise_feed_forward import (
    PositionwiseFeedForward,
)
from espnet2.tts.fastspeech2 import FastSpeech2
from espnet2.tts.fastspeech2.variance_predictor import VariancePredictor

from prosody_plugin.tts.variance_controls import VarianceControls

ESPNET_VERSION = "202511"  # the version whose forwards the masked_* functions mirror


def _zero(x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
    """``x`` with the padded positions set to zero (``pad`` broadcasts to ``x``)."""
    return x.masked_fill(pad, 0.0)


# ------------------------------------------------------------------ transformer / conformer
def masked_feed_forward(ff: torch.nn.Module, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
    """The position-wise feed-forward block of a transformer or conformer layer.

    Mirrors ``MultiLayeredConv1d.forward`` (``positionwise_layer_type: conv1d``),
    ``Conv1dLinear.forward`` (``conv1d-linear``) and ``PositionwiseFeedForward.forward``
    (``linear``) of espnet/nets/pytorch_backend/transformer/{multi_layer_conv,
    positionwise_feed_forward}.py, with the padded positions zeroed before each conv.

    Args:
        ff: The block.
        x (Tensor): Input (B, T, adim).
        pad (BoolTensor): True at padded positions (B, T, 1).
    """
    if type(ff) is PositionwiseFeedForward:
        return ff(x)  # position-wise: padded positions do not reach the others
    if type(ff) is MultiLayeredConv1d:
        x = torch.relu(ff.w_1(_zero(x, pad).transpose(-1, 1))).transpose(-1, 1)
        return ff.w_2(_zero(ff.dropout(x), pad).transpose(-1, 1)).transpose(-1, 1)
    if type(ff) is Conv1dLinear:
        x = torch.relu(ff.w_1(_zero(x, pad).transpose(-1, 1))).transpose(-1, 1)
        return ff.w_2(ff.dropout(x))
    raise ValueError(
        f"batched inference does not support the feed-forward block {type(ff).__name__} "
        "(positionwise_layer_type: use linear, conv1d or conv1d-linear)"
    )


def masked_convolution_module(conv: torch.nn.Module, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
    """Mirrors ``ConvolutionModule.forward`` (espnet/nets/pytorch_backend/conformer/
    convolution.py): the GLU output is zeroed at padded positions before the depthwise
    conv (``conformer_{enc,dec}_kernel_size``), as the conv's own zero padding is alone.

    Args:
        conv: The conformer's convolution module (``use_cnn_in_conformer``).
        x (Tensor): Input (B, T, adim).
        pad (BoolTensor): True at padded positions (B, T, 1).
    """
    if type(conv) is not ConvolutionModule:
        raise ValueError(
            f"batched inference does not support the conformer convolution module "
            f"{type(conv).__name__} (use_cnn_in_conformer)"
        )
    x = x.transpose(1, 2)
    x = torch.nn.functional.glu(conv.pointwise_conv1(x), dim=1)
    x = conv.depthwise_conv(_zero(x, pad.transpose(1, 2)))
    x = conv.activation(conv.norm(x))
    return conv.pointwise_conv2(x).transpose(1, 2)


# The legacy relative attention's scores depend on the padded length (its relative shift
# and reversed encoding), so a padded batch cannot give each utterance its result alone.
def _legacy_rel_pos_error() -> ValueError:
    return ValueError(
        "batched inference does not support the legacy relative positional encoding "
        "(conformer_rel_pos_type: legacy / conformer_pos_enc_layer_type: legacy_rel_pos); "
        "use conformer_rel_pos_type: latest"
    )


def _check_attention(attn: torch.nn.Module) -> None:
    if isinstance(attn, LegacyRelPositionMultiHeadedAttention):
        raise _legacy_rel_pos_error()
    if type(attn) not in (MultiHeadedAttention, RelPositionMultiHeadedAttention):
        raise ValueError(
            f"batched inference does not support the self-attention {type(attn).__name__} "
            "(conformer_self_attn_layer_type: use selfattn or rel_selfattn)"
        )


def _residual(x: torch.Tensor, norm: torch.nn.Module, normalize_before: bool, branch) -> torch.Tensor:
    """One residual sub-layer of ESPnet's encoder layers: ``x + branch(norm(x))`` when
    ``normalize_before``, else ``norm(x + branch(x))``."""
    residual = x
    if normalize_before:
        x = norm(x)
    x = residual + branch(x)
    if not normalize_before:
        x = norm(x)
    return x


def _self_attention_branch(
    layer: torch.nn.Module, mask: torch.Tensor, pos_emb: Optional[torch.Tensor] = None
):
    """The self-attention branch of a transformer or conformer layer (relative positions
    when ``pos_emb`` is given), with its ``concat_after`` or dropout."""
    _check_attention(layer.self_attn)

    def branch(x: torch.Tensor) -> torch.Tensor:
        if pos_emb is not None:
            x_att = layer.self_attn(x, x, x, pos_emb, mask)
        else:
            x_att = layer.self_attn(x, x, x, mask)
        if layer.concat_after:
            return layer.concat_linear(torch.cat((x, x_att), dim=-1))
        return layer.dropout(x_att)

    return branch


def masked_transformer_layer(
    layer: TransformerEncoderLayer, x: torch.Tensor, mask: torch.Tensor, pad: torch.Tensor
) -> torch.Tensor:
    """Mirrors ``EncoderLayer.forward`` of espnet/nets/pytorch_backend/transformer/
    encoder_layer.py at inference (no cache, no stochastic depth), with the feed-forward
    block of :func:`masked_feed_forward`.

    Args:
        x (Tensor): Input (B, T, adim).
        mask (BoolTensor): Self-attention mask, True at valid positions (B, 1, T).
        pad (BoolTensor): True at padded positions (B, T, 1).
    """
    before = layer.normalize_before
    x = _residual(x, layer.norm1, before, _self_attention_branch(layer, mask))
    return _residual(
        x, layer.norm2, before, lambda x: layer.dropout(masked_feed_forward(layer.feed_forward, x, pad))
    )


def masked_conformer_layer(
    layer: ConformerEncoderLayer,
    x: torch.Tensor,
    pos_emb: Optional[torch.Tensor],
    mask: torch.Tensor,
    pad: torch.Tensor,
) -> torch.Tensor:
    """Mirrors ``EncoderLayer.forward`` of espnet/nets/pytorch_backend/conformer/
    encoder_layer.py at inference (no cache, no stochastic depth): macaron feed-forward,
    self-attention (relative positions when ``pos_emb`` is given), convolution module and
    feed-forward, with :func:`masked_feed_forward` and :func:`masked_convolution_module`.

    Args:
        x (Tensor): Input (B, T, adim).
        pos_emb (Optional[Tensor]): Relative positional embedding (1, 2T - 1, adim).
        mask (BoolTensor): Self-attention mask, True at valid positions (B, 1, T).
        pad (BoolTensor): True at padded positions (B, T, 1).
    """
    before = layer.normalize_before
    attention = _self_attention_branch(layer, mask, pos_emb)

    def feed_forward(block: torch.nn.Module):
        return lambda x: layer.ff_scale * layer.dropout(masked_feed_forward(block, x, pad))

    if layer.feed_forward_macaron is not None:
        x = _residual(x, layer.norm_ff_macaron, before, feed_forward(layer.feed_forward_macaron))
    x = _residual(x, layer.norm_mha, before, attention)
    if layer.conv_module is not None:
        x = _residual(
            x,
            layer.norm_conv,
            before,
            lambda x: layer.dropout(masked_convolution_module(layer.conv_module, x, pad)),
        )
    x = _residual(x, layer.norm_ff, before, feed_forward(layer.feed_forward))
    if layer.conv_module is not None:
        x = layer.norm_final(x)
    return x


def masked_encoder(encoder: torch.nn.Module, xs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mirrors ``Encoder.forward`` of espnet/nets/pytorch_backend/{transformer,conformer}/
    encoder.py as FastSpeech2 builds it (``encoder_type`` / ``decoder_type``: the text
    encoder with an embedding input layer, the decoder with none), layer by layer with
    :func:`masked_transformer_layer` / :func:`masked_conformer_layer`.

    Args:
        encoder: ``model.encoder`` or ``model.decoder``.
        xs (Tensor): Token ids (B, T) or decoder input (B, T, adim).
        lengths (LongTensor): Valid lengths (B,).

    Returns:
        Tensor: Output (B, T, adim); padded positions hold arbitrary values.
    """
    if getattr(encoder, "intermediate_layers", None) is not None:
        raise ValueError("batched inference does not support intermediate_layers in the encoder")
    if not isinstance(encoder.embed, torch.nn.Sequential):
        raise ValueError(f"batched inference does not support the input layer {type(encoder.embed).__name__}")
    if any(isinstance(m, LegacyRelPositionalEncoding) for m in encoder.embed):
        raise _legacy_rel_pos_error()
    pad = make_pad_mask(lengths, maxlen=xs.size(1)).to(xs.device).unsqueeze(-1)  # (B, T, 1)
    mask = ~pad.transpose(1, 2)  # (B, 1, T)
    xs = encoder.embed(xs)
    xs, pos_emb = xs if isinstance(xs, tuple) else (xs, None)
    for layer in encoder.encoders:
        if type(layer) is ConformerEncoderLayer:
            xs = masked_conformer_layer(layer, xs, pos_emb, mask, pad)
        elif type(layer) is TransformerEncoderLayer and pos_emb is None:
            xs = masked_transformer_layer(layer, xs, mask, pad)
        else:
            raise ValueError(
                f"batched inference does not support the encoder layer {type(layer).__name__} "
                "(encoder_type / decoder_type: use transformer or conformer)"
            )
    if encoder.normalize_before:
        xs = encoder.after_norm(xs)
    return xs


# ------------------------------------------------------------------ variance adaptor, postnet
def _masked_conv_stack(predictor: torch.nn.Module, xs: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
    """Conv blocks then linear of a duration or variance predictor: (B, T, C) -> (B, T, 1).

    Each block is ``Sequential(Conv1d, ReLU, LayerNorm(dim=1), Dropout)``: its conv is
    its only operation across time, so zeroing the block's input suffices.
    """
    pad_cf = pad.transpose(1, 2)  # (B, 1, T)
    xs = xs.transpose(1, -1)  # (B, C, T)
    for block in predictor.conv:
        if any(isinstance(m, torch.nn.Conv1d) for m in list(block)[1:]):
            raise ValueError(f"unexpected block in {type(predictor).__name__}: {block}")
        xs = block(_zero(xs, pad_cf))
    return predictor.linear(xs.transpose(1, -1))  # (B, T, 1)


def masked_duration_inference(
    predictor: DurationPredictor, xs: torch.Tensor, pad: torch.Tensor
) -> torch.Tensor:
    """Mirrors ``DurationPredictor.inference`` (espnet/nets/pytorch_backend/fastspeech/
    duration_predictor.py): integer durations round(exp(log d) - offset) clamped at 0,
    padded tokens 0 (B, T).
    """
    if type(predictor) is not DurationPredictor:
        raise ValueError(f"batched inference does not support {type(predictor).__name__}")
    xs = _masked_conv_stack(predictor, xs, pad).squeeze(-1)  # log domain (B, T)
    xs = torch.clamp(torch.round(xs.exp() - predictor.offset), min=0).long()
    return xs.masked_fill(pad.squeeze(-1), 0)


def masked_variance_predictor(
    predictor: VariancePredictor, xs: torch.Tensor, pad: torch.Tensor
) -> torch.Tensor:
    """Mirrors ``VariancePredictor.forward`` (espnet2/tts/fastspeech2/variance_predictor.py):
    token-level pitch or energy, padded tokens 0 (B, T, 1)."""
    if type(predictor) is not VariancePredictor:
        raise ValueError(f"batched inference does not support {type(predictor).__name__}")
    return _masked_conv_stack(predictor, xs, pad).masked_fill(pad, 0.0)


def masked_postnet(postnet: Postnet, xs: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
    """Mirrors ``Postnet.forward`` (espnet/nets/pytorch_backend/tacotron2/decoder.py):
    each block is Conv1d, (BatchNorm1d), (Tanh), Dropout, with its input zeroed at padded
    frames. ``xs`` (B, odim, T), ``pad`` (B, T, 1); returns (B, odim, T)."""
    if type(postnet) is not Postnet:
        raise ValueError(f"batched inference does not support the postnet {type(postnet).__name__}")
    pad_cf = pad.transpose(1, 2)
    for block in postnet.postnet:
        xs = block(_zero(xs, pad_cf))
    return xs


def regulated_durations(
    durations: torch.Tensor, ilens: torch.Tensor, alpha: float = 1.0, scale: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """The durations ``LengthRegulator.forward`` (espnet/nets/pytorch_backend/fastspeech/
    length_regulator.py) expands each utterance by, as it would alone.

    ``round(d * alpha)`` (half to even) when ``alpha != 1``, ``round(d * scale * alpha)``
    with a per-token ``scale`` (B, T) of the prosody controls; an utterance whose durations
    are all zero gets one frame per token. ESPnet fills such a sequence in place when
    ``alpha == 1``, so then ``durations`` itself is changed (as ESPnet returns it).

    Args:
        durations (LongTensor): Predicted durations (B, T), padded tokens 0.
        ilens (LongTensor): Token lengths (B,).

    Returns:
        LongTensor: Durations to expand by (B, T), padded tokens 0.
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    if scale is not None:
        ds = torch.round(durations.float() * scale * alpha).long()
    elif alpha != 1.0:
        ds = torch.round(durations.float() * alpha).long()
    else:
        ds = durations
    empty = ds.sum(dim=1).eq(0)
    if bool(empty.any()):
        valid = ~make_pad_mask(ilens, maxlen=ds.size(1)).to(ds.device)
        ds[empty] = valid[empty].long()
    return ds


# ------------------------------------------------------------------ the whole model
def batch_text_to_mel(
    model: FastSpeech2,
    xs: torch.Tensor,
    ilens: torch.Tensor,
    conditioning: Optional[torch.Tensor] = None,
    alpha: float = 1.0,
    spembs: Optional[torch.Tensor] = None,
    sids: Optional[torch.Tensor] = None,
    lids: Optional[torch.Tensor] = None,
    controls: Optional[VarianceControls] = None,
) -> Dict[str, torch.Tensor]:
    """Synthesise a padded batch as ``FastSpeech2._forward(..., is_inference=True)`` would
    each utterance alone (the plugin's ``ProsodyFastSpeech2._forward`` with its conditioning).

    Args:
        model: ``espnet2.tts.fastspeech2.FastSpeech2`` or a ``ProsodyFastSpeech2`` (Kathaka,
            CAMP), in eval mode.
        xs (LongTensor): Token ids with eos appended, padded with 0 (B, T_text + 1)
            (``prosody_plugin.tts.word_pooling.append_eos``).
        ilens (LongTensor): Their lengths, eos included (B,).
        conditioning (Optional[Tensor]): The prosody conditioning of a ``ProsodyFastSpeech2``
            (B, T_text + 1, adim), e.g. each utterance's ``_inference_conditioning``
            padded; None: none (zeros). Not accepted for a plain FastSpeech2.
        alpha (float): Speed control of the length regulator (durations * alpha, rounded).
        spembs (Optional[Tensor]): Speaker embeddings (B, spk_embed_dim).
        sids (Optional[LongTensor]): Speaker ids (B,) or (B, 1).
        lids (Optional[LongTensor]): Language ids (B,) or (B, 1).
        controls (Optional[VarianceControls]): Edits of the predicted durations, pitch and
            energy before the decoder (rate, pitch, pitch range, energy per token;
            :mod:`prosody_plugin.tts.variance_controls`).

    Returns:
        Dict[str, Tensor]:
            * feat_gen (Tensor): Mel-spectrograms after the postnet (B, T_feats_max, odim),
              padded frames 0.
            * feat_lengths (LongTensor): Their lengths (B,): the regulated durations'
              sums times the reduction factor.
            * duration (LongTensor): Predicted token durations (B, T_text + 1), padded 0;
              as ESPnet returns them: before alpha (after the controls' rate).
            * pitch, energy (Tensor): Predicted token-level values (B, T_text + 1, 1),
              padded 0 (after the controls: what the decoder got).
    """
    if model.training:
        raise ValueError(
            "batched inference needs model.eval(): in training mode dropout and BatchNorm "
            "make an utterance's result depend on the batch"
        )
    if getattr(model, "use_gst", False):
        raise ValueError("batched inference does not support use_gst (it needs reference feats)")
    prosody = hasattr(model, "decoder_variance_input")  # a ProsodyFastSpeech2
    if conditioning is not None and not prosody:
        raise ValueError(f"{type(model).__name__} takes no prosody conditioning")
    if xs.dim() != 2 or ilens.dim() != 1 or xs.size(0) != ilens.size(0):
        raise ValueError(f"expected xs (B, T) and ilens (B,), got {tuple(xs.shape)} and {tuple(ilens.shape)}")
    ilens = ilens.to(xs.device)
    t_text = int(ilens.max())
    xs = xs[:, :t_text]
    pad = make_pad_mask(ilens, maxlen=t_text).to(xs.device).unsqueeze(-1)  # (B, T_text, 1)

    # encoder and speaker / language embeddings (FastSpeech2._forward)
    hs = masked_encoder(model.encoder, xs, ilens)  # (B, T_text, adim)
    if model.spks is not None:
        hs = hs + model.sid_emb(sids.view(-1)).unsqueeze(1)
    if model.langs is not None:
        hs = hs + model.lid_emb(lids.view(-1)).unsqueeze(1)
    if model.spk_embed_dim is not None:
        hs = model._integrate_with_spk_embed(hs, spembs)
    encoded = hs
    if conditioning is not None:
        hs = hs + conditioning[:, :t_text]

    # variance adaptor (stop_gradient_* change no value at inference)
    p_outs = masked_variance_predictor(model.pitch_predictor, hs, pad)  # (B, T_text, 1)
    e_outs = masked_variance_predictor(model.energy_predictor, hs, pad)
    d_outs = masked_duration_inference(model.duration_predictor, hs, pad)  # (B, T_text)
    duration_scale = None
    if controls is not None:
        duration_scale, p_outs, e_outs = controls.apply(d_outs, p_outs, e_outs, pad)

    def embed(layer: torch.nn.Module, values: torch.Tensor) -> torch.Tensor:
        return layer(_zero(values, pad).transpose(1, 2)).transpose(1, 2)

    if prosody and not model.condition_decoder:  # the representation only through the variances
        hs = encoded
    if not prosody:  # FastSpeech2's order of the sums
        hs = hs + embed(model.energy_embed, e_outs) + embed(model.pitch_embed, p_outs)
    elif model.decoder_variance_input != "none":  # ProsodyFastSpeech2's
        hs = hs + embed(model.pitch_embed, p_outs)
        hs = hs + embed(model.energy_embed, e_outs)

    # length regulator, per utterance as alone
    ds = regulated_durations(d_outs, ilens, alpha, duration_scale)
    if duration_scale is not None:  # the durations the controls asked for, before alpha
        d_outs = ds if alpha == 1.0 else torch.round(d_outs.float() * duration_scale).long()
    olens = ds.sum(dim=1)  # decoder frames (B,)
    hs = model.length_regulator(hs, ds)  # (B, T_frames_max, adim), padded 0

    # decoder with its self-attention mask, feat_out, postnet
    zs = masked_encoder(model.decoder, hs, olens)
    r = model.reduction_factor
    before_outs = model.feat_out(zs).view(zs.size(0), -1, model.odim)  # (B, T_feats_max, odim)
    feat_lengths = olens * r
    frame_pad = make_pad_mask(feat_lengths, maxlen=before_outs.size(1)).to(xs.device).unsqueeze(-1)
    if model.postnet is None:
        after_outs = before_outs
    else:
        after_outs = before_outs + masked_postnet(
            model.postnet, before_outs.transpose(1, 2), frame_pad
        ).transpose(1, 2)
    return dict(
        feat_gen=_zero(after_outs, frame_pad),
        feat_lengths=feat_lengths,
        duration=d_outs,
        pitch=p_outs,
        energy=e_outs,
    )
