"""Text front end of stage two: words, BERT vectors and syntax on one word sequence.

Real components only: ESPnet's cleaner and espeak G2P, the packaged all-MiniLM-L6-v2 and
spaCy's small English model. Models are loaded once per module.
"""

import numpy as np
import pytest
import torch

from prosody_plugin.text.word_boundaries import token_classes, word_ids

PROMPTS = [
    "Please enter your agent number followed by the pound key.",
    "To mute or unmute yourself, press star one.",
    "Thank you for calling. Goodbye!",
    "Dr. Smith paid $5 at 10:30.",
    "Wait... what?!",
    'He said "no", then left.',
    "She's a co-op member; twenty-one years old.",
    "The state-of-the-art of the art in the U.S.A.",
    "Don't touch Smith's car, O'Neil.",
    "#hashtag @user 50% **bold** one/two",
    "... and then, finally -- silence.",
]


@pytest.fixture(scope="module")
def ljspeech_texts(ljspeech_metadata):
    """The normalized transcripts of ljspeech_mini (or of its spoken stand-in, conftest.py)."""
    return [normalized for _, _, normalized in ljspeech_metadata]


@pytest.fixture(scope="module")
def token_list(ljspeech_texts):
    """A token list as ESPnet's stage would build it from these texts."""
    from prosody_plugin.frontend.words import TextFrontend

    fe = TextFrontend()
    tokens = set()
    for text in ljspeech_texts + PROMPTS:
        tokens.update(fe.tokenize(fe.normalize(text)))
    return ["<blank>", "<unk>"] + sorted(tokens) + ["<sos/eos>"]


@pytest.fixture(scope="module")
def frontend(token_list, tmp_path_factory):
    from prosody_plugin.frontend.words import TextFrontend

    path = tmp_path_factory.mktemp("tokens") / "tokens.txt"
    path.write_text("\n".join(token_list) + "\n", encoding="utf-8")
    return TextFrontend(cleaner="tacotron", g2p="espeak_ng_english_us_vits", token_list=path)


@pytest.fixture(scope="module")
def embedder():
    from prosody_plugin.frontend.bert import WordEmbedder

    return WordEmbedder()


@pytest.fixture(scope="module")
def syntax():
    from prosody_plugin.frontend.syntax import SyntaxAnalyzer

    return SyntaxAnalyzer()


def check_invariants(u):
    num_words = int(u.token_word_ids.max()) + 1
    assert len(u.words) == len(u.word_phonemes) == len(u.word_punctuation) == num_words
    assert len(u.token_word_ids) == len(u.tokens)
    assert all(w.strip() for w in u.words)
    assert all(len(p) > 0 for p in u.word_phonemes)
    # word ids are contiguous and non-decreasing
    assert np.all(np.diff(u.token_word_ids) >= 0)
    assert set(u.token_word_ids.tolist()) == set(range(num_words))


# ---------------------------------------------------------------------------- words
def test_tokens_are_espnet_common_preprocessor_tokens(frontend, token_list, ljspeech_texts):
    from espnet2.train.preprocessor import CommonPreprocessor

    pre = CommonPreprocessor(
        train=False,
        token_type="phn",
        token_list=token_list,
        text_cleaner=["tacotron"],
        g2p_type="espeak_ng_english_us_vits",
    )
    for i, text in enumerate(ljspeech_texts[:8] + PROMPTS):
        u = frontend.analyze(text, utt_id=f"u{i}")
        ids = pre(f"u{i}", {"text": text})["text"]
        np.testing.assert_array_equal(u.token_ids, ids)
        assert [token_list[j] for j in ids] == u.tokens


@pytest.mark.parametrize("source", ["ljspeech", "prompts"])
def test_word_counts_agree(frontend, token_list, ljspeech_texts, source):
    texts = ljspeech_texts if source == "ljspeech" else PROMPTS
    is_boundary, is_punct = token_classes(token_list)
    for i, text in enumerate(texts):
        u = frontend.analyze(text, utt_id=f"{source}{i}")
        check_invariants(u)
        ids = torch.from_numpy(u.token_ids).unsqueeze(0)
        word_ids_, num_words = word_ids(ids, torch.tensor([ids.size(1)]), is_boundary, is_punct)
        np.testing.assert_array_equal(u.token_word_ids, word_ids_[0].numpy())
        assert int(num_words[0]) == len(u.words)


