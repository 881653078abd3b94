"""Kathaka, CAMP and the aligner built through the plugin's task with ESPnet's real parts."""

import math

import pytest
import torch
from conftest import FS, TOKENS, build_model, ids, num_frames, tts_inputs


def forward(model, batch, **extra):
    return model(**batch, **extra)


@pytest.mark.parametrize("tts", ["fastspeech2", "kathaka", "camp", "aligner"])
def test_padded_batch_gives_finite_loss_and_stats(tts, batch):
    model = build_model(tts)
    loss, stats, weight = forward(model, batch)
    assert torch.isfinite(loss)
    assert all(math.isfinite(float(v)) for v in stats.values())
    assert int(weight) == 2
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is None or torch.isfinite(g).all() for g in grads)


def test_registration_and_wrapper():
    from espnet2.tasks.tts import tts_choices

    import prosody_plugin  # noqa: F401

    for name in ("kathaka", "camp", "aligner", "fastspeech2", "tacotron2"):
        assert name in tts_choices.classes
    model = build_model("kathaka")
    assert type(model).__name__ == "ProsodyESPnetTTSModel"


def test_print_config_shows_fastspeech2_options():
    from espnet2.utils.get_default_kwargs import get_default_kwargs

    from prosody_plugin.tts import CAMP, Kathaka

    for cls, own in ((Kathaka, "latent_dim"), (CAMP, "word_embed_dim")):
        defaults = get_default_kwargs(cls.__init__)
        assert own in defaults and "elayers" in defaults and "pitch_predictor_layers" in defaults


def test_kathaka_kl_annealing_schedule_and_stats(batch):
    model = build_model("kathaka")  # start 1, ramp 2 steps, final weight 0.1
    weights = []
    for _ in range(5):
        weights.append(model.tts.current_kl_weight())
        loss, stats, _ = forward(model, batch)
        assert stats["kl_weight"] == pytest.approx(weights[-1])
    assert weights == pytest.approx([0.0, 0.0, 0.05, 0.1, 0.1])
    assert {f"kl_dim{i}" for i in range(4)} <= set(stats)
    per_dim = sum(float(stats[f"kl_dim{i}"]) for i in range(4))
    assert float(stats["kl_loss"]) == pytest.approx(per_dim, rel=1e-4)
    # the step counter is a buffer (checkpointed, so resume continues the schedule) and
    # only advances in training
    assert "tts.kl_anneal_step" in model.state_dict()
    model.eval()
    forward(model, batch)
    assert int(model.tts.kl_anneal_step) == 5


def test_kathaka_kl_enters_the_loss(batch):
    model = build_model(
        "kathaka", kl_anneal_start_steps=0, kl_anneal_steps=0, kl_weight=1000.0, kl_normalization="none"
    )
    torch.manual_seed(1)
    loss_heavy, stats, _ = forward(model, batch)
    model.tts.kl_weight = 0.0
    torch.manual_seed(1)
    loss_free, _, _ = forward(model, batch)
    assert float(loss_heavy - loss_free) == pytest.approx(1000.0 * float(stats["kl_loss"]), rel=1e-3)


def test_kathaka_kl_is_scaled_like_the_l1_loss_and_floored_by_free_bits(batch):
    """The KL is divided by the mean number of mel elements; dims under the floor count as the floor."""
    model = build_model("kathaka", kl_anneal_start_steps=0, kl_anneal_steps=0, kl_weight=1.0)
    frames = torch.tensor([num_frames(int(n)) for n in batch["speech_lengths"]], dtype=torch.float)
    elements = float(frames.mean()) * 20  # n_mels of the test frontend
    for free_bits in (0.0, 50.0):
        model.tts.kl_free_bits = free_bits
        torch.manual_seed(1)
        terms, stats = model.tts.losses(**tts_inputs(model, batch))
        per_dim = torch.tensor([float(stats[f"kl_dim{i}"]) for i in range(4)])
        expected = float(per_dim.clamp(min=free_bits).sum()) / elements
        assert float(terms["prosody_loss"]) == pytest.approx(expected, rel=1e-4)
    assert float(terms["prosody_loss"]) == pytest.approx(4 * 50.0 / elements, rel=1e-4)  # all under the floor


