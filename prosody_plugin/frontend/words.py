"""The canonical word sequence of an utterance, shared by every word-level feature.

:class:`TextFrontend` makes the phoneme tokens exactly as ESPnet's ``CommonPreprocessor``,
splits them into words with :func:`prosody_plugin.text.word_boundaries.word_ids` and gives
each phoneme word its surface word from the text (for BERT and spaCy). docs/stage_two.md
(The front end) describes the alignment and its guarantees.
"""

import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from prosody_plugin.text.word_boundaries import (
    WORD_BOUNDARY_TOKEN,
    is_pronounceable,
    is_punctuation_token,
    token_classes,
    word_ids,
    word_ids_of_token_lists,
    word_ids_of_tokens,
)

# Unicode punctuation that espeak reads aloud ("percent", "hash", "at", "slash", ...):
# kept in a chunk's core instead of being stripped as punctuation.
SPOKEN_SYMBOLS = frozenset("%#@/*&\\_")
# Separator used when a word's surface holds several text chunks ("of the") and the word
# list is written to a whitespace-separated file (see ``Utterance.words_for_file``).
FILE_WORD_JOINER = "_"

# Abbreviations after which a period does not end a sentence (lower case, without the
# final period). Single letters (initials: "J. Smith") are handled separately.
ABBREVIATIONS = frozenset(
    """mr mrs ms messrs dr prof sr jr st mt ft rev hon gen col capt lt sgt maj cpl gov pres
    sen rep esq co corp inc ltd bros vs etc cf al approx dept est fig figs no nos vol vols
    pp ch sec jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun
    e.g i.e a.m p.m u.s u.k u.s.a ph.d""".split()
)
_SENTENCE_END = re.compile(r"[.?!;]+[\"'”’)\]]*(?=\s)")


def split_sentences(text: str) -> List[str]:
    """Split long text into stripped, non-empty sentences with a rule-based splitter.

    A sentence ends at a run of ``.?!;`` (closing quotes or brackets allowed) before whitespace,
    except a single period after an :data:`ABBREVIATIONS` entry or an initial ("J. Smith"), or
    before a lower-case letter.
    """
    sentences = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        marks = m.group(0).rstrip("\"'”’)]")
        if marks == ".":
            before = text[start : m.start()].split()
            last = before[-1].lower().lstrip("\"'“‘([") if before else ""
            rest = text[m.end() :].lstrip()
            if last in ABBREVIATIONS or (len(last) == 1 and last.isalpha()) or (rest[:1].islower()):
                continue
        sentence = text[start : m.end()].strip()
        if sentence:
            sentences.append(sentence)
        start = m.end()
    sentence = text[start:].strip()
    if sentence:
        sentences.append(sentence)
    return sentences


def _is_edge_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P") and ch not in SPOKEN_SYMBOLS


def _split_edges(chunk: str) -> Tuple[str, str, str]:
    """``chunk`` -> (leading punctuation, core, trailing punctuation)."""
    i, j = 0, len(chunk)
    while i < j and _is_edge_punct(chunk[i]):
        i += 1
    while j > i and _is_edge_punct(chunk[j - 1]):
        j -= 1
    return chunk[:i], chunk[i:j], chunk[j:]


_PIECE_PATTERNS = (
    re.compile(r"\w+(?:['.]\w+)*|[^\w\s]+"),  # words and runs of symbols ("**")
    re.compile(r"\w+(?:['.]\w+)*|[^\w\s]"),  # words and single symbols
    re.compile(r"\w+(?:['.]\w+)*"),  # words with internal apostrophes / periods
    re.compile(r"\w+"),  # plain word-character runs
    re.compile(r"\S"),  # single characters (letters spelled out one by one)
)


def _split_core(core: str, k: int) -> List[str]:
    """Split a chunk's core into ``k`` sub-word surfaces ("#TAG" -> "#", "TAG").

    Tries :data:`_PIECE_PATTERNS` in order (punctuation-only pieces ignored) and takes the first
    with exactly ``k`` pieces; if none fits, each sub-word gets the whole core.
    """
    for pattern in _PIECE_PATTERNS:
        pieces = [p for p in pattern.findall(core) if not all(_is_edge_punct(c) for c in p)]
        if len(pieces) == k:
            return pieces
    return [core] * k


class _LRU:
    """A small thread-safe least-recently-used map (text -> int)."""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self.hits = self.misses = 0
        self._data: "OrderedDict[str, int]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Optional[int]:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: int) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._data)