def test_prompt_words(frontend):
    u = frontend.analyze("Please enter your agent number followed by the pound key.")
    assert u.words == "Please enter your agent number followed by the pound key".split()
    assert u.word_punctuation == [""] * 9 + ["."]
    assert u.leading_punctuation == ""
    assert "".join(u.word_phonemes[0]) == "plˈiːz"


@pytest.mark.parametrize(
    "text, words, punct",
    [
        ("co-op", ["co", "op"], ["", ""]),
        ("twenty-one", ["twenty", "one"], ["", ""]),
        ("don't stop", ["don't", "stop"], ["", ""]),
        ("Smith's dog.", ["Smith's", "dog"], ["", "."]),
        ('"Hello," she said.', ["Hello", "she", "said"], [",", "", "."]),
        (
            "Dr. Smith paid $5 at 10:30.",
            ["doctor", "Smith", "paid", "five", "dollars", "at", "ten,thirty"],
            [""] * 6 + ["."],
        ),
        ("Wait... what?!", ["Wait", "what"], ["...", "?!"]),
        ("Hello!!! ???", ["Hello"], ["!!!???"]),
        ("yes , no", ["yes", "no"], [",", ""]),
    ],
)
def test_surface_words(frontend, text, words, punct):
    u = frontend.analyze(text)
    check_invariants(u)
    assert u.words == words
    assert u.word_punctuation == punct


def test_leading_punctuation(frontend):
    u = frontend.analyze("... and then, silence.")
    check_invariants(u)
    assert u.leading_punctuation == "..."
    assert u.words == ["and", "then", "silence"]
    assert u.token_word_ids[0] == 0  # leading punctuation tokens belong to word 0


def test_espeak_merges_function_words(frontend):
    # espeak phonemizes "of the" as one word (no <space>): one phoneme word, one surface.
    u = frontend.analyze("The state of the art.")
    check_invariants(u)
    assert u.words == ["The", "state", "of the", "art"]
    assert u.words_for_file()[2] == "of_the"


def test_spoken_symbols_split_a_chunk(frontend):
    u = frontend.analyze("#hashtag 50% one/two")
    check_invariants(u)
    assert u.words == ["#", "hashtag", "fifty", "%", "one", "/", "two"]


@pytest.mark.parametrize("text", ["", "   \t\n", "...", "?!", "🙂🙂", "\u200b"])
def test_unusable_text_raises(frontend, text):
    with pytest.raises(ValueError, match="text|pronounceable|cleaner"):
        frontend.analyze(text, utt_id="bad")


@pytest.mark.parametrize("text", ["Привет, мир!", "你好世界", "Ελληνικά"])
def test_non_latin_text(frontend, text):
    try:
        u = frontend.analyze(text, utt_id="nonlatin")
    except ValueError as e:
        assert "nonlatin" in str(e)
    else:  # the tacotron cleaner transliterates (unidecode): then the invariant holds
        check_invariants(u)


def test_token_list_missing_punctuation(token_list):
    from prosody_plugin.frontend.words import TextFrontend

    fe = TextFrontend(token_list=[t for t in token_list if t != "."])
    # leading "..." as <unk> would open a word of its own
    with pytest.raises(ValueError, match=r"q1: tokens missing from the token list \(\['\.'\]"):
        fe.analyze("... and then", utt_id="q1")
    # a missing phoneme maps to <unk> without changing the words
    fe = TextFrontend(token_list=[t for t in token_list if t != "ʌ"])
    u = fe.analyze("Wait... what?!")
    assert u.token_ids[u.tokens.index("ʌ")] == 1 and u.words == ["Wait", "what"]
    with pytest.raises(ValueError, match="<unk>"):
        TextFrontend(token_list=["<blank>", "a"])


def test_error_names_utterance(frontend):
    with pytest.raises(ValueError, match="utt42"):
        frontend.analyze("...", utt_id="utt42")


def test_alignment_mismatch_is_an_error(frontend):
    u = frontend.analyze("Hello world.")
    with pytest.raises(ValueError, match=r"utt7.*text words.*phoneme words"):
        frontend._align(u.text, u.normalized, 3, u.word_phonemes + [["x"]], "utt7")


