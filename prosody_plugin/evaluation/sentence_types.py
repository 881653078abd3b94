"""Coarse sentence types for looking at a prosody latent space.

The four classes shape English sentence prosody most visibly: a question (final rise in
yes/no questions), a continuation (ends on a non-final mark, so the pitch stays up), a
fragment (no verb: a name, a number, a list item), and a statement (the rest: final fall).
"""

from typing import Sequence

SENTENCE_TYPES = ("statement", "question", "continuation", "fragment")
CONTINUATION_MARKS = (",", ";", ":", "-", "\u2013", "\u2014", "\u2026", "...")
VERB_POS = frozenset({"VERB", "AUX"})


def sentence_type(text: str, pos_tags: Sequence[str]) -> str:
    """Classify one sentence.

    Args:
        text: The raw sentence.
        pos_tags: Universal POS tags of its tokens (spaCy ``token.pos_``).

    Returns:
        One of :data:`SENTENCE_TYPES`; precedence: question, continuation, fragment.

    """
    stripped = text.strip().rstrip("\"')]}\u201d\u2019 ")
    if stripped.endswith("?"):
        return "question"
    if stripped.endswith(CONTINUATION_MARKS):
        return "continuation"
    if not any(tag in VERB_POS for tag in pos_tags):
        return "fragment"
    return "statement"


__all__ = ["SENTENCE_TYPES", "sentence_type"]
