"""Property test: every feature of the front end has one row per phoneme word, or the
utterance is refused with ValueError (never another exception).

Sentences are generated from real words, numbers, abbreviations, quotes, hyphens,
apostrophes, spoken symbols and repeated punctuation. Real espeak G2P, MiniLM and spaCy.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

WORDS = (
    "the of and to in a is that for it was on with he as I his at by be this had from "
    "are but not or have an they which one you were her all she there would their we him "
    "been has when who will more no if out so said what up its about into than them can "
    "only other new some could time these two may then do first any my now such like our "
    "over man me even most made after also did many before must through back years where "
    "much your way well down should because each just those people Mr how too little state "
    "good very make world still own see men work long get here between both life being under "
    "never day same another know while last might us great old year off come since against "
    "go came right used take three Printing Exhibition Netherlands woodcutters Chinese "
    "agent number pound key press star Please Goodbye yourself unmute"
).split()
NUMBERS = [
    "5",
    "10",
    "21",
    "1990",
    "1990s",
    "10:30",
    "$5",
    "$3.50",
    "3.14",
    "1,000",
    "1st",
    "2nd",
    "50%",
    "7th",
    "100",
    "0",
]
ABBREVIATIONS = [
    "Dr.",
    "Mr.",
    "Mrs.",
    "St.",
    "e.g.",
    "i.e.",
    "etc.",
    "U.S.A.",
    "p.m.",
    "Co.",
    "Jr.",
    "NASA",
    "FBI",
    "Ltd.",
]
HYPHENATED = [
    "co-op",
    "twenty-one",
    "state-of-the-art",
    "well-known",
    "mid-1990s",
    "e-mail",
    "x-ray",
    "-",
    "--",
]
APOSTROPHES = [
    "don't",
    "Smith's",
    "O'Neil",
    "rock 'n' roll",
    "'tis",
    "y'all",
    "won't",
    "James'",
    "'90s",
    "can't've",
]
SYMBOLS = ["#hashtag", "@user", "one/two", "**bold**", "&", "%", "A+B", "x=y", "~", "_"]
PUNCT = [
    "",
    "",
    "",
    ",",
    ".",
    "...",
    "?",
    "!",
    "?!",
    "!!!",
    ";",
    ":",
    " ,",
    " ...",
    "'",
    '"',
    ")",
    "(",
    " - ",
    "…",
]

token = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(NUMBERS),
    st.sampled_from(ABBREVIATIONS),
    st.sampled_from(HYPHENATED),
    st.sampled_from(APOSTROPHES),
    st.sampled_from(SYMBOLS),
)
piece = st.tuples(st.sampled_from(["", "", "", '"', "'", "(", "..."]), token, st.sampled_from(PUNCT)).map(
    "".join
)
sentence = st.lists(piece, min_size=1, max_size=14).map(" ".join)


@pytest.fixture(scope="module")
def models():
    from prosody_plugin.frontend.context import ContextFeaturizer
    from prosody_plugin.frontend.syntax import SyntaxAnalyzer
    from prosody_plugin.frontend.words import TextFrontend

    # with punctuation (the default), and the bare-words parser of the first version
    return TextFrontend(), ContextFeaturizer(punctuation=True), SyntaxAnalyzer(parse_punctuation=False)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=sentence)
def test_one_row_per_word_or_value_error(models, text):
    frontend, featurizer, bare_syntax = models
    try:
        u = frontend.analyze(text, utt_id="gen")
    except ValueError as e:
        assert "gen" in str(e)
        return
    num_words = int(u.token_word_ids.max()) + 1
    assert len(u.words) == len(u.word_phonemes) == len(u.word_punctuation) == num_words
    assert all(w.strip() for w in u.words)
    assert len(u.punctuated_words()) == num_words
    try:
        vectors, matrices = featurizer([u])
    except ValueError as e:  # e.g. more wordpieces than the encoder takes: named
        assert "gen" in str(e)
        return
    assert vectors[0].shape == (num_words, featurizer.hidden_size)
    bare = bare_syntax.analyze(u.words, u.word_punctuation)
    for matrix in (matrices[0], bare.as_matrix()):
        assert matrix.shape[0] == num_words
        heads = matrix[:, 0]
        assert ((heads >= 0) & (heads < num_words)).all()
        assert int((heads == np.arange(num_words)).sum()) == 1
        for w in range(num_words):  # a tree: every word reaches the root
            seen = set()
            while heads[w] != w:
                assert w not in seen
                seen.add(w)
                w = heads[w]


@settings(max_examples=200, deadline=None)
@given(text=sentence)
def test_front_end_alone(text):
    """More examples for the word alignment only (G2P is fast)."""
    frontend = _frontend()
    try:
        u = frontend.analyze(text, utt_id="gen")
    except ValueError as e:
        assert "gen" in str(e)
        return
    assert len(u.words) == len(u.word_phonemes) == int(u.token_word_ids.max()) + 1


_FRONTEND = []


def _frontend():
    if not _FRONTEND:
        from prosody_plugin.frontend.words import TextFrontend

        _FRONTEND.append(TextFrontend())
    return _FRONTEND[0]