@dataclass
class Utterance:
    """One utterance seen through the front end.

    Attributes:
        utt_id: Utterance id (used in error messages).
        text: Raw input text.
        normalized: Output of ESPnet's ``TextCleaner(cleaner)``.
        tokens: Phoneme tokens exactly as ESPnet's ``CommonPreprocessor`` makes them.
        token_ids: (T_text,) int64 when a token list was given, else None.
        token_word_ids: (T_text,) int64 word index per token (``word_boundaries.word_ids``).
        words: (W) surface words without punctuation; may hold a space where espeak merged
            text words into one phoneme word ("of the").
        word_phonemes: Per word, its tokens that are neither ``<space>`` nor punctuation.
        word_punctuation: Per word, the text's punctuation after it ("" if none).
        leading_punctuation: Punctuation before the first word ("" if none).
    """

    utt_id: str
    text: str
    normalized: str
    tokens: List[str]
    token_ids: Optional[np.ndarray]
    token_word_ids: np.ndarray
    words: List[str]
    word_phonemes: List[List[str]]
    word_punctuation: List[str]
    leading_punctuation: str = ""
    chunk_word_counts: List[int] = field(default_factory=list, repr=False)

    @property
    def num_words(self) -> int:
        return len(self.words)

    def punctuated_words(self) -> List[str]:
        """Each word with the punctuation around it, as a reader sees it: ``['"Hello,', 'world?"']``.

        BERT reads these; its tokenizer keeps the punctuation pieces in the same word.
        """
        return [
            (self.leading_punctuation if i == 0 else "") + word + punct
            for i, (word, punct) in enumerate(zip(self.words, self.word_punctuation))
        ]

    def words_for_file(self) -> List[str]:
        """Words without whitespace (inner spaces become ``_``), for Kaldi-style files."""
        return [FILE_WORD_JOINER.join(w.split()) for w in self.words]


