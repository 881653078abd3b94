"""Checks of transcripts before G2P: unusual characters, sentence-final punctuation.

A stray character (``}``, ``#``, ``|``, an emoji) in a transcript either becomes a token of
its own in ``tokens.txt`` or is read aloud by espeak-ng as a word ("hash"); neither is in
the recording. And a corpus whose transcripts end without ``.``, ``?`` or ``!`` turns its
questions into statements for every part that reads the punctuation (stage two's context
features, the sentence-type plots).
"""

import unicodedata
from typing import Iterable, List

#: Punctuation that transcripts ordinarily hold and the G2P handles (ASCII and typographic).
ORDINARY_PUNCTUATION = frozenset(".,;:!?'\"-()…–—‘’“”«»¡¿")
#: Marks that end a sentence (a question, an exclamation or a statement).
SENTENCE_FINAL = (".", "?", "!", "…")
#: Closing characters allowed after the final mark (``He said "yes."``).
_CLOSING = "\"')]}»”’ "


def unusual_characters(text: str, extra: Iterable[str] = ()) -> List[str]:
    """Characters of ``text`` that are neither letters, digits, whitespace nor ordinary punctuation.

    Letters include every script and combining mark (``é``, ``ß``, a decomposed accent), digits
    every decimal digit; ordinary punctuation is :data:`ORDINARY_PUNCTUATION`.

    Args:
        text: A transcript (after the text cleaner, as the G2P sees it).
        extra: More characters to accept (a recipe's ``--extra_characters``).

    Returns:
        The unusual characters, each once, in order of appearance.
    """
    allowed = set(extra)
    found: List[str] = []
    for ch in text:
        if ch in allowed or ch in ORDINARY_PUNCTUATION or ch.isspace() or ch.isalpha() or ch.isdigit():
            continue
        if unicodedata.category(ch) in ("Mn", "Mc"):  # combining marks of letters
            continue
        if ch not in found:
            found.append(ch)
    return found


def describe_character(ch: str) -> str:
    """``'}' (U+007D RIGHT CURLY BRACKET)``: a character as a message names it."""
    return f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed')})"


def lacks_final_punctuation(text: str) -> bool:
    """True when ``text`` does not end with ``.``, ``?``, ``!`` or ``…`` (closing quotes and
    brackets after the mark are allowed)."""
    return not text.rstrip(_CLOSING).endswith(SENTENCE_FINAL)


__all__ = [
    "ORDINARY_PUNCTUATION",
    "SENTENCE_FINAL",
    "describe_character",
    "lacks_final_punctuation",
    "unusual_characters",
]
