"""CAMP stage one: FastSpeech2 with one non-variational prosody embedding per word.

Hodari et al., "CAMP: a two-stage approach to modelling prosody in context", ICASSP 2021.

Training::

    feats (B, T_feats, odim) -> frame encoder (convs)                 (B, T_feats, C)
        -> mean over the frames of each word (phone durations +
           phone-to-word map from the <space> tokens)                 (B, W, C)
        -> Linear -> word prosody embeddings                          (B, W, D)
    hs = encoder(tokens) + Linear(embedding of each token's word)     (B, T_text + 1, adim)
    loss = FastSpeech2 losses

At inference the word embeddings are an explicit (num_words, D) matrix (stage two's
predictor), or come from a reference mel-spectrogram of the same text with its phone
durations (oracle prosody). There is no default: CAMP without either is an error.
"""

from typing import Optional, Sequence, Tuple

import torch

from prosody_plugin.tts.prosody_fastspeech2 import ProsodyFastSpeech2
from prosody_plugin.tts.word_boundaries import (
    broadcast_words_to_tokens,
    pool_frames_by_word,
    token_classes,
    word_ids_from_tokens,
)


class FrameEncoder(torch.nn.Module):
    """Conv1d + ReLU + LayerNorm + dropout blocks over mel frames: (B, T, idim) -> (B, T, C)."""

    def __init__(self, idim: int, layers: int, chans: int, kernel_size: int, dropout: float):
        super().__init__()
        self.convs = torch.nn.ModuleList(
            torch.nn.Conv1d(idim if i == 0 else chans, chans, kernel_size, padding=kernel_size // 2)
            for i in range(layers)
        )
        self.norms = torch.nn.ModuleList(torch.nn.LayerNorm(chans) for _ in range(layers))
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        xs = feats
        for conv, norm in zip(self.convs, self.norms):
            xs = conv(xs.transpose(1, 2)).transpose(1, 2)
            xs = self.dropout(norm(torch.relu(xs)))
        return xs


class CAMP(ProsodyFastSpeech2):
    """FastSpeech2 conditioned on word-level prosody embeddings.

    Args:
        idim (int): Vocabulary size.
        odim (int): Feature dimension (mel bins).
        adim (int): Attention dimension of FastSpeech2.
        word_embed_dim (int): Dimension D of a word's prosody embedding; small on purpose,
            a bottleneck that keeps segmental detail out of it.
        ref_conv_layers, ref_conv_chans, ref_conv_kernel_size, ref_dropout: Frame encoder.
        **fastspeech2_conf: Any option of ESPnet's FastSpeech2.

    Word boundaries come from the token list (``<space>`` tokens); the task calls
    :meth:`set_token_list` when it builds the model, and the resulting token classes are
    buffers, so they travel with every checkpoint.
    """

    def __init__(
        self,
        idim: int,
        odim: int,
        adim: int = 384,
        word_embed_dim: int = 8,
        ref_conv_layers: int = 2,
        ref_conv_chans: int = 256,
        ref_conv_kernel_size: int = 5,
        ref_dropout: float = 0.1,
        **fastspeech2_conf,
    ):
        super().__init__(idim=idim, odim=odim, adim=adim, **fastspeech2_conf)
        if self.reduction_factor != 1:
            raise ValueError("CAMP pools frames per word and needs reduction_factor=1")
        self.word_embed_dim = word_embed_dim
        self.frame_encoder = FrameEncoder(
            odim, ref_conv_layers, ref_conv_chans, ref_conv_kernel_size, ref_dropout
        )
        self.word_embedding = torch.nn.Linear(ref_conv_chans, word_embed_dim)
        self.word_projection = torch.nn.Linear(word_embed_dim, adim)
        self.register_buffer("token_is_boundary", torch.zeros(idim, dtype=torch.bool))
        self.register_buffer("token_is_punctuation", torch.zeros(idim, dtype=torch.bool))

    def set_token_list(self, token_list: Sequence[str]) -> None:
        """Derive the word-boundary and punctuation tokens from the token list."""
        if len(token_list) != len(self.token_is_boundary):
            raise ValueError(
                f"token list has {len(token_list)} tokens, the model {len(self.token_is_boundary)}"
            )
        is_boundary, is_punct = token_classes(token_list)
        if not is_boundary.any():
            raise ValueError(
                "CAMP needs word boundaries: the token list has no <space> token. Use a "
                "G2P that marks them (e.g. espeak_ng_english_us_vits)."
            )
        # padding and eos attach to the preceding word like punctuation
        is_punct[self.padding_idx] = True
        is_punct[self.eos] = True
        self.token_is_boundary.copy_(is_boundary)
        self.token_is_punctuation.copy_(is_punct)

    def word_ids(self, xs: torch.Tensor, ilens: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Word index of every token (B, T) and the number of words (B,)."""
        if not self.token_is_boundary.any():
            raise RuntimeError(
                "CAMP's word-boundary tokens are unset: build the model through "
                "prosody_plugin's task (it calls set_token_list) or load a trained checkpoint"
            )
        return word_ids_from_tokens(xs, ilens, self.token_is_boundary, self.token_is_punctuation)

    # ---------------------------------------------------------------- prosody encoder
    def encode_prosody(
        self,
        feats: torch.Tensor,
        durations: torch.Tensor,
        word_ids: torch.Tensor,
        num_words: torch.Tensor,
    ) -> torch.Tensor:
        """Word prosody embeddings of normalised mel-spectrograms.

        Args:
            feats (Tensor): (B, T_feats, odim).
            durations (LongTensor): Token durations including eos (B, T_text + 1).
            word_ids (LongTensor): Word index of each token (B, T_text + 1), -1 = padding.
            num_words (LongTensor): (B,).

        Returns:
            Tensor: (B, max(num_words), word_embed_dim); padded words are zero.

        """
        frames = self.frame_encoder(feats)
        pooled = pool_frames_by_word(frames, durations, word_ids, num_words)
        embeddings = self.word_embedding(pooled)
        word_mask = torch.arange(embeddings.size(1), device=feats.device)[None] < num_words[:, None]
        return embeddings * word_mask.unsqueeze(-1)

    def _word_conditioning(self, word_embeddings: torch.Tensor, word_ids: torch.Tensor) -> torch.Tensor:
        return broadcast_words_to_tokens(self.word_projection(word_embeddings), word_ids)

    def _training_conditioning(
        self, xs, ilens, feats, feats_lengths, durations, prosody, prosody_lengths
    ):
        word_ids, num_words = self.word_ids(xs, ilens)
        if prosody is None:
            prosody = self.encode_prosody(feats, durations, word_ids, num_words)
        elif prosody.size(1) < int(num_words.max()):
            raise ValueError(
                f"prosody has {prosody.size(1)} words, the text up to {int(num_words.max())}"
            )
        return self._word_conditioning(prosody, word_ids), feats.new_zeros(()), {}

    def _inference_conditioning(self, xs, feats, durations, prosody):
        ilens = xs.new_tensor([xs.size(1)])
        word_ids, num_words = self.word_ids(xs, ilens)
        n_words = int(num_words[0])
        if prosody is not None:
            prosody = prosody.to(xs.device, torch.float32)
            if prosody.dim() != 2 or tuple(prosody.shape) != (n_words, self.word_embed_dim):
                raise ValueError(
                    f"CAMP prosody must be a (num_words, {self.word_embed_dim}) matrix; the "
                    f"text has {n_words} words, got shape {tuple(prosody.shape)}"
                )
            embeddings = prosody[None]
        elif feats is not None:
            if durations is None:
                raise ValueError(
                    "CAMP pools a reference mel-spectrogram per word with its phone "
                    "durations: pass `durations` (T_text + 1,) together with the reference"
                )
            if int(durations.sum()) > feats.size(1):
                raise ValueError(
                    f"reference durations sum to {int(durations.sum())} frames, the "
                    f"reference has {feats.size(1)}"
                )
            embeddings = self.encode_prosody(feats, durations, word_ids, num_words)
        else:
            raise ValueError(
                "CAMP has no default prosody: pass a reference mel-spectrogram with its "
                f"durations, or `prosody`, a ({n_words}, {self.word_embed_dim}) matrix of "
                "word embeddings (stage two's predictor gives one)"
            )
        return self._word_conditioning(embeddings, word_ids), embeddings[0]
