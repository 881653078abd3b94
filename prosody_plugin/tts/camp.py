"""CAMP stage one: FastSpeech2 conditioned on one prosody embedding per word.

Hodari et al., "CAMP: a Two-Stage Approach to Modelling Prosody in Context", ICASSP 2021.
The word encoder, bottleneck and inference: docs/architecture.md (CAMP).
"""

from typing import Optional, Sequence, Tuple

import torch
from torch.nn.utils.rnn import pack_padded_sequence

from prosody_plugin.text.word_boundaries import WORD_BOUNDARY_TOKEN
from prosody_plugin.tts.prosody_fastspeech2 import ProsodyFastSpeech2
from prosody_plugin.tts.word_pooling import broadcast_words_to_tokens, pool_frames_by_word

WORD_ENCODERS = ("recurrent", "mean")


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


def group_tokens_by_word(
    values: torch.Tensor, word_ids: torch.Tensor, num_words: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rearrange token vectors into one padded sequence per word, in token order.

    Args:
        values (Tensor): (B, T, H) token-level vectors.
        word_ids (LongTensor): (B, T) word of each token, non-decreasing; -1 padding.
        num_words (LongTensor): (B,).

    Returns:
        Tensor: (N, L, H), the tokens of each of the N = sum(num_words) words, padded.
        LongTensor: (N,) tokens per word.
        LongTensor: (B, W) index of each word among the N, -1 for padded words.
    """
    batch, tokens, _ = values.shape
    max_words = max(int(num_words.max()), 1)
    valid = word_ids >= 0
    flat_word = (torch.arange(batch, device=values.device)[:, None] * max_words + word_ids)[valid]
    counts = torch.zeros(batch * max_words, dtype=torch.long, device=values.device)
    counts.index_add_(0, flat_word, torch.ones_like(flat_word))
    first = torch.cumsum(counts, 0) - counts  # index of each word's first token among the valid ones
    rank = torch.arange(flat_word.numel(), device=values.device) - first[flat_word]
    exists = counts > 0
    order = torch.cumsum(exists.long(), 0) - 1  # (B * W,) index among the existing words
    grouped = values.new_zeros(int(exists.sum()), max(int(counts.max()), 1), values.size(-1))
    grouped[order[flat_word], rank] = values[valid]
    index = torch.where(exists, order, torch.full_like(order, -1)).view(batch, max_words)
    return grouped, counts[exists], index


class WordProsodyEncoder(torch.nn.Module):
    """A recording's prosody per word: (mel, durations, pitch, energy) -> (B, W, D).

    Args:
        odim (int): Mel bins.
        output_dim (int): Word embedding size D.
        conv_layers, conv_chans, conv_kernel_size, dropout: Frame encoder.
        hidden_size (int): Phone feature and GRU size H.
        encoder_type (str): "recurrent" (a GRU over each word's phone features) or "mean"
            (frames averaged per word, the ablation).
    """

    def __init__(
        self,
        odim: int,
        output_dim: int,
        conv_layers: int,
        conv_chans: int,
        conv_kernel_size: int,
        dropout: float,
        hidden_size: int,
        encoder_type: str = "recurrent",
    ):
        super().__init__()
        if encoder_type not in WORD_ENCODERS:
            raise ValueError(f"word_encoder must be one of {WORD_ENCODERS}, got {encoder_type!r}")
        self.encoder_type = encoder_type
        self.frame_encoder = FrameEncoder(odim, conv_layers, conv_chans, conv_kernel_size, dropout)
        if encoder_type == "mean":
            self.output = torch.nn.Linear(conv_chans, output_dim)
            return
        # + pitch, energy, log duration, boundary flag, punctuation flag
        self.phone_layer = torch.nn.Sequential(
            torch.nn.Linear(conv_chans + 5, hidden_size), torch.nn.ReLU(), torch.nn.Dropout(dropout)
        )
        self.gru = torch.nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.output = torch.nn.Linear(hidden_size + 1, output_dim)

    def forward(
        self,
        feats: torch.Tensor,
        durations: torch.Tensor,
        pitch: Optional[torch.Tensor],
        energy: Optional[torch.Tensor],
        token_flags: torch.Tensor,
        word_ids: torch.Tensor,
        num_words: torch.Tensor,
    ) -> torch.Tensor:
        """Word embeddings (B, W, D); padded words are zero.

        Args:
            feats (Tensor): (B, T_feats, odim) normalised mel-spectrograms.
            durations (LongTensor): (B, T) token durations including eos; padding 0.
            pitch, energy (Tensor): (B, T, 1) normalised token-level pitch and energy.
            token_flags (Tensor): (B, T, 2) word-boundary and punctuation flags.
            word_ids (LongTensor): (B, T) word of each token, -1 padding.
            num_words (LongTensor): (B,).
        """
        frames = self.frame_encoder(feats)
        if self.encoder_type == "mean":
            embeddings = self.output(pool_frames_by_word(frames, durations, word_ids, num_words))
        else:
            if pitch is None or energy is None:
                raise ValueError("the recurrent word prosody encoder needs the token-level pitch and energy")
            tokens = durations.size(1)
            token_index = torch.arange(tokens, device=feats.device).expand_as(word_ids)
            token_index = token_index.masked_fill(word_ids < 0, -1)
            phones = pool_frames_by_word(frames, durations, token_index, (word_ids >= 0).sum(1))
            log_frames = torch.log1p(durations.float()).unsqueeze(-1)
            phones = torch.cat(
                [phones[:, :tokens], pitch[:, :tokens], energy[:, :tokens], log_frames, token_flags], dim=-1
            )
            grouped, lengths, index = group_tokens_by_word(self.phone_layer(phones), word_ids, num_words)
            packed = pack_padded_sequence(grouped, lengths.cpu(), batch_first=True, enforce_sorted=False)
            self.gru.flatten_parameters()
            last = self.gru(packed)[1][-1]  # (N, H)
            word_frames = torch.zeros(index.shape, device=feats.device).scatter_add_(
                1, word_ids.clamp(min=0), durations.float().masked_fill(word_ids < 0, 0.0)
            )
            words = last.new_zeros(*index.shape, last.size(-1))
            words[index >= 0] = last[index[index >= 0]]
            embeddings = self.output(torch.cat([words, torch.log1p(word_frames).unsqueeze(-1)], dim=-1))
        word_mask = torch.arange(embeddings.size(1), device=feats.device)[None] < num_words[:, None]
        return embeddings * word_mask.unsqueeze(-1)


class CAMP(ProsodyFastSpeech2):
    """FastSpeech2 conditioned on word-level prosody embeddings.

    Args:
        idim (int): Vocabulary size.
        odim (int): Feature dimension (mel bins).
        adim (int): Attention dimension of FastSpeech2.
        word_embed_dim (int): Size D of a word's embedding; small on purpose (a bottleneck).
        word_encoder (str): "recurrent" or "mean" (:class:`WordProsodyEncoder`).
        ref_conv_layers, ref_conv_chans, ref_conv_kernel_size, ref_dropout: Frame encoder.
        ref_hidden_size (int): Phone feature and GRU size of the recurrent encoder.
        word_kl_weight (float): Weight of the per-word KL bottleneck; 0: deterministic (the paper's).
        word_dropout (float): Probability that a word's embedding is zeroed in training.
        **fastspeech2_conf: Any option of ESPnet's FastSpeech2.

    The task calls :meth:`set_token_list` to set the word-boundary token classes (buffers, so
    checkpoints carry them).
    """

    def __init__(
        self,
        idim: int,
        odim: int,
        adim: int = 384,
        word_embed_dim: int = 8,
        word_encoder: str = "recurrent",
        ref_conv_layers: int = 2,
        ref_conv_chans: int = 256,
        ref_conv_kernel_size: int = 5,
        ref_dropout: float = 0.1,
        ref_hidden_size: int = 128,
        word_kl_weight: float = 0.0,
        word_dropout: float = 0.0,
        **fastspeech2_conf,
    ):
        super().__init__(idim=idim, odim=odim, adim=adim, **fastspeech2_conf)
        if self.reduction_factor != 1:
            raise ValueError("CAMP pools frames per word and needs reduction_factor=1")
        if word_kl_weight < 0:
            raise ValueError(f"word_kl_weight must be >= 0, got {word_kl_weight}")
        if not 0.0 <= word_dropout <= 1.0:
            raise ValueError(f"word_dropout must be in [0, 1], got {word_dropout}")
        self.word_dropout = word_dropout
        self.word_embed_dim = word_embed_dim
        self.word_kl_weight = word_kl_weight
        self.word_encoder = WordProsodyEncoder(  # a mean and a log-variance when variational
            odim,
            word_embed_dim * (2 if word_kl_weight > 0 else 1),
            ref_conv_layers,
            ref_conv_chans,
            ref_conv_kernel_size,
            ref_dropout,
            ref_hidden_size,
            word_encoder,
        )
        self.word_projection = torch.nn.Linear(word_embed_dim, adim)
        # word boundaries travel with every CAMP checkpoint (persistent, unlike the base's)
        self.register_buffer("token_is_boundary", torch.zeros(idim, dtype=torch.bool))
        self.register_buffer("token_is_punctuation", torch.zeros(idim, dtype=torch.bool))

    def set_token_list(self, token_list: Sequence[str]) -> None:
        """Derive the word-boundary and punctuation tokens; CAMP needs ``<space>`` tokens."""
        if WORD_BOUNDARY_TOKEN not in token_list:
            raise ValueError(
                "CAMP needs word boundaries: the token list has no <space> token. Use a "
                "G2P that marks them (e.g. espeak_ng_english_us_vits)."
            )
        super().set_token_list(token_list)

    predictor_name = "camp_predictor"
    size_key = "word_embed_dim"
    has_default_prosody = False
    per_word = True
    title = "CAMP"
    decodes = {
        "reference": (
            "oracle",
            "CAMP, word prosody embeddings encoded from the utterance's own recording (oracle)",
        ),
        "predicted": ("predicted", "CAMP, word prosody embeddings predicted by stage two from the text"),
    }

    # ---------------------------------------------------------------- prosody encoder
    def encode_prosody(
        self,
        xs: torch.Tensor,
        ilens: torch.Tensor,
        feats: torch.Tensor,
        durations: torch.Tensor,
        pitch: Optional[torch.Tensor] = None,
        energy: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Word prosody embeddings of a recording of the tokens.

        Args:
            xs (LongTensor): (B, T_text + 1) token ids with eos.
            ilens (LongTensor): (B,) their lengths.
            feats (Tensor): (B, T_feats, odim) normalised mel-spectrograms.
            durations (LongTensor): (B, T_text + 1) token durations including eos.
            pitch, energy (Tensor): (B, T_text + 1, 1) normalised token-level values (recurrent encoder).

        Returns:
            Tensor: (B, W, word_embed_dim); padded words are zero; the posterior means when variational.
        """
        return self._word_posterior(xs, ilens, feats, durations, pitch, energy)[0]

    def _word_posterior(self, xs, ilens, feats, durations, pitch=None, energy=None):
        """Word embeddings (B, W, D) and their log-variances (B, W, D), None when deterministic."""
        word_ids, num_words = self.word_ids(xs, ilens)
        flags = torch.stack([self.token_is_boundary[xs], self.token_is_punctuation[xs]], dim=-1)
        out = self.word_encoder(feats, durations, pitch, energy, flags.float(), word_ids, num_words)
        if self.word_kl_weight == 0:
            return out, None
        return out[..., : self.word_embed_dim], out[..., self.word_embed_dim :]

    def prosody_target(self, xs, ilens, feats, feats_lengths, durations=None, pitch=None, energy=None):
        """The word embeddings (num_words, word_embed_dim) of each recording."""
        if durations is None:
            raise ValueError("CAMP's targets are per word: pass the recordings' phone durations")
        _, num_words = self.word_ids(xs, ilens)
        embeddings = self.encode_prosody(xs, ilens, feats, durations, pitch, energy)
        return [e[:n] for e, n in zip(embeddings, num_words.tolist())]

    def check_text(self, xs: torch.Tensor, ilens: torch.Tensor) -> torch.Tensor:
        """Word counts (B,) of a batch; ValueError naming the item whose tokens hold no word."""
        _, num_words = self.word_ids(xs, ilens)
        for i, n in enumerate(num_words.tolist()):
            if n == 0:
                raise ValueError(
                    f"item {i}: its phoneme tokens hold no word (only spaces and punctuation): "
                    "CAMP has nothing to condition"
                )
        return num_words

    def conditioning(self, prosody, xs, ilens):
        """Word embeddings (num_words, D) per utterance -> (B, T_text + 1, adim)."""
        num_words = self.check_text(xs, ilens)
        if prosody is None or len(prosody) != xs.size(0) or any(p is None for p in prosody):
            raise ValueError(
                "CAMP has no default prosody: give each utterance its (num_words, "
                f"{self.word_embed_dim}) word embeddings (stage two's predictor gives them)"
            )
        embeddings = xs.new_zeros(xs.size(0), int(num_words.max()), self.word_embed_dim, dtype=torch.float32)
        for i, (words, n) in enumerate(zip(prosody, num_words.tolist())):
            words = torch.as_tensor(words).to(xs.device, torch.float32)
            if tuple(words.shape) != (n, self.word_embed_dim):
                raise ValueError(
                    f"item {i}: CAMP prosody must be a (num_words, {self.word_embed_dim}) matrix; "
                    f"the text has {n} words, got shape {tuple(words.shape)}"
                )
            embeddings[i, :n] = words
        return self._word_conditioning(embeddings, xs, ilens)

    def _word_conditioning(
        self, word_embeddings: torch.Tensor, xs: torch.Tensor, ilens: torch.Tensor
    ) -> torch.Tensor:
        word_ids, _ = self.word_ids(xs, ilens)
        return broadcast_words_to_tokens(self.word_projection(word_embeddings), word_ids)

    def _training_conditioning(
        self, xs, ilens, feats, feats_lengths, durations, pitch, energy, prosody, prosody_lengths
    ):
        loss, stats = feats.new_zeros(()), {}
        if prosody is None:
            prosody, logvar = self._word_posterior(xs, ilens, feats, durations, pitch, energy)
            if logvar is not None:  # padded words have mean and log-variance 0: KL 0
                kl = 0.5 * (prosody.pow(2) + logvar.exp() - 1.0 - logvar)
                _, num_words = self.word_ids(xs, ilens)
                stats["word_kl"] = (kl.sum() / num_words.sum()).detach()  # nats per word
                loss = (
                    self.word_kl_weight
                    * kl.sum()
                    / xs.size(0)
                    / (feats_lengths.float().mean() * feats.size(-1))
                )
                if self.training:
                    prosody = prosody + torch.randn_like(prosody) * torch.exp(0.5 * logvar)
            if self.training and self.word_dropout > 0:
                keep = torch.rand(prosody.shape[:2], device=prosody.device) >= self.word_dropout
                prosody = prosody * keep.unsqueeze(-1)
        else:
            _, num_words = self.word_ids(xs, ilens)
            if prosody.size(1) < int(num_words.max()):
                raise ValueError(
                    f"prosody has {prosody.size(1)} words, the text up to {int(num_words.max())}"
                )
        return self._word_conditioning(prosody, xs, ilens), loss, stats

    def _inference_conditioning(self, xs, feats, durations, pitch, energy, prosody):
        ilens = xs.new_tensor([xs.size(1)])
        n_words = int(self.check_text(xs, ilens)[0])
        if prosody is not None:
            return self.conditioning([prosody], xs, ilens), prosody.to(xs.device, torch.float32)
        if feats is not None:
            if durations is None:
                raise ValueError(
                    "CAMP encodes a reference recording per word with its phone "
                    "durations: pass `durations` (T_text + 1,) together with the reference"
                )
            if int(durations.sum()) > feats.size(1):
                raise ValueError(
                    f"reference durations sum to {int(durations.sum())} frames, the "
                    f"reference has {feats.size(1)}"
                )
            embeddings = self.encode_prosody(xs, ilens, feats, durations, pitch, energy)
        else:
            raise ValueError(
                "CAMP has no default prosody: pass a reference mel-spectrogram with its "
                f"durations, or `prosody`, a ({n_words}, {self.word_embed_dim}) matrix of "
                "word embeddings (stage two's predictor gives one)"
            )
        return self._word_conditioning(embeddings, xs, ilens), embeddings[0]


__all__ = ["CAMP", "FrameEncoder", "WordProsodyEncoder", "group_tokens_by_word"]
