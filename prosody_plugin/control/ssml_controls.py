"""From a parsed SSML document to the controls, emphasis and breaks of the front end's words.

A span controls every word one of its whitespace-separated chunks produced; a break goes
after the word that ends before it. docs/prosody_control.md (SSML).
"""

import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence, Tuple

from prosody_plugin.frontend.words import Utterance
from prosody_plugin.text.ssml import SsmlDocument
from prosody_plugin.tts.variance_controls import NEUTRAL


@dataclass
class WordMarkup:
    """The controls of one text's words, indexed over the whole text (its sentences in order).

    Attributes:
        word_controls: Word -> non-neutral variance controls.
        emphasis: Word -> emphasis level.
        breaks: Word -> seconds of silence after it (-1: before the first word).
    """

    word_controls: Dict[int, Dict[str, float]] = field(default_factory=dict)
    emphasis: Dict[int, str] = field(default_factory=dict)
    breaks: Dict[int, float] = field(default_factory=dict)


def chunk_words(
    sentence: str, utterance: Utterance, normalize: Callable[[str], str]
) -> List[Tuple[int, int]]:
    """The words (first, last) of each whitespace-separated chunk of a sentence's text.

    Each chunk is cleaned alone, as the cleaner may split it ("$5" -> "five dollars").
    """
    chunks = sentence.split()
    normalized = utterance.normalized.split()
    counts = utterance.chunk_word_counts or [1] * len(normalized)
    per_chunk = [1] * len(chunks)
    if len(normalized) != len(chunks):
        per_chunk = [len(normalize(c).split()) for c in chunks]
        if sum(per_chunk) != len(normalized):
            raise ValueError(
                f"{utterance.utt_id}: the text cleaner changes the words of {sentence!r} in a way the SSML "
                "controls cannot follow; put the tags around whole, plain words"
            )
    ranges, word, k = [], 0, 0
    for n in per_chunk:
        words = sum(counts[k : k + n])
        k += n
        if words:
            ranges.append((word, word + words - 1))
            word += words
        else:  # read together with its neighbour: that word
            ranges.append((max(word - 1, 0), max(word - 1, 0)) if word else (-1, -1))
    # a leading chunk without a word of its own belongs to the first word
    return [(0, 0) if r == (-1, -1) else r for r in ranges]


def ssml_markup(
    document: SsmlDocument,
    sentences: Sequence[str],
    utterances: Sequence[Utterance],
    normalize: Callable[[str], str],
) -> WordMarkup:
    """The word controls, emphasis and breaks of a document whose text was split into ``sentences``.

    Args:
        document: The parsed SSML.
        sentences: ``split_sentences(document.text)``.
        utterances: The front end's analysis of each sentence.
        normalize: The front end's cleaner (``TextFrontend.normalize``).
    """
    # character span of every chunk of every sentence in document.text, with its words
    chunks: List[Tuple[int, int, int, int]] = []  # (start, end, first word, last word) over the text
    position, offset = 0, 0
    for sentence, utterance in zip(sentences, utterances):
        start = document.text.find(sentence, position)
        if start < 0:
            raise ValueError(f"{utterance.utt_id}: sentence {sentence!r} not found in the SSML text")
        words = chunk_words(sentence, utterance, normalize)
        for match, (first, last) in zip(re.finditer(r"\S+", sentence), words):
            chunks.append((start + match.start(), start + match.end(), offset + first, offset + last))
        position = start + len(sentence)
        offset += utterance.num_words
    markup = WordMarkup()
    for span in document.spans:
        controls = span.controls
        variance = dict(
            rate=controls.rate,
            pitch_semitones=controls.pitch_semitones,
            pitch_range=controls.pitch_range,
            energy_db=controls.volume_db,
        )
        variance = {k: v for k, v in variance.items() if v != NEUTRAL[k]}
        for start, end, first, last in chunks:
            if start < span.end and span.start < end:  # overlap
                for word in range(first, last + 1):
                    if variance:
                        markup.word_controls[word] = variance
                    if controls.emphasis is not None:
                        markup.emphasis[word] = controls.emphasis
    for brk in document.breaks:
        before = [last for start, _, _, last in chunks if start < brk.position]
        word = before[-1] if before else -1
        markup.breaks[word] = markup.breaks.get(word, 0.0) + brk.seconds
    return markup


__all__ = ["WordMarkup", "chunk_words", "ssml_markup"]