@pytest.mark.parametrize("tts, encoder", [("kathaka", "reference_encoder"), ("camp", "word_encoder")])
def test_gradients_reach_the_reference_encoder(tts, encoder, batch):
    model = build_model(tts)
    loss, _, _ = forward(model, batch)
    loss.backward()
    grads = [p.grad for p in getattr(model.tts, encoder).parameters()]
    assert grads and all(g is not None for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_kathaka_posterior_ignores_batch_padding(batch):
    model = build_model("kathaka").eval()
    feats, lengths = model.feats_extract(batch["speech"], batch["speech_lengths"])
    mu_batch, logvar_batch = model.tts.encode_prosody(feats, lengths)
    for i in range(2):
        single = feats[i : i + 1, : lengths[i]]
        mu, logvar = model.tts.encode_prosody(single, lengths[i : i + 1])
        assert torch.allclose(mu, mu_batch[i : i + 1], atol=1e-5)
        assert torch.allclose(logvar, logvar_batch[i : i + 1], atol=1e-5)


def test_explicit_prosody_passes_through_the_wrapper_in_training(batch):
    model = build_model("kathaka")
    prosody = torch.randn(2, 4)
    loss, stats, _ = forward(model, batch, prosody=prosody, prosody_lengths=torch.tensor([4, 4]))
    assert "kl_loss" not in stats  # the reference encoder was bypassed
    loss.backward()
    assert all(p.grad is None for p in model.tts.reference_encoder.parameters())
    camp = build_model("camp")
    loss, _, _ = forward(camp, batch, prosody=torch.randn(2, 2, 3), prosody_lengths=torch.tensor([2, 2]))
    loss.backward()
    assert all(p.grad is None for p in camp.tts.word_encoder.parameters())


def _infer(model, batch, **kwargs):
    n = int(batch["text_lengths"][0])
    return model.inference(batch["text"][0, :n], use_teacher_forcing=False, **kwargs)


def test_kathaka_inference_reference_explicit_and_prior(batch):
    model = build_model("kathaka").eval()
    speech = batch["speech"][0]
    with torch.no_grad():
        ref = _infer(model, batch, speech=speech)
        mu, _ = model.tts.encode_prosody(model.reference_feats(speech)[None], torch.tensor([num_frames(FS)]))
        assert torch.allclose(ref["prosody"], mu[0], atol=1e-5)  # posterior mean of the reference
        explicit = _infer(model, batch, prosody=ref["prosody"])
        assert torch.allclose(explicit["feat_gen"], ref["feat_gen"], atol=1e-5)
        prior = _infer(model, batch)
        assert torch.equal(prior["prosody"], torch.zeros(4))
        assert prior["feat_gen"].shape[1] == 20
        with pytest.raises(ValueError, match="latent_dim=4"):
            _infer(model, batch, prosody=torch.zeros(5))


def test_camp_inference_reference_explicit_and_errors(batch):
    model = build_model("camp").eval()
    speech, durations = batch["speech"][0], batch["durations"][0, : int(batch["durations_lengths"][0])]
    with torch.no_grad():
        ref = _infer(model, batch, speech=speech, durations=durations)
        assert ref["prosody"].shape == (2, 3)  # "hello, world." has two words
        explicit = _infer(model, batch, prosody=ref["prosody"])
        assert torch.allclose(explicit["feat_gen"], ref["feat_gen"], atol=1e-5)
        with pytest.raises(ValueError, match="no default prosody"):
            _infer(model, batch)
        with pytest.raises(ValueError, match="durations"):
            _infer(model, batch, speech=speech)
        with pytest.raises(ValueError, match=r"text has 2 words, got shape \(3, 3\)"):
            _infer(model, batch, prosody=torch.zeros(3, 3))


def test_camp_word_embeddings_follow_the_reference(batch):
    """Each word's embedding depends on that word's frames, pitch, energy and duration only."""
    model = build_model("camp").eval()
    inputs = tts_inputs(model, batch)
    xs, ilens = model.tts._tokens_with_eos(inputs["text"][:1, :15], torch.tensor([15]))
    durations = inputs["durations"][:1, :16]
    feats, pitch, energy = inputs["feats"][:1], inputs["pitch"][:1, :16], inputs["energy"][:1, :16]
    n_word0 = int(durations[0, :8].sum())  # "h ə l ˈ o ʊ , <space>" is word 0

    def encode(feats=feats, durations=durations, pitch=pitch, energy=energy):
        with torch.no_grad():
            return model.tts.encode_prosody(xs, ilens, feats, durations, pitch, energy)[0]

    original = encode()
    assert original.shape == (2, 3)
    changed_frames = feats.clone()
    changed_frames[:, n_word0 + 2 :] += 3.0  # frames of word 1 only (clear of conv context)
    changed_pitch = pitch.clone()
    changed_pitch[:, 9:12] += 1.0  # tokens of word 1
    longer = durations.clone()
    longer[0, 9], longer[0, 15] = longer[0, 9] + 2, longer[0, 15] - 2  # word 1 longer, same frames
    for changed in (encode(feats=changed_frames), encode(pitch=changed_pitch), encode(durations=longer)):
        assert torch.allclose(changed[0], original[0], atol=1e-5)
        assert not torch.allclose(changed[1], original[1], atol=1e-3)


def test_group_tokens_by_word():
    from prosody_plugin.tts.camp import group_tokens_by_word

    values = torch.arange(2 * 5, dtype=torch.float).view(2, 5, 1)
    word_ids = torch.tensor([[0, 0, 1, 2, 2], [0, 1, 1, -1, -1]])
    grouped, lengths, index = group_tokens_by_word(values, word_ids, torch.tensor([3, 2]))
    assert lengths.tolist() == [2, 1, 2, 1, 2]
    assert index.tolist() == [[0, 1, 2], [3, 4, -1]]
    assert grouped[..., 0].tolist() == [[0, 1], [2, 0], [3, 4], [5, 0], [6, 7]]


def test_camp_needs_word_boundaries():
    model = build_model("camp")
    with pytest.raises(ValueError, match="no <space> token"):
        model.tts.set_token_list([t if t != "<space>" else "x" for t in TOKENS])


def test_aligner_durations_cover_every_token_and_frame(batch):
    model = build_model("aligner").eval()
    n = int(batch["text_lengths"][1])
    speech = batch["speech"][1, : batch["speech_lengths"][1]]
    with torch.no_grad():
        out = model.inference(batch["text"][1, :n], speech=speech, use_teacher_forcing=True)
    durations = out["duration"]
    assert len(durations) == n + 1 and (durations >= 1).all()
    assert int(durations.sum()) == num_frames(len(speech))


def test_cdist_alignment_module_equals_espnets():
    from espnet2.gan_tts.jets.alignments import AlignmentModule

    from prosody_plugin.tts.aligner import CdistAlignmentModule

    torch.manual_seed(0)
    espnet, ours = AlignmentModule(8, 5), CdistAlignmentModule(8, 5)
    ours.load_state_dict(espnet.state_dict())
    text, feats = torch.randn(2, 6, 8), torch.randn(2, 11, 5)
    tl, fl = torch.tensor([6, 4]), torch.tensor([11, 9])
    masks = torch.arange(6)[None] >= tl[:, None]
    a, b = espnet(text, feats, tl, fl, masks), ours(text, feats, tl, fl, masks)
    finite = torch.isfinite(a)
    assert torch.equal(finite, torch.isfinite(b))
    assert torch.allclose(a[finite], b[finite], atol=1e-5)


def test_tokens_helper():
    assert ids("h ə <space>").tolist() == [7, 8, 2]