def test_long_text_and_split_sentences(frontend, ljspeech_texts):
    from prosody_plugin.frontend.words import split_sentences

    text = " ".join(ljspeech_texts) * 2
    with pytest.raises(ValueError, match="split_sentences"):
        frontend.analyze(text, utt_id="long")
    sentences = split_sentences(text)
    assert len(sentences) > 5
    for s in sentences[:10]:
        if len(frontend.tokenize(frontend.normalize(s))) <= frontend.max_tokens:
            check_invariants(frontend.analyze(s))


def test_split_sentences_rules():
    from prosody_plugin.frontend.words import split_sentences

    text = (
        "Mr. Smith met Dr. Jones at 5 p.m. today. Was it J. R. R. Tolkien? Yes! "
        'Fruit, e.g. apples; vegetables, i.e. greens. "Quoted." Done'
    )
    assert split_sentences(text) == [
        "Mr. Smith met Dr. Jones at 5 p.m. today.",
        "Was it J. R. R. Tolkien?",
        "Yes!",
        "Fruit, e.g. apples;",
        "vegetables, i.e. greens.",
        '"Quoted."',
        "Done",
    ]
    assert split_sentences("   ") == []


# ---------------------------------------------------------------------------- BERT
def test_bert_one_vector_per_word(frontend, embedder):
    utts = [frontend.analyze(t, utt_id=f"p{i}") for i, t in enumerate(PROMPTS)]
    vectors = embedder.embed([u.words for u in utts])
    assert embedder.hidden_size == 384
    for u, v in zip(utts, vectors):
        assert v.shape == (len(u.words), 384)
        assert torch.isfinite(v).all()
        assert not v.requires_grad
    # batching does not change the vectors (padding is masked)
    alone = embedder.embed([utts[3].words])[0]
    torch.testing.assert_close(alone, vectors[3], atol=1e-4, rtol=1e-4)


def test_bert_gradients_and_errors(embedder):
    assert not embedder.embed_with_grad([["hello", "world"]])[0].requires_grad  # frozen
    embedder.set_trainable(True)
    try:
        v = embedder.embed([["hello", "world"]])[0]
        assert v.requires_grad
        v.sum().backward()
        grad = embedder.encoder.embeddings.word_embeddings.weight.grad
        assert grad is not None and grad.abs().sum() > 0
    finally:
        embedder.set_trainable(False)
        embedder.zero_grad(set_to_none=True)
    assert not any(p.requires_grad for p in embedder.parameters())
    with pytest.raises(ValueError, match="'\\\\u200b'"):
        embedder.embed([["fine", "\u200b"]], utt_ids=["z"])
    with pytest.raises(ValueError, match="long1.*600 words"):
        embedder.embed([["word"] * 600], utt_ids=["long1"])


# ---------------------------------------------------------------------------- syntax
def test_syntax_tree(frontend, syntax, ljspeech_texts):
    from prosody_plugin.frontend.syntax import SYNTAX_COLUMNS, num_classes

    for i, text in enumerate(ljspeech_texts[:12] + PROMPTS):
        u = frontend.analyze(text, utt_id=f"s{i}")
        s = syntax.analyze(u.words, u.word_punctuation)
        W = len(u.words)
        assert s.num_words == W
        m = s.as_matrix()
        assert m.shape == (W, len(SYNTAX_COLUMNS)) and m.dtype == np.int64
        assert ((s.heads >= 0) & (s.heads < W)).all()
        assert int((s.heads == np.arange(W)).sum()) == 1  # exactly one root
        for name, n in num_classes.items():
            col = m[:, SYNTAX_COLUMNS.index(name)]
            assert ((col >= 0) & (col < n)).all(), name
        # every word reaches the root: a tree, no cycle
        for w in range(W):
            seen = set()
            while s.heads[w] != w:
                assert w not in seen
                seen.add(w)
                w = s.heads[w]
        e = s.edge_index()
        assert e.shape == (2, 2 * (W - 1))
        pairs = set(map(tuple, e.t().tolist()))
        assert pairs == {(b, a) for a, b in pairs}
        assert all(a != b for a, b in pairs)


