"""Word segmentation of phoneme token sequences and per-word pooling.

CAMP works with one prosody embedding per word, while FastSpeech2 works with phoneme
tokens. The phoneme sequences produced by ESPnet's G2P front ends mark word boundaries
with a ``<space>`` token, e.g. ``h ə l ˈ o ʊ , <space> w ˈ ɜː l d .``. The rules that map
tokens to words are:

* ``<space>`` closes the current word and belongs to it;
* punctuation tokens belong to the preceding word (leading punctuation to the first word);
* a stretch between two ``<space>`` tokens that holds only punctuation is not a word: it
  joins the preceding word;
* FastSpeech2's appended ``<sos/eos>`` token belongs to the last word.

Every utterance with at least one pronounceable token therefore has ``num_words >= 1``,
and every token, padding excluded, belongs to exactly one word.
"""

import unicodedata
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F

WORD_BOUNDARY_TOKEN = "<space>"


def is_punctuation_token(token: str) -> bool:
    """Return True for tokens made only of punctuation characters (``.``, ``?!``, ``…``)."""
    return len(token) > 0 and all(
        unicodedata.category(ch).startswith("P") for ch in token
    )


# Phonetic modifiers that carry no sound on their own: stress and length marks (espeak emits
# stress as separate tokens, e.g. ['h', 'ə', 'l', 'ˈ', 'o', 'ʊ']).
NON_PHONETIC_MARKS = frozenset("ˈˌːˑ")


def is_pronounceable(token: str) -> bool:
    """True unless the token is ``<space>``, punctuation, or only stress/length marks."""
    if token == WORD_BOUNDARY_TOKEN or not token.strip():
        return False
    return not all(
        unicodedata.category(c).startswith("P") or c in NON_PHONETIC_MARKS or c.isspace()
        for c in token
    )


def token_classes(token_list: Sequence[str]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Classify a token list into word-boundary and punctuation tokens.

    Args:
        token_list: ESPnet token list (index = token id).

    Returns:
        Tensor: Bool mask (V,), True for word-boundary tokens.
        Tensor: Bool mask (V,), True for punctuation tokens.

    """
    is_boundary = torch.tensor([t == WORD_BOUNDARY_TOKEN for t in token_list])
    is_punct = torch.tensor([is_punctuation_token(t) for t in token_list])
    return is_boundary, is_punct


def append_eos(
    text: torch.Tensor, text_lengths: torch.Tensor, eos: int, padding_idx: int = 0
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Append eos to every sequence as FastSpeech2 does: (B, T_text) -> (B, T_text + 1).

    Returns the padded token ids with eos at each sequence's end, and the new lengths.
    """
    xs = F.pad(text, [0, 1], "constant", padding_idx)
    xs[torch.arange(len(text_lengths)), text_lengths] = eos
    return xs, text_lengths + 1


def word_ids_from_tokens(
    tokens: torch.Tensor,
    lengths: torch.Tensor,
    is_boundary: torch.Tensor,
    is_punct: torch.Tensor,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Assign every token of a padded batch to a word.

    Args:
        tokens (LongTensor): Padded token ids (B, T). Tokens past ``lengths`` are ignored,
            so sequences may include FastSpeech2's trailing eos (it joins the last word).
        lengths (LongTensor): Valid lengths (B,).
        is_boundary (BoolTensor): Word-boundary mask over the vocabulary (V,).
        is_punct (BoolTensor): Punctuation mask over the vocabulary (V,).

    Returns:
        LongTensor: Word index of each token (B, T); -1 for padding.
        LongTensor: Number of words per sequence (B,); 0 when a sequence has no
            pronounceable token.

    """
    boundary = is_boundary.to(tokens.device)[tokens.clamp(min=0)].tolist()
    punct = is_punct.to(tokens.device)[tokens.clamp(min=0)].tolist()
    word_ids = torch.full_like(tokens, -1)
    num_words = []
    for b, length in enumerate(lengths.tolist()):
        ids = [0] * length
        current = -1  # index of the word being built, -1 before the first word
        open_word = False  # a pronounceable token was seen since the last boundary
        for t in range(length):
            if boundary[b][t]:
                open_word = False
            elif not punct[b][t] and not open_word:
                current += 1
                open_word = True
            ids[t] = max(current, 0)
        word_ids[b, :length] = torch.tensor(ids, dtype=tokens.dtype)
        num_words.append(current + 1)
    return word_ids, torch.tensor(num_words, dtype=torch.long, device=tokens.device)


def pool_frames_by_word(
    frames: torch.Tensor,
    durations: torch.Tensor,
    word_ids: torch.Tensor,
    num_words: torch.Tensor,
) -> torch.Tensor:
    """Average frame-level features over the frames of each word.

    Frames are first assigned to tokens by the token durations, then to words through the
    token-to-word map, so a word's vector is the mean over all frames of its phonemes
    (equivalently, phone averages weighted by phone durations).

    Args:
        frames (Tensor): Frame-level features (B, T_feats, C).
        durations (LongTensor): Token durations in frames (B, T_text); padding is 0.
        word_ids (LongTensor): Word index of each token (B, T_text); -1 for padding.
        num_words (LongTensor): Number of words (B,).

    Returns:
        Tensor: Word-level features (B, max(num_words), C); padded words are zero.
            A word that received no frame (all its durations are 0) is zero as well.

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
        sums = frames.new_zeros(max_words, channels).index_add(
            0, frame_word, frames[b, :n_frames]
        )
        counts = frames.new_zeros(max_words).index_add(
            0, frame_word, frames.new_ones(n_frames)
        )
        pooled[b] = sums / counts.clamp(min=1).unsqueeze(-1)
    return pooled


def broadcast_words_to_tokens(
    word_values: torch.Tensor, word_ids: torch.Tensor
) -> torch.Tensor:
    """Copy each word's vector to every token of that word.

    Args:
        word_values (Tensor): Word-level vectors (B, W, C).
        word_ids (LongTensor): Word index of each token (B, T); -1 for padding.

    Returns:
        Tensor: Token-level vectors (B, T, C); padding tokens get zeros.

    """
    index = word_ids.clamp(min=0).unsqueeze(-1).expand(-1, -1, word_values.size(-1))
    out = torch.gather(word_values, 1, index)
    return out.masked_fill((word_ids < 0).unsqueeze(-1), 0.0)
