"""Word boundaries of phoneme token sequences: the one place that knows the rules.

The front end, CAMP's pooling, the scoring and the pause placement all ask :func:`word_ids`
which word a token belongs to. The rules: docs/architecture.md (CAMP, Words from tokens).
This module imports nothing from the rest of the package.
"""

import unicodedata
from typing import List, Sequence, Tuple

import numpy as np
import torch

WORD_BOUNDARY_TOKEN = "<space>"
EOS_TOKEN = "<sos/eos>"
BLANK_TOKEN = "<blank>"  # ESPnet's padding id 0

# Phonetic modifiers that carry no sound on their own: stress and length marks (espeak emits
# stress as separate tokens, e.g. ['h', 'ə', 'l', 'ˈ', 'o', 'ʊ']).
NON_PHONETIC_MARKS = frozenset("ˈˌːˑ")


def is_punctuation_token(token: str) -> bool:
    """Return True for tokens made only of punctuation characters (``.``, ``?!``, ``…``)."""
    return len(token) > 0 and all(unicodedata.category(ch).startswith("P") for ch in token)


def is_pronounceable(token: str) -> bool:
    """True unless the token is ``<space>``, punctuation, or only stress/length marks."""
    if token in (WORD_BOUNDARY_TOKEN, EOS_TOKEN, BLANK_TOKEN) or not token.strip():
        return False
    return not all(
        unicodedata.category(c).startswith("P") or c in NON_PHONETIC_MARKS or c.isspace() for c in token
    )


def is_boundary_token(token: str) -> bool:
    """True for the tokens that stand between words: ``<space>``, punctuation and eos."""
    return token in (WORD_BOUNDARY_TOKEN, EOS_TOKEN) or is_punctuation_token(token)


def attaches_to_previous_word(token: str) -> bool:
    """True for tokens that join the preceding word: punctuation, eos and ``<blank>``."""
    return token in (EOS_TOKEN, BLANK_TOKEN) or is_punctuation_token(token)


def token_classes(token_list: Sequence[str]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Classify a token list into word-boundary and attached (punctuation-like) tokens.

    Args:
        token_list: ESPnet token list (index = token id).

    Returns:
        Tensor: (V,) bool, True for word-boundary tokens (``<space>``).
        Tensor: (V,) bool, True for tokens that join the preceding word (punctuation,
            ``<sos/eos>``, ``<blank>``).
    """
    is_boundary = torch.tensor([t == WORD_BOUNDARY_TOKEN for t in token_list], dtype=torch.bool)
    is_punct = torch.tensor([attaches_to_previous_word(t) for t in token_list], dtype=torch.bool)
    return is_boundary, is_punct


def word_ids(
    tokens: torch.Tensor,
    lengths: torch.Tensor,
    is_boundary: torch.Tensor,
    is_punct: torch.Tensor,
    pauses_in_words: bool = True,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Assign every token of a padded batch to a word.

    ``<space>`` closes a word and belongs to it; punctuation, eos and ``<blank>`` join the
    preceding word (leading punctuation the first); a punctuation-only stretch is no word.

    Args:
        tokens (LongTensor): (B, T) padded token ids, with or without eos.
        lengths (LongTensor): (B,) valid lengths.
        is_boundary (BoolTensor): (V,) word-boundary mask.
        is_punct (BoolTensor): (V,) mask of the tokens that join the preceding word.
        pauses_in_words (bool): False gives the boundary tokens the index -1 (speech-only
            word spans, as the word-level scoring measures them).

    Returns:
        LongTensor: (B, T) word of each token; -1 for padding.
        LongTensor: (B,) words per sequence; 0 without a pronounceable token.
    """
    index = tokens.clamp(min=0)
    boundary = is_boundary.to(tokens.device)[index].tolist()
    punct = is_punct.to(tokens.device)[index].tolist()
    ids_out = torch.full_like(tokens, -1)
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
            pause = boundary[b][t] or punct[b][t]
            ids[t] = -1 if pause and not pauses_in_words else max(current, 0)
        ids_out[b, :length] = torch.tensor(ids, dtype=tokens.dtype)
        num_words.append(current + 1)
    return ids_out, torch.tensor(num_words, dtype=torch.long, device=tokens.device)


def word_ids_of_tokens(tokens: Sequence[str]) -> Tuple[np.ndarray, int]:
    """Word index per token string (``len(tokens)``,) and the word count, by :func:`word_ids`."""
    return word_ids_of_token_lists([tokens])[0]


def word_ids_of_token_lists(token_lists: Sequence[Sequence[str]]) -> List[Tuple[np.ndarray, int]]:
    """:func:`word_ids_of_tokens` of several token lists in one :func:`word_ids` call
    (a padded batch: the torch overhead is paid once, not once per list)."""
    out: List[Tuple[np.ndarray, int]] = [(np.zeros(0, dtype=np.int64), 0)] * len(token_lists)
    rows = [i for i, tokens in enumerate(token_lists) if len(tokens) > 0]
    if not rows:
        return out
    vocab = sorted({t for i in rows for t in token_lists[i]})
    index = {t: i for i, t in enumerate(vocab)}
    lengths = [len(token_lists[i]) for i in rows]
    longest = max(lengths)
    ids = torch.tensor(
        [[index[t] for t in token_lists[i]] + [0] * (longest - n) for i, n in zip(rows, lengths)],
        dtype=torch.long,
    )  # padding is ignored (past the lengths)
    is_boundary, is_punct = token_classes(vocab)
    ids_out, num_words = word_ids(ids, torch.tensor(lengths), is_boundary, is_punct)
    ids_out, counts = ids_out.numpy(), num_words.tolist()
    for b, i in enumerate(rows):
        out[i] = ids_out[b, : lengths[b]].astype(np.int64), int(counts[b])
    return out


__all__ = [
    "BLANK_TOKEN",
    "EOS_TOKEN",
    "NON_PHONETIC_MARKS",
    "WORD_BOUNDARY_TOKEN",
    "attaches_to_previous_word",
    "is_boundary_token",
    "is_pronounceable",
    "is_punctuation_token",
    "token_classes",
    "word_ids",
    "word_ids_of_token_lists",
    "word_ids_of_tokens",
]