def test_syntax_tags(syntax):
    from prosody_plugin.frontend import syntax as sx

    s = syntax.analyze(
        ["The", "old", "man", "sold", "chicken", "soup", "yesterday"],
        ["", "", "", "", "", ",", "!"],
    )
    assert s.noun_structure.tolist()[:3] == [sx.NOUN_BEGIN, sx.NOUN_INSIDE, sx.NOUN_END]
    assert s.compound.tolist()[4] == 1  # "chicken" in "chicken soup"
    assert s.word_class.tolist()[0] == 0 and s.word_class.tolist()[2] == 1
    assert s.punct_structure.tolist()[-2:] == [sx.PUNCT_COMMA, sx.PUNCT_EXCLAMATION]
    assert s.position.tolist() == [0, 1, 1, 1, 1, 1, 2]
    assert syntax.analyze(["Hi"]).position.tolist() == [sx.POSITION_ONLY]
    assert [sx.punct_class(p) for p in ["", ",", ".", "?!", "!", ";", "'", "..."]] == [
        0,
        1,
        2,
        3,
        4,
        5,
        6,
        2,
    ]


def test_syntax_vocabularies_cover_the_model(syntax):
    from prosody_plugin.frontend.syntax import DEP_LABELS, FINE_TAGS

    assert set(syntax.nlp.get_pipe("parser").labels) <= set(DEP_LABELS)
    assert set(syntax.nlp.get_pipe("tagger").labels) <= set(FINE_TAGS)


def test_edge_index_function():
    from prosody_plugin.frontend.syntax import edge_index

    e = edge_index(np.array([1, 1, 1]))
    assert e.dtype == torch.long
    assert sorted(map(tuple, e.t().tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1)]
    assert edge_index(np.array([0])).shape == (2, 0)