class TextFrontend:
    """ESPnet cleaner + phoneme tokenizer + word segmentation + surface words.

    Args:
        cleaner: ESPnet ``TextCleaner`` type ("tacotron"); None for no cleaning.
        g2p: ESPnet ``PhonemeTokenizer`` g2p type ("espeak_ng_english_us_vits").
        token_list: None, a token list file or a list of tokens; when given, ``token_ids``
            come from ESPnet's ``TokenIDConverter``.
        max_tokens: ``analyze`` raises ValueError above this many tokens.
        restore_case: Take each word's casing from the raw text when found there.
        non_linguistic_symbols: As ESPnet's ``--non_linguistic_symbols`` (file or list).
        g2p_cache_size: Text chunks whose phoneme-word counts are cached (LRU; 0: none). A
            count depends on the chunk's text only, so the cache changes no result.
    """

    def __init__(
        self,
        cleaner: Optional[str] = "tacotron",
        g2p: str = "espeak_ng_english_us_vits",
        token_list: Union[None, str, Path, Sequence[str]] = None,
        max_tokens: int = 1000,
        restore_case: bool = True,
        non_linguistic_symbols: Union[None, str, Path, Sequence[str]] = None,
        g2p_cache_size: int = 65536,
    ):
        # Imported here: espnet2's tokenizer imports are slow (g2p_en, nltk).
        from espnet2.text.build_tokenizer import build_tokenizer
        from espnet2.text.cleaner import TextCleaner

        self.cleaner_type = cleaner
        self.g2p = g2p
        self.max_tokens = max_tokens
        self.restore_case = restore_case
        self.cleaner = TextCleaner(cleaner)
        # As espnet2.train.preprocessor.CommonPreprocessor builds it (phn -> PhonemeTokenizer)
        self.tokenizer = build_tokenizer(
            token_type="phn",
            g2p_type=g2p,
            space_symbol=WORD_BOUNDARY_TOKEN,
            non_linguistic_symbols=non_linguistic_symbols,
        )
        self.converter = None
        self.token_list: Optional[List[str]] = None
        if token_list is not None:
            from espnet2.text.token_id_converter import TokenIDConverter

            if isinstance(token_list, (str, Path)):
                with open(token_list, encoding="utf-8") as f:
                    token_list = [line.rstrip("\n") for line in f]
            self.token_list = list(token_list)
            if "<unk>" not in self.token_list:
                raise ValueError("the token list has no <unk> token (ESPnet needs one)")
            self.converter = TokenIDConverter(self.token_list, unk_symbol="<unk>")
            self._is_boundary, self._is_punct = token_classes(self.token_list)
        if g2p_cache_size < 0:
            raise ValueError(f"g2p_cache_size must be >= 0, got {g2p_cache_size}")
        self._count_cache = _LRU(g2p_cache_size) if g2p_cache_size else None

    # ------------------------------------------------------------------ G2P helpers
    def normalize(self, text: str) -> str:
        return self.cleaner(text)

    def tokenize(self, normalized: str) -> List[str]:
        """Phoneme tokens of already normalized text (ESPnet's ``text2tokens``)."""
        return self.tokenizer.text2tokens(normalized)

    def _count_words(self, text: str) -> int:
        """Phoneme words of ``text`` alone (0 when the G2P yields nothing)."""
        return self._count_words_batch([text])[0]

    def _count_words_batch(self, texts: Sequence[str]) -> List[int]:
        """:meth:`_count_words` of each text: cached, or phonemized alone and counted in one batch."""
        counts: List[Optional[int]] = []
        todo: "OrderedDict[str, List[str]]" = OrderedDict()  # text -> its tokens
        for text in texts:
            count = 0 if not text.strip() else None
            if count is None and self._count_cache is not None:
                count = self._count_cache.get(text)
            if count is None and text not in todo:
                try:
                    todo[text] = self.tokenize(text)
                except IndexError:  # phonemizer on a line that comes back empty
                    todo[text] = []
            counts.append(count)
        if todo:
            found = dict(zip(todo, (n for _, n in word_ids_of_token_lists(list(todo.values())))))
            if self._count_cache is not None:
                for text, n in found.items():
                    self._count_cache.put(text, n)
            counts = [found[t] if c is None else c for t, c in zip(texts, counts)]
        return counts

    def clear_g2p_cache(self) -> None:
        """Forget the cached chunk counts (``g2p_cache_size``)."""
        if self._count_cache is not None:
            self._count_cache.clear()

    def g2p_cache_info(self) -> Optional[dict]:
        """Hits, misses, size and maxsize of the chunk-count cache; None without one."""
        c = self._count_cache
        return None if c is None else dict(hits=c.hits, misses=c.misses, size=len(c), maxsize=c.maxsize)

    # ------------------------------------------------------------------ main entry
    def analyze(self, text: str, utt_id: str = "<text>") -> Utterance:
        """Analyze one utterance; raises ValueError naming ``utt_id`` for input that cannot be spoken."""
        if not isinstance(text, str):
            raise ValueError(f"{utt_id}: text must be a str, got {type(text).__name__}")
        if not text.strip():
            raise ValueError(f"{utt_id}: empty or whitespace-only text")
        normalized = self.normalize(text)
        if not normalized.strip():
            raise ValueError(
                f"{utt_id}: nothing left after the {self.cleaner_type!r} cleaner "
                f"(emoji or symbols only?): {text!r}"
            )
        try:
            tokens = self.tokenize(normalized)
        except IndexError:  # phonemizer returns no line for input it cannot read
            tokens = []
        if not any(is_pronounceable(t) for t in tokens):
            raise ValueError(
                f"{utt_id}: no pronounceable token after cleaner and G2P "
                f"({self.g2p}); punctuation only, emoji, or a script the G2P cannot "
                f"read? text={text!r} tokens={tokens!r}"
            )
        if len(tokens) > self.max_tokens:
            raise ValueError(
                f"{utt_id}: {len(tokens)} phoneme tokens exceed max_tokens="
                f"{self.max_tokens}; split the text with "
                "prosody_plugin.frontend.words.split_sentences() and analyze each sentence"
            )

        token_ids = None
        if self.converter is None:
            token_word_ids, num_words = word_ids_of_tokens(tokens)
        else:
            token_ids = np.asarray(self.converter.tokens2ids(tokens), dtype=np.int64)
            ids_t = torch.from_numpy(token_ids).unsqueeze(0)
            by_id, n_by_id = word_ids(ids_t, torch.tensor([len(tokens)]), self._is_boundary, self._is_punct)
            token_word_ids, num_words = by_id[0].numpy().astype(np.int64), int(n_by_id[0])
            # Known tokens are classified alike by string and by id (token_classes); only
            # tokens that become <unk> can change the segmentation: then compare.
            unknown = sorted({t for t in tokens if t not in self.converter.token2id})
            if unknown:
                by_string, n_by_string = word_ids_of_tokens(tokens)
                if n_by_string != num_words or not np.array_equal(token_word_ids, by_string):
                    raise ValueError(
                        f"{utt_id}: tokens missing from the token list ({unknown}) map to "
                        "<unk> and change the word segmentation; rebuild the token list"
                    )

        word_phonemes: List[List[str]] = [[] for _ in range(num_words)]
        for tok, w in zip(tokens, token_word_ids.tolist()):
            if tok != WORD_BOUNDARY_TOKEN and not is_punctuation_token(tok):
                word_phonemes[w].append(tok)

        words, punct, leading, counts = self._align(text, normalized, num_words, word_phonemes, utt_id)
        return Utterance(
            utt_id=utt_id,
            text=text,
            normalized=normalized,
            tokens=list(tokens),
            token_ids=token_ids,
            token_word_ids=token_word_ids,
            words=words,
            word_phonemes=word_phonemes,
            word_punctuation=punct,
            leading_punctuation=leading,
            chunk_word_counts=counts,
        )

    # ------------------------------------------------------------------ alignment
    def _chunk_counts(self, chunks: List[str], num_words: int) -> Optional[List[int]]:
        """Phoneme words per whitespace chunk of the normalized text; None if inconsistent.

        First each chunk phonemized alone; if those do not add up (espeak merges some function words
        in running text: "OF THE" -> one word), the increase of the count over the sentence's
        prefixes, which see the sentence's context.
        """
        alone = self._count_words_batch(chunks)
        if sum(alone) == num_words:
            return alone
        prefixes = self._count_words_batch([" ".join(chunks[: i + 1]) for i in range(len(chunks))])
        counts, previous = [], 0
        for n in prefixes:
            counts.append(n - previous)
            previous = n
        if previous != num_words or any(k < 0 for k in counts):
            return None
        return counts

    def _align(
        self,
        text: str,
        normalized: str,
        num_words: int,
        word_phonemes: List[List[str]],
        utt_id: str,
    ) -> Tuple[List[str], List[str], str, List[int]]:
        """Surface words, their punctuation, leading punctuation and chunk counts.

        A chunk of ``k`` phoneme words gives: ``k = 0``, punctuation of the previous word, or
        its core joined to the previous word ("of the"); ``k = 1``, the word; ``k >= 2``,
        :func:`_split_core`. Edge punctuation goes to the preceding word, as in ``word_ids``.
        """
        chunks = normalized.split()
        parts = [_split_edges(c) for c in chunks]
        counts = self._chunk_counts(chunks, num_words)
        if counts is None:
            self._raise_mismatch(chunks, parts, num_words, word_phonemes, utt_id)
        cores = self._cased_cores(text, [core for _, core, _ in parts])

        words: List[str] = []
        punct: List[str] = []
        leading = ""
        pending: List[str] = []  # content chunks with k = 0 before the first word
        for (lead, _, trail), core, k in zip(parts, cores, counts):
            if words:
                punct[-1] += lead
            else:
                leading += lead
            if k == 0:
                if core and words:
                    words[-1] += " " + core
                elif core:
                    pending.append(core)
                if words:
                    punct[-1] += trail
                else:
                    leading += trail
                continue
            subs = [core] if k == 1 else _split_core(core, k)
            if pending:
                subs[0] = " ".join(pending + [subs[0]])
                pending = []
            words.extend(subs)
            punct.extend([""] * len(subs))
            punct[-1] += trail
        if len(words) != num_words or pending:  # defensive: counts guarantee equality
            self._raise_mismatch(chunks, parts, num_words, word_phonemes, utt_id)
        return words, punct, leading, counts

    def _cased_cores(self, text: str, cores: List[str]) -> List[str]:
        """Each core with the raw text's casing where found nearby (left to right), else lower-cased if all upper."""
        out = []
        cursor = 0
        for core in cores:
            cased = core
            if core and self.restore_case:
                pattern = re.compile(r"(?<!\w)" + re.escape(core) + r"(?!\w)", re.IGNORECASE)
                m = pattern.search(text, cursor)
                if m is not None and len(re.findall(r"\w+", text[cursor : m.start()])) <= 4:
                    cased = m.group(0)
                    cursor = m.end()
                elif core.isupper():
                    cased = core.lower()
            out.append(cased)
        return out

    def _raise_mismatch(self, chunks, parts, num_words, word_phonemes, utt_id):
        text_words = [core for _, core, _ in parts if core]
        phoneme_words = ["".join(p) for p in word_phonemes]
        # First chunk whose cumulative count (alone / prefix) disagrees with the sentence.
        first = None
        total = 0
        for i, chunk in enumerate(chunks):
            total += self._count_words(chunk)
            prefix = self._count_words(" ".join(chunks[: i + 1]))
            if total > num_words or prefix != total or prefix > num_words:
                first = chunk
                break
        raise ValueError(
            f"{utt_id}: cannot align {len(text_words)} text words with the {num_words} "
            f"phoneme words of the token stream (first diverging word: {first!r}); "
            f"text words: {text_words}; phoneme words: {phoneme_words}"
        )
