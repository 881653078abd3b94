"""Tensor operations over words of phoneme token sequences: eos, pooling, broadcasting.

Which token belongs to which word is decided in :mod:`prosody_plugin.text.word_boundaries`
(``word_ids``); this module pools frames per word and copies word vectors to tokens.
"""

from typing import Tuple

import torch
import torch.nn.functional as F


def append_eos(
    text: torch.Tensor, text_lengths: torch.Tensor, eos: int, padding_idx: int = 0
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Append eos to every sequence as FastSpeech2 does: (B, T_text) -> (B, T_text + 1).

    Returns the padded token ids with eos at each sequence's end, and the new lengths.
    """
    xs = F.pad(text, [0, 1], "constant", padding_idx)
    xs[torch.arange(len(text_lengths)), text_lengths] = eos
    return xs, text_lengths + 1


def pool_frames_by_word(
    frames: torch.Tensor,
    durations: torch.Tensor,
    word_ids: torch.Tensor,
    num_words: torch.Tensor,
) -> torch.Tensor:
    """Average frame-level features over the frames of each word (frames -> tokens by durations -> words).

    Args:
        frames (Tensor): (B, T_feats, C).
        durations (LongTensor): (B, T_text) token durations in frames; padding 0.
        word_ids (LongTensor): (B, T_text) word of each token; -1 for padding.
        num_words (LongTensor): (B,).

    Returns:
        Tensor: (B, W, C); padded words and words without frames are zero.
    """
    batch_size, _, channels = frames.shape
    max_words = max(int(num_words.max()), 1)
    pooled = frames.new_zeros(batch_size, max_words, channels)
    for b in range(batch_size):
        valid = word_ids[b] >= 0
        frame_word = torch.repeat_interleave(word_ids[b][valid], durations[b][valid])
        n_frames = frame_word.numel()
        if n_frames > frames.size(1):
            raise ValueError(
                f"durations of batch item {b} sum to {n_frames} frames but only "
                f"{frames.size(1)} frames were given"
            )
        sums = frames.new_zeros(max_words, channels).index_add(0, frame_word, frames[b, :n_frames])
        counts = frames.new_zeros(max_words).index_add(0, frame_word, frames.new_ones(n_frames))
        pooled[b] = sums / counts.clamp(min=1).unsqueeze(-1)
    return pooled


def broadcast_words_to_tokens(word_values: torch.Tensor, word_ids: torch.Tensor) -> torch.Tensor:
    """Copy each word's vector to every token of that word.

    Args:
        word_values (Tensor): (B, W, C).
        word_ids (LongTensor): (B, T) word of each token; -1 for padding.

    Returns:
        Tensor: (B, T, C); padding tokens get zeros.
    """
    index = word_ids.clamp(min=0).unsqueeze(-1).expand(-1, -1, word_values.size(-1))
    out = torch.gather(word_values, 1, index)
    return out.masked_fill((word_ids < 0).unsqueeze(-1), 0.0)
