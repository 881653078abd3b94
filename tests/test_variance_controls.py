"""Prosody controls on the variance adaptor: known answers in natural units, per word, batched."""

import math

import numpy as np
import pytest
import torch
from espnet2.layers.global_mvn import GlobalMVN
from test_batch_inference import config_model, text_batch

from prosody_plugin.tts.batch_inference import batch_text_to_mel
from prosody_plugin.tts.variance_controls import NEUTRAL, VarianceControls, token_controls


def global_mvn(tmp_path, name: str, mean: float, std: float) -> GlobalMVN:
    """ESPnet's GlobalMVN of one dimension with these statistics (as stage 5 writes them)."""
    count = 1000.0
    path = tmp_path / f"{name}_stats.npz"
    np.savez(
        path, count=count, sum=np.array([mean * count]), sum_square=np.array([(std**2 + mean**2) * count])
    )
    return GlobalMVN(path)


def natural_controls(batch: int, length: int, **values) -> dict:
    return {
        name: torch.full((batch, length), float(values.get(name, neutral)))
        for name, neutral in NEUTRAL.items()
    }


@pytest.fixture
def normalizers(tmp_path):
    return global_mvn(tmp_path, "pitch", mean=5.3, std=0.25), global_mvn(
        tmp_path, "energy", mean=40.0, std=12.0
    )


def denorm(mvn: GlobalMVN, x: torch.Tensor) -> torch.Tensor:
    return x * mvn.std.float() + mvn.mean.float()


def norm(mvn: GlobalMVN, x: torch.Tensor) -> torch.Tensor:
    return (x - mvn.mean.float()) / mvn.std.float()


def test_controls_give_their_known_answers_in_natural_units(normalizers):
    pitch_mvn, energy_mvn = normalizers
    log_f0 = torch.tensor([[5.0, 5.4, 5.2, 5.8]])  # natural log-F0
    energy = torch.tensor([[10.0, 50.0, 30.0, 5.0]])
    durations = torch.tensor([[3, 4, 0, 7]])
    pad = torch.zeros(1, 4, 1, dtype=torch.bool)
    p, e = norm(pitch_mvn, log_f0)[..., None], norm(energy_mvn, energy)[..., None]

    def run(**values):
        controls = VarianceControls.from_natural(
            **natural_controls(1, 4, **values), pitch_normalize=pitch_mvn, energy_normalize=energy_mvn
        )
        scale, p2, e2 = controls.apply(durations, p, e, pad)
        return scale, denorm(pitch_mvn, p2[..., 0]), denorm(energy_mvn, e2[..., 0])

    scale, p_same, e_same = run()
    assert torch.equal(scale, torch.ones(1, 4))
    assert torch.allclose(p_same, log_f0, atol=1e-5) and torch.allclose(e_same, energy, atol=1e-4)
    _, p_up, _ = run(pitch_semitones=12.0)  # one octave: twice the F0
    assert torch.allclose(p_up - log_f0, torch.full_like(log_f0, math.log(2.0)), atol=1e-5)
    _, p_down, _ = run(pitch_semitones=-2.0)  # -200 cents
    assert torch.allclose(
        (p_down - log_f0) * 1200 / math.log(2.0), torch.full_like(log_f0, -200.0), atol=1e-3
    )
    _, p_flat, _ = run(pitch_range=0.0)
    assert torch.allclose(p_flat, log_f0.mean().expand_as(log_f0), atol=1e-5)
    _, p_wide, _ = run(pitch_range=2.0)
    assert torch.allclose(p_wide - log_f0.mean(), 2 * (log_f0 - log_f0.mean()), atol=1e-5)
    _, _, e_loud = run(energy_db=6.0)
    assert torch.allclose(e_loud / energy, torch.full_like(energy, 10 ** (6 / 20)), atol=1e-5)
    scale, _, _ = run(rate=0.8)
    assert torch.allclose(scale, torch.full((1, 4), 1.25))


def test_invalid_controls_are_refused_by_name():
    with pytest.raises(ValueError, match="rate must be positive"):
        VarianceControls.from_natural(**natural_controls(1, 3, rate=0.0))
    with pytest.raises(ValueError, match="pitch_range must be >= 0"):
        VarianceControls.from_natural(**natural_controls(1, 3, pitch_range=-1.0))
    with pytest.raises(ValueError, match="unknown control 'speed'"):
        token_controls(3, {"speed": 2.0})
    with pytest.raises(ValueError, match=r"word 5: the text has 2 words \(0..1\)"):
        token_controls(3, {}, {5: {"rate": 2.0}}, [0, 0, 1], [True, False, True])


def test_word_controls_act_on_that_words_phones_and_compose_with_the_global_ones():
    # tokens: w0 w0 <space> w1 w1 , (eos appended by token_controls)
    word_ids, phones = [0, 0, 0, 1, 1, 1], [True, True, False, True, True, False]
    values = token_controls(
        6, {"rate": 0.5, "pitch_semitones": 1.0}, {1: {"rate": 0.5, "pitch_semitones": 2.0}}, word_ids, phones
    )
    assert values["rate"].tolist() == [0.5, 0.5, 0.5, 0.25, 0.25, 0.5, 0.5]  # eos keeps the global value
    assert values["pitch_semitones"].tolist() == [1.0, 1.0, 1.0, 3.0, 3.0, 1.0, 1.0]
    assert values["energy_db"].tolist() == [0.0] * 7


@pytest.mark.parametrize("name", ["kathaka_cpu", "fastspeech2_gpu"])
def test_batched_controls_give_each_item_its_result_alone(name):
    model = config_model(name)
    _, xs, ilens = text_batch(model)
    b, t = xs.shape
    cond = (
        None
        if not hasattr(model, "decoder_variance_input")
        else torch.zeros(b, t, model.encoder.embed[0].embedding_dim)
    )
    plain = batch_text_to_mel(model, xs, ilens, conditioning=cond)
    neutral = batch_text_to_mel(
        model, xs, ilens, conditioning=cond, controls=VarianceControls.from_natural(**natural_controls(b, t))
    )
    for key in ("feat_gen", "duration", "pitch", "energy"):
        assert torch.allclose(plain[key].float(), neutral[key].float(), atol=1e-5), key
    g = torch.Generator().manual_seed(3)
    natural = dict(
        rate=torch.rand(b, t, generator=g) + 0.5,
        pitch_semitones=torch.randn(b, t, generator=g) * 3,
        pitch_range=torch.rand(b, t, generator=g) * 2,
        energy_db=torch.randn(b, t, generator=g) * 4,
    )
    batch = batch_text_to_mel(
        model, xs, ilens, conditioning=cond, controls=VarianceControls.from_natural(**natural)
    )
    assert torch.equal(
        batch["duration"], torch.round(plain["duration"] / natural["rate"]).long().masked_fill(xs == 0, 0)
    )
    for i, n in enumerate(ilens.tolist()):
        alone = batch_text_to_mel(
            model,
            xs[i : i + 1, :n],
            ilens[i : i + 1],
            conditioning=None if cond is None else cond[i : i + 1, :n],
            controls=VarianceControls.from_natural(**{k: v[i : i + 1, :n] for k, v in natural.items()}),
        )
        frames = int(batch["feat_lengths"][i])
        assert frames == int(alone["feat_lengths"][0])
        assert torch.equal(batch["duration"][i, :n], alone["duration"][0])
        assert torch.allclose(batch["pitch"][i, :n], alone["pitch"][0], atol=1e-5)
        assert torch.allclose(batch["feat_gen"][i, :frames], alone["feat_gen"][0], atol=1e-4)