# ---------------------------------------------------------------------------- CLI
def test_extract_context_features_cli(tmp_path, token_list, ljspeech_texts):
    from espnet2.fileio.npy_scp import NpyScpReader

    from prosody_plugin.bin.extract_context_features import main

    data = tmp_path / "data"
    data.mkdir()
    lines = [f"lj{i:02d} {t}" for i, t in enumerate(ljspeech_texts[:5])]
    lines += ["p1 Wait... what?!", "z_bad1 ...", "z_bad2 🙂🙂", "z_bad3"]
    (data / "text").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "tokens.txt").write_text("\n".join(token_list) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    # the options the recipe passes (ESPnet's text options)
    args = [
        "--token_type",
        "phn",
        "--token_list",
        str(tmp_path / "tokens.txt"),
        "--non_linguistic_symbols",
        "none",
        "--cleaner",
        "tacotron",
        "--g2p",
        "espeak_ng_english_us_vits",
        "--batch_size",
        "4",
    ]
    assert main(args + [str(data), str(out)]) == 1
    failed = dict(line.split("\t", 1) for line in (out / "failed").read_text().splitlines())
    assert sorted(failed) == ["z_bad1", "z_bad2", "z_bad3"]
    num_words = dict(line.split() for line in (out / "num_words").read_text().splitlines())
    words = dict(line.split(maxsplit=1) for line in (out / "words").read_text().splitlines())
    bert, syn = NpyScpReader(out / "bert.scp"), NpyScpReader(out / "syntax.scp")
    assert sorted(num_words) == sorted(words) == sorted(bert) == sorted(syn)
    assert len(num_words) == 6
    for utt, n in num_words.items():
        n = int(n)
        assert len(words[utt].split()) == n
        assert bert[utt].shape == (n, 384) and bert[utt].dtype == np.float32
        assert syn[utt].shape == (n, 9) and syn[utt].dtype == np.int64
    assert words["p1"] == "Wait what"
    # --key_file and --on_error drop: only the bad ones, exit status 0
    (tmp_path / "keys").write_text("z_bad1\nlj00\n")
    out2 = tmp_path / "out2"
    argv = args + ["--on_error", "drop", "--key_file", str(tmp_path / "keys")]
    assert main(argv + [str(data), str(out2)]) == 0
    assert (out2 / "num_words").read_text().split()[0] == "lj00"
    assert (out2 / "failed").read_text().startswith("z_bad1\t")


# ---------------------------------------------------------------------------- punctuation
@pytest.fixture(scope="module")
def featurizers():
    from prosody_plugin.frontend.context import ContextFeaturizer

    return ContextFeaturizer(punctuation=True), ContextFeaturizer(punctuation=False)


def test_punctuation_reaches_bert_and_spacy(frontend, featurizers):
    from prosody_plugin.frontend import syntax as sx

    with_punct, bare = featurizers
    question = frontend.analyze("You are going home?", utt_id="q")
    statement = frontend.analyze("You are going home.", utt_id="s")
    assert question.punctuated_words() == ["You", "are", "going", "home?"]
    (vq, vs), (mq, ms) = with_punct([question, statement])
    # BERT reads the mark: every contextual vector changes, the last word's most
    assert not torch.allclose(vq[-1], vs[-1], atol=1e-2)
    (bq, bs), _ = bare([question, statement])
    assert torch.allclose(bq, bs, atol=1e-5)  # the bare words cannot tell them apart
    column = sx.SYNTAX_COLUMNS.index("punct_structure")
    assert mq[-1, column] == sx.PUNCT_QUESTION and ms[-1, column] == sx.PUNCT_PERIOD


def test_punctuated_parse_maps_back_to_the_words(frontend, featurizers):
    from prosody_plugin.frontend import syntax as sx

    u = frontend.analyze('"Most of the time," she said, "it works."', utt_id="q1")
    # the tacotron cleaner drops the quotes; BERT reads what the acoustic model reads
    assert u.punctuated_words() == ["Most", "of", "the", "time,", "she", "said,", "it", "works."]
    _, (matrix,) = featurizers[0]([u])
    heads = matrix[:, 0]
    W = len(u.words)
    assert matrix.shape == (W, len(sx.SYNTAX_COLUMNS))
    assert int((heads == np.arange(W)).sum()) == 1
    root = int(np.flatnonzero(heads == np.arange(W))[0])
    # the commas let the parser find the clauses: "it works" is the main verb, "she said"
    # a parenthetical; the bare words give a noun phrase as the root
    assert u.words[root] == "works" and matrix[root, 2] == sx.UPOS_TAGS.index("VERB")
    bare = featurizers[1].syntax.analyze(u.words, u.word_punctuation)
    assert u.words[int(np.flatnonzero(bare.heads == np.arange(W))[0])] == "Most"
    assert sx.punctuation_marks('?!...",') == ["?", "!", "...", '"', ","]


# ---------------------------------------------------------------------------- speed: same features
def _same_utterance(a, b):
    assert (a.normalized, a.tokens, a.words, a.word_punctuation, a.leading_punctuation) == (
        b.normalized,
        b.tokens,
        b.words,
        b.word_punctuation,
        b.leading_punctuation,
    )
    assert a.chunk_word_counts == b.chunk_word_counts and a.word_phonemes == b.word_phonemes
    np.testing.assert_array_equal(a.token_word_ids, b.token_word_ids)
    np.testing.assert_array_equal(a.token_ids, b.token_ids)


def test_g2p_cache_gives_the_same_utterances(token_list, ljspeech_texts):
    """The chunk-count cache (and its eviction) changes no word, token or punctuation."""
    from prosody_plugin.frontend.words import TextFrontend

    uncached = TextFrontend(token_list=token_list, g2p_cache_size=0)
    tiny = TextFrontend(token_list=token_list, g2p_cache_size=3)  # evicts all the time
    cached = TextFrontend(token_list=token_list)
    assert uncached.g2p_cache_info() is None
    texts = PROMPTS + ljspeech_texts[:8] + ["Most of the time, of the art."]
    for _ in range(2):  # the second pass reads the cache
        for i, text in enumerate(texts):
            reference = uncached.analyze(text, utt_id=f"u{i}")
            _same_utterance(tiny.analyze(text, utt_id=f"u{i}"), reference)
            _same_utterance(cached.analyze(text, utt_id=f"u{i}"), reference)
    info = cached.g2p_cache_info()
    assert info["hits"] > info["misses"] > 0 and info["size"] <= info["maxsize"]
    assert tiny.g2p_cache_info()["size"] <= 3
    cached.clear_g2p_cache()
    assert cached.g2p_cache_info()["size"] == 0
    with pytest.raises(ValueError, match="g2p_cache_size"):
        TextFrontend(g2p_cache_size=-1)


def test_batched_word_ids_equal_one_by_one(frontend):
    from prosody_plugin.text.word_boundaries import word_ids_of_token_lists, word_ids_of_tokens

    lists = [frontend.tokenize(frontend.normalize(t)) for t in PROMPTS] + [[], [","], ["<space>"]]
    for tokens, (ids, n) in zip(lists, word_ids_of_token_lists(lists)):
        ref_ids, ref_n = word_ids_of_tokens(tokens)
        assert n == ref_n and ids.dtype == np.int64
        np.testing.assert_array_equal(ids, ref_ids)
        if tokens:
            vocab = sorted(set(tokens))
            by_torch, num = word_ids(
                torch.tensor([[vocab.index(t) for t in tokens]]),
                torch.tensor([len(tokens)]),
                *token_classes(vocab),
            )
            np.testing.assert_array_equal(ids, by_torch[0].numpy())
            assert int(num[0]) == n
    assert word_ids_of_token_lists([]) == []


def test_spacy_without_unused_components_gives_the_same_matrices(frontend, syntax, ljspeech_texts):
    """The analyzer loads spaCy without ner/lemmatizer; the full pipeline parses the same."""
    import spacy

    from prosody_plugin.frontend.syntax import SyntaxAnalyzer

    assert not {"ner", "lemmatizer"} & set(syntax.nlp.pipe_names)
    full = SyntaxAnalyzer(syntax.model)
    full.nlp = spacy.load(syntax.model)
    assert {"ner", "lemmatizer"} <= set(full.nlp.pipe_names)
    utts = [frontend.analyze(t, utt_id=f"s{i}") for i, t in enumerate(ljspeech_texts + PROMPTS)]
    args = (
        [u.words for u in utts],
        [u.word_punctuation for u in utts],
        [u.leading_punctuation for u in utts],
    )
    ours = [s.as_matrix() for s in syntax.analyze_batch(*args)]
    for a, b in zip(ours, full.analyze_batch(*args)):
        np.testing.assert_array_equal(a, b.as_matrix())
    # one utterance at a time (nlp(doc), not nlp.pipe) parses the same as in a batch
    for u, m in zip(utts, ours):
        np.testing.assert_array_equal(
            syntax.analyze(u.words, u.word_punctuation, u.leading_punctuation).as_matrix(), m
        )


def test_one_edge_builder():
    """Kathaka's graph layer and the front end build dependency arcs with the same function."""
    from prosody_plugin.context import kathaka_sampler
    from prosody_plugin.frontend import syntax as sx

    assert kathaka_sampler.dependency_edges is sx.dependency_edges
    heads = [np.array([1, 1, 1]), np.array([0]), np.array([2, 2, 2, 1])]
    padded = torch.full((3, 4), -1, dtype=torch.long)
    for b, h in enumerate(heads):
        padded[b, : len(h)] = torch.from_numpy(h)
    batch = sx.dependency_edges(padded, torch.tensor([3, 1, 4]))
    offsets = [0, 3, 4]
    singles = torch.cat([sx.edge_index(h) + o for h, o in zip(heads, offsets)], dim=1)
    assert torch.equal(batch, singles)  # same arcs, same order
    assert sx.dependency_edges(padded[:0], torch.tensor([], dtype=torch.long)).shape == (2, 0)
    with pytest.raises(ValueError, match="batch item 1"):
        sx.dependency_edges(torch.tensor([[0, 0], [0, 2]]), torch.tensor([2, 2]))


def test_bert_speedups_keep_the_vectors(frontend, embedder, ljspeech_texts):
    """Transposed Linear storage, unpadded / length-grouped batches: float rounding only."""
    import copy

    from prosody_plugin.frontend.bert import length_groups

    linears = [m for m in embedder.encoder.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(m.weight.stride() == (1, m.weight.size(0)) for m in linears)
    plain = copy.deepcopy(embedder)
    for m in plain.encoder.modules():
        if isinstance(m, torch.nn.Linear):
            m.weight.data = m.weight.data.contiguous()
    words = [frontend.analyze(t).punctuated_words() for t in PROMPTS + ljspeech_texts[:5]]
    ours = embedder.embed(words)
    for w, v in zip(words, ours):
        torch.testing.assert_close(v, plain.embed([w])[0], atol=5e-5, rtol=1e-4)
        torch.testing.assert_close(v, embedder.embed([w])[0], atol=5e-5, rtol=1e-4)
    assert embedder.state_dict().keys() == plain.state_dict().keys()
    # the grouping covers every item once; one item is one group
    lengths = [5, 40, 6, 7, 41, 120, 5]
    groups = length_groups(lengths, call_cost=16)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    assert 1 < len(groups) < len(lengths)
    assert length_groups([9]) == [[0]] and length_groups([]) == []
    assert length_groups(lengths, call_cost=10**9) == [sorted(range(7), key=lambda i: lengths[i])]


def test_quantized_bert_is_opt_in(frontend):
    from prosody_plugin.frontend.context import ContextFeaturizer

    utts = [frontend.analyze(t, utt_id=f"q{i}") for i, t in enumerate(PROMPTS[:4])]
    featurizer = ContextFeaturizer(quantize=True)
    assert featurizer.embedder.quantized and "quantize" not in featurizer.conf()
    vectors, matrices = featurizer(utts)
    for u, v, m in zip(utts, vectors, matrices):
        assert v.shape == (u.num_words, 384) and torch.isfinite(v).all() and len(m) == u.num_words
    with pytest.raises(ValueError, match="quantized"):
        featurizer.embedder.set_trainable(True)


def test_parallel_featurizer_gives_the_same_features(frontend, featurizers):
    import dataclasses

    from prosody_plugin.frontend.context import ContextFeaturizer

    serial = featurizers[0]
    parallel = ContextFeaturizer(embedder=serial.embedder, parallel=True)
    utts = [frontend.analyze(t, utt_id=f"p{i}") for i, t in enumerate(PROMPTS)]
    for batch in (utts, utts[:1]):
        (v1, m1), (v2, m2) = serial(batch), parallel(batch)
        for a, b in zip(v1, v2):
            assert torch.equal(a, b)
        for a, b in zip(m1, m2):
            np.testing.assert_array_equal(a, b)
    too_long = dataclasses.replace(utts[0], utt_id="long1", words=["word"] * 600, word_punctuation=[""] * 600)
    with pytest.raises(ValueError, match="long1"):
        parallel([utts[0], too_long])
    assert parallel(utts[:2])[1][0].shape == m1[0].shape  # usable after an error


def test_onnxruntime_bert_gives_the_same_vectors(frontend, embedder, tmp_path):
    """The encoder exported to ONNX Runtime: the torch vectors up to float rounding."""
    from prosody_plugin.frontend.bert import WordEmbedder
    from prosody_plugin.frontend.context import ContextFeaturizer

    words = [frontend.analyze(t).punctuated_words() for t in PROMPTS]
    onnx = WordEmbedder(layer=-2)
    reference = [v.clone() for v in onnx.embed(words)]
    onnx.use_onnxruntime_(cache_dir=tmp_path)
    exported = list(tmp_path.glob("*.onnx"))
    assert onnx.session is not None and len(exported) == 1
    for batch in (words, words[:1]):  # padded sub-batches, and one utterance alone
        for v, r in zip(onnx.embed(batch), reference):
            torch.testing.assert_close(v, r, atol=1e-4, rtol=1e-4)
    # the last layer is another export; the cache is reused for equal weights
    featurizer = ContextFeaturizer(embedder=embedder, runtime="torch")
    last = featurizer.embedder.embed(words)
    again = WordEmbedder().use_onnxruntime_(cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.onnx"))) == 2
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.onnx")}
    WordEmbedder().use_onnxruntime_(cache_dir=tmp_path)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.onnx")} == mtimes
    for v, r in zip(again.embed(words), last):
        torch.testing.assert_close(v, r, atol=1e-4, rtol=1e-4)
    # training stays in torch
    again.set_trainable(True)
    assert again.session is None and again.embed(words[:1])[0].requires_grad
    with pytest.raises(ValueError, match="frozen"):
        again.use_onnxruntime_(cache_dir=tmp_path)
    with pytest.raises(ValueError, match="runtime"):
        ContextFeaturizer(embedder=embedder, runtime="tensorrt")
