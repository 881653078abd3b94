"""Batched text-to-mel inference gives each utterance its result alone, as ESPnet does.

Models are built from the recipe configs (CPU: transformer without postnet; GPU tuning:
conformer with postnet, shrunk in width and depth but with the configs' layer types and
kernel sizes), with random weights; the duration predictor's output layer is set so that
each token gets a few frames (random weights predict all zeros or hundreds).
"""

from pathlib import Path

import pytest
import torch
from conftest import TOKENS

from prosody_plugin.tts.batch_inference import batch_text_to_mel, regulated_durations
from prosody_plugin.tts.word_pooling import append_eos

RECIPE_CONF = Path(__file__).resolve().parents[1] / "egs2" / "asterisk" / "prosody1" / "conf"
# GPU sizes are slow on a CPU: narrower and shallower, every layer type and kernel kept
SHRINK_GPU = dict(
    adim=64,
    eunits=128,
    dunits=128,
    elayers=2,
    dlayers=2,
    duration_predictor_chans=32,
    pitch_predictor_chans=32,
    energy_predictor_chans=32,
    postnet_chans=32,
)
CONFIGS = {
    f"{system}_{device}": (
        RECIPE_CONF / f"train_{system}_cpu.yaml"
        if device == "cpu"
        else RECIPE_CONF / "tuning" / f"train_{system}_gpu.yaml",
        {} if device == "cpu" else SHRINK_GPU,
    )
    for system in ("fastspeech2", "kathaka", "camp")
    for device in ("cpu", "gpu")
}
LENGTHS = [5, 17, 30, 9, 1]  # tokens, eos not included
ATOL = 1e-4


def config_model(name: str, **tts_conf):
    """The TTS module (FastSpeech2, Kathaka or CAMP) of a recipe config, in eval mode."""
    import prosody_plugin  # noqa: F401
    from prosody_plugin.tasks.tts import ProsodyTTSTask

    path, overrides = CONFIGS[name]
    parser = ProsodyTTSTask.get_parser()
    args = parser.parse_args(["--config", str(path), "--token_list", "none", "--output_dir", "none"])
    args.token_list = list(TOKENS)
    args.normalize = args.pitch_normalize = args.energy_normalize = None
    args.tts_conf = dict(args.tts_conf, **overrides, **tts_conf)
    torch.manual_seed(0)
    model = ProsodyTTSTask.build_model(args).tts.eval()
    set_duration_output(model, log_frames=1.2, scale=0.3)  # about 1 to 6 frames a token
    return model


def set_duration_output(model, log_frames: float, scale: float):
    with torch.no_grad():
        model.duration_predictor.linear.weight.mul_(scale)
        model.duration_predictor.linear.bias.fill_(log_frames)


def text_batch(model, lengths=LENGTHS, seed: int = 1):
    """Random token sequences of the given lengths: each alone, and padded with eos appended."""
    g = torch.Generator().manual_seed(seed)
    texts = [torch.randint(1, model.eos, (n,), generator=g) for n in lengths]
    text = torch.zeros(len(texts), max(lengths), dtype=torch.long)
    for i, t in enumerate(texts):
        text[i, : len(t)] = t
    xs, ilens = append_eos(text, torch.tensor(lengths), model.eos)
    return texts, xs, ilens


def is_prosody(model) -> bool:
    return hasattr(model, "decoder_variance_input")


def random_conditioning(model, xs, seed: int = 2):
    """Random conditioning for every position, padding included (it must be ignored)."""
    if not is_prosody(model):
        return None
    g = torch.Generator().manual_seed(seed)
    return torch.randn(xs.size(0), xs.size(1), model.encoder.embed[0].embedding_dim, generator=g)


def espnet_alone(model, text, xs, ilens, conditioning, alpha, **speaker):
    """The model's own single-utterance inference: FastSpeech2.inference, or the plugin's
    _forward (what ProsodyFastSpeech2.inference runs) with the given conditioning."""
    if not is_prosody(model):
        out = model.inference(text, alpha=alpha, **speaker)
        return out["feat_gen"], out["duration"], out["pitch"], out["energy"]
    _, feats, d, p, e = model._forward(xs, ilens, is_inference=True, alpha=alpha, conditioning=conditioning)
    return feats[0], d[0], p[0], e[0]


def check_against_alone(model, texts, xs, ilens, conditioning=None, alpha=1.0, speakers=None) -> float:
    """Assert that every utterance of the batch gets its result alone; the largest mel difference."""
    speakers = speakers or [{} for _ in texts]
    batch_speaker = {k: torch.stack([s[k] for s in speakers]) for k in speakers[0]}
    with torch.no_grad():
        batch = batch_text_to_mel(model, xs, ilens, conditioning, alpha=alpha, **batch_speaker)
    assert batch["feat_gen"].shape[0] == len(texts) and batch["feat_gen"].shape[2] == model.odim
    assert batch["feat_gen"].shape[1] == int(batch["feat_lengths"].max())
    worst = 0.0
    for i, text in enumerate(texts):
        n = len(text) + 1
        one_x, one_l = xs[i : i + 1, :n], ilens[i : i + 1]
        one_c = None if conditioning is None else conditioning[i : i + 1, :n]
        one_speaker = {k: v[i : i + 1] for k, v in batch_speaker.items()}
        with torch.no_grad():
            ref_feats, ref_d, ref_p, ref_e = espnet_alone(
                model,
                text,
                one_x,
                one_l,
                one_c,
                alpha,
                **{k: v[0] if k == "spembs" else v for k, v in one_speaker.items()},
            )
            one = batch_text_to_mel(model, one_x, one_l, one_c, alpha=alpha, **one_speaker)
        # the batch of one is ESPnet's inference
        assert torch.equal(one["duration"][0], ref_d)
        assert int(one["feat_lengths"][0]) == ref_feats.size(0) == one["feat_gen"].size(1)
        assert torch.allclose(one["feat_gen"][0], ref_feats, atol=ATOL)
        # and the batch gives each utterance the same
        length = int(batch["feat_lengths"][i])
        assert torch.equal(batch["duration"][i, :n], ref_d), f"utterance {i}: durations differ in the batch"
        assert not batch["duration"][i, n:].any()
        assert length == ref_feats.size(0)
        diff = float((batch["feat_gen"][i, :length] - ref_feats).abs().max())
        assert diff < ATOL, f"utterance {i} ({n} tokens): mel differs by {diff} in the batch"
        assert not batch["feat_gen"][i, length:].any(), "padded frames are not zero"
        for key, ref in (("pitch", ref_p), ("energy", ref_e)):
            assert torch.allclose(batch[key][i, :n], ref, atol=ATOL)
            assert not batch[key][i, n:].any()
        worst = max(worst, diff, float((one["feat_gen"][0] - ref_feats).abs().max()))
    return worst


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These models are tiny: one thread is fastest, and on a shared CPU torch's threads
    spinning against other processes make the tests ten times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def model(request):
    return config_model(request.param)


@pytest.mark.parametrize("alpha", [1.0, 1.3])
def test_each_utterance_of_a_batch_as_alone(model, alpha):
    texts, xs, ilens = text_batch(model)
    worst = check_against_alone(model, texts, xs, ilens, random_conditioning(model, xs), alpha)
    print(f"max |mel batch - alone| = {worst:.2e}")


def test_the_batch_is_not_trivially_equal():
    """ESPnet's own _forward on the padded batch does differ from alone (what the function
    fixes); with a conformer and postnet, by far more than the tolerance."""
    model = config_model("fastspeech2_gpu")
    texts, xs, ilens = text_batch(model)
    with torch.no_grad():
        _, feats, d_outs, _, _ = model._forward(xs, ilens, is_inference=True)
        worst = 0.0
        for i, text in enumerate(texts):
            ref = model.inference(text)
            n = min(ref["feat_gen"].size(0), feats.size(1))
            worst = max(worst, float((feats[i, :n] - ref["feat_gen"][:n]).abs().max()))
    assert worst > 100 * ATOL


def test_utterances_predicted_to_be_empty():
    """An utterance whose durations are all zero gets one frame per token, as alone (ESPnet
    fills it only when the whole batch is zero), with alpha 1 (durations then returned
    filled, as ESPnet's in-place fill does) and not 1 (returned as predicted)."""
    model = config_model("fastspeech2_cpu")
    set_duration_output(model, log_frames=-20.0, scale=0.0)  # every duration 0
    texts, xs, ilens = text_batch(model)
    for alpha in (1.0, 2.0):
        check_against_alone(model, texts, xs, ilens, alpha=alpha)
    ds = torch.tensor([[0, 0, 0], [2, 1, 0], [0, 0, 0]])
    filled = regulated_durations(ds.clone(), torch.tensor([3, 2, 1]))
    assert filled.tolist() == [[1, 1, 1], [2, 1, 0], [1, 0, 0]]
    # alpha rounds half to even, as ESPnet's torch.round
    assert regulated_durations(torch.tensor([[1, 3, 5]]), torch.tensor([3]), 0.5).tolist() == [[0, 2, 2]]


def test_speakers_languages_and_reduction_factor():
    """Speaker ids, language ids and speaker embeddings, and a reduction factor of 2."""
    from espnet2.tts.fastspeech2 import FastSpeech2

    torch.manual_seed(0)
    model = FastSpeech2(
        idim=len(TOKENS),
        odim=20,
        adim=32,
        aheads=2,
        elayers=1,
        eunits=32,
        dlayers=1,
        dunits=32,
        positionwise_layer_type="conv1d",
        positionwise_conv_kernel_size=3,
        postnet_layers=2,
        postnet_chans=16,
        reduction_factor=2,
        spks=3,
        langs=2,
        spk_embed_dim=8,
        spk_embed_integration_type="concat",
        pitch_embed_kernel_size=3,
        energy_embed_kernel_size=3,
    ).eval()
    set_duration_output(model, log_frames=1.0, scale=0.3)
    texts, xs, ilens = text_batch(model)
    g = torch.Generator().manual_seed(3)
    speakers = [
        dict(sids=torch.tensor([i % 3]), lids=torch.tensor([i % 2]), spembs=torch.randn(8, generator=g))
        for i in range(len(texts))
    ]
    check_against_alone(model, texts, xs, ilens, alpha=1.2, speakers=speakers)  # 2 frames a step


@pytest.mark.parametrize("system", ["kathaka", "camp"])
def test_the_model_method_and_data_parallel_replicas(system):
    from test_gradient_paths import cpu_replicate

    model = config_model(f"{system}_cpu")
    texts, xs, ilens = text_batch(model)
    conditioning = random_conditioning(model, xs)
    with torch.no_grad():
        expected = batch_text_to_mel(model, xs, ilens, conditioning, alpha=1.1)
        for tts in [model, *cpu_replicate(model, 2)]:
            out = tts.batch_inference(xs, ilens, conditioning, alpha=1.1)
            assert torch.equal(out["duration"], expected["duration"])
            assert torch.allclose(out["feat_gen"], expected["feat_gen"], atol=1e-6)


def test_unsupported_options_are_named():
    model = config_model("fastspeech2_cpu")
    texts, xs, ilens = text_batch(model)
    with pytest.raises(ValueError, match="takes no prosody conditioning"):
        batch_text_to_mel(model, xs, ilens, conditioning=torch.zeros(*xs.shape, 128))
    with pytest.raises(ValueError, match="eval"):
        batch_text_to_mel(model.train(), xs, ilens)
    legacy = config_model("fastspeech2_gpu", conformer_rel_pos_type="legacy")
    with pytest.raises(ValueError, match="legacy_rel_pos"):
        batch_text_to_mel(legacy, xs, ilens)


@pytest.mark.parametrize("system", ["kathaka", "camp"])
def test_prosody_through_the_variance_adaptor_only(system):
    """``condition_decoder: false``: the batch still gives each utterance its result alone."""
    model = config_model(f"{system}_cpu", condition_decoder=False)
    texts, xs, ilens = text_batch(model)
    check_against_alone(model, texts, xs, ilens, random_conditioning(model, xs))
