"""Prosody through the variance adaptor only (``condition_decoder: false``), the duration
sum losses (``duration_word_loss_weight``, ``duration_sentence_loss_weight``) and the dev-set
speed calibration (``prosody.sh --duration_calibration``)."""

import math

import pytest
import torch
import yaml
from conftest import build_model, tts_inputs

from prosody_plugin.bin.calibrate_speed import main as calibrate_speed_main
from prosody_plugin.decode import speed_calibration
from prosody_plugin.tts.duration_sums import duration_sum_losses


def log_durations(frames: torch.Tensor, offset: float = 1.0) -> torch.Tensor:
    return torch.log(frames.float() + offset)


def test_sum_losses_are_zero_on_exact_sums_even_when_phones_differ():
    recorded = torch.tensor([[3, 1, 4, 2, 0], [5, 5, 2, 0, 0]])
    ilens = torch.tensor([5, 3])
    words = torch.tensor([[0, 0, 1, 1, 1], [0, 1, 1, -1, -1]])
    # the phones of each word trade frames, every word sum stays
    predicted = torch.tensor([[1, 3, 2, 4, 0], [5, 3, 4, 9, 9]])
    word_loss, sentence_loss = duration_sum_losses(log_durations(predicted), recorded, ilens, words)
    assert float(word_loss) == pytest.approx(0.0, abs=1e-10)
    assert float(sentence_loss) == pytest.approx(0.0, abs=1e-10)


def test_sum_losses_known_answer_and_gradient():
    recorded = torch.tensor([[2, 2, 4], [6, 0, 0]])
    ilens = torch.tensor([3, 1])
    words = torch.tensor([[0, 0, 1], [0, -1, -1]])
    d_outs = log_durations(recorded * 2).requires_grad_(True)  # every phone twice as long
    word_loss, sentence_loss = duration_sum_losses(d_outs, recorded, ilens, words)
    # words: 4 -> 8, 4 -> 8, 6 -> 12; sentences: 8 -> 16, 6 -> 12
    expected_words = (2 * math.log(9 / 5) ** 2 + math.log(13 / 7) ** 2) / 3
    expected_sentences = (math.log(17 / 9) ** 2 + math.log(13 / 7) ** 2) / 2
    assert float(word_loss) == pytest.approx(expected_words, rel=1e-5)
    assert float(sentence_loss) == pytest.approx(expected_sentences, rel=1e-5)
    (word_loss + sentence_loss).backward()
    assert (d_outs.grad[0] > 0).all() and d_outs.grad[1, 0] > 0  # longer predictions are pushed down
    assert not d_outs.grad[1, 1:].any()  # padding gets no gradient
    no_words, sentence_only = duration_sum_losses(d_outs, recorded, ilens, None)
    assert float(no_words) == 0.0 and float(sentence_only) == pytest.approx(expected_sentences, rel=1e-5)


@pytest.mark.parametrize("tts", ["kathaka", "camp"])
def test_duration_sum_terms_enter_the_loss(tts, batch):
    plain = build_model(tts)
    torch.manual_seed(0)
    model = build_model(tts, duration_word_loss_weight=2.0, duration_sentence_loss_weight=1.0)
    model.load_state_dict(plain.state_dict())
    terms, _ = model.tts.losses(**tts_inputs(model, batch))
    assert {"duration_word_loss", "duration_sentence_loss"} <= set(terms)
    assert all(float(terms[k]) > 0 for k in ("duration_word_loss", "duration_sentence_loss"))
    _, stats, _ = model(**batch)
    assert "duration_word_loss" in stats and "duration_word_loss" not in plain(**batch)[1]
    model.eval()  # the loss is the sum of the terms, the new ones included
    inputs = tts_inputs(model, batch)
    with torch.no_grad():
        torch.manual_seed(1)
        terms = model.tts.losses(**inputs)[0]
        torch.manual_seed(1)
        assert float(model.tts(**inputs)[0]) == pytest.approx(sum(float(v) for v in terms.values()), rel=1e-6)
    model.train()
    terms, _ = model.tts.losses(**tts_inputs(model, batch))
    terms["duration_word_loss"].backward()
    assert model.tts.duration_predictor.linear.weight.grad.abs().sum() > 0


def test_negative_weights_are_refused():
    with pytest.raises(ValueError, match="duration_word_loss_weight"):
        build_model("kathaka", duration_word_loss_weight=-1.0)


def _teacher_forced_mel(model, batch, prosody, use_teacher_forcing=True):
    inputs = tts_inputs(model, batch)
    n = int(batch["text_lengths"][0])
    with torch.no_grad():
        return model.tts.inference(
            inputs["text"][0, :n],
            durations=inputs["durations"][0, : n + 1],
            pitch=inputs["pitch"][0, : n + 1],
            energy=inputs["energy"][0, : n + 1],
            use_teacher_forcing=use_teacher_forcing,
            prosody=prosody,
        )["feat_gen"]


@pytest.mark.parametrize("tts, shape", [("kathaka", (4,)), ("camp", (2, 3))])
def test_without_the_decoder_route_the_mel_depends_on_prosody_only_through_the_variances(tts, shape, batch):
    g = torch.Generator().manual_seed(0)
    first, second = torch.randn(*shape, generator=g), 3 * torch.randn(*shape, generator=g)
    for condition_decoder in (True, False):
        torch.manual_seed(0)
        model = build_model(tts, condition_decoder=condition_decoder).eval()
        a, b = _teacher_forced_mel(model, batch, first), _teacher_forced_mel(model, batch, second)
        if condition_decoder:  # today's routing: the representation reaches the decoder directly
            assert not torch.allclose(a, b, atol=1e-4)
        else:  # durations, pitch and energy held: the mel is the same
            assert torch.allclose(a, b, atol=1e-6)
            # and it still moves the durations, pitch and energy the decoder is given
            free_a = _teacher_forced_mel(model, batch, first, use_teacher_forcing=False)
            free_b = _teacher_forced_mel(model, batch, second, use_teacher_forcing=False)
            assert free_a.shape != free_b.shape or not torch.allclose(free_a, free_b, atol=1e-4)


def test_without_the_decoder_route_the_representation_is_trained_through_the_variances(batch):
    torch.manual_seed(0)
    model = build_model("camp", condition_decoder=False, decoder_variance_input="ground_truth")
    terms, _ = model.tts.losses(**tts_inputs(model, batch))
    # teacher forcing + no decoder route: the mel loss reaches no prosody parameter
    terms["l1_loss"].backward(retain_graph=True)
    assert all(p.grad is None or not p.grad.any() for p in model.tts.word_encoder.parameters())
    terms["pitch_loss"].backward()
    assert any(p.grad is not None and p.grad.any() for p in model.tts.word_encoder.parameters())


def test_camp_word_kl_bottleneck(batch):
    torch.manual_seed(0)
    model = build_model("camp", word_kl_weight=0.5)
    inputs = tts_inputs(model, batch)
    terms, stats = model.tts.losses(**inputs)
    assert float(terms["prosody_loss"]) > 0 and float(stats["word_kl"]) > 0
    terms["prosody_loss"].backward()
    assert model.tts.word_encoder.output.weight.grad.abs().sum() > 0
    # targets, references and inference use the posterior mean: (words, D) and deterministic
    model.eval()
    xs, ilens = model.tts._tokens_with_eos(inputs["text"], inputs["text_lengths"])
    args = (
        xs,
        ilens,
        inputs["feats"],
        inputs["feats_lengths"],
        inputs["durations"],
        inputs["pitch"],
        inputs["energy"],
    )
    with torch.no_grad():
        targets = model.tts.prosody_target(*args)
        assert [tuple(t.shape) for t in targets] == [(2, 3), (2, 3)]
        first = model.tts._training_conditioning(*args, None, None)[0]
        again = model.tts._training_conditioning(*args, None, None)[0]
    assert torch.equal(first, again)
    model.train()
    with torch.no_grad():  # training decodes samples around the mean
        sampled = model.tts._training_conditioning(*args, None, None)[0]
    assert not torch.allclose(sampled, first)
    with pytest.raises(ValueError, match="word_kl_weight"):
        build_model("camp", word_kl_weight=-0.1)


def test_camp_word_dropout_zeroes_whole_words_in_training_only(batch):
    torch.manual_seed(0)
    model = build_model("camp", word_dropout=1.0)
    inputs = tts_inputs(model, batch)
    xs, ilens = model.tts._tokens_with_eos(inputs["text"], inputs["text_lengths"])
    args = (
        xs,
        ilens,
        inputs["feats"],
        inputs["feats_lengths"],
        inputs["durations"],
        inputs["pitch"],
        inputs["energy"],
    )
    with torch.no_grad():
        dropped = model.tts._training_conditioning(*args, None, None)[0]
        # every word says nothing: each token gets the projection of a zero embedding
        zero = model.tts._word_conditioning(torch.zeros(2, 2, 3), xs, ilens)
        assert torch.allclose(dropped, zero)
        model.eval()  # references, targets and inference keep every word
        kept = model.tts._training_conditioning(*args, None, None)[0]
        assert not torch.allclose(kept, zero)
    with pytest.raises(ValueError, match="word_dropout"):
        build_model("camp", word_dropout=1.5)


def test_speed_calibration_known_answers():
    decoded = {"a": [2, 2, 0], "b": [1, 1]}
    recorded = {"a": [3, 3, 1], "b": [1, 1], "unused": [50]}
    assert speed_calibration(decoded, recorded) == pytest.approx(9 / 6)
    # decoded at alpha 2 already: the calibrated alpha is relative to no scaling
    assert speed_calibration(decoded, recorded, alpha=2.0) == pytest.approx(18 / 6)
    with pytest.raises(ValueError, match="c"):
        speed_calibration({**decoded, "c": [1]}, recorded)
    with pytest.raises(ValueError, match="no frames"):
        speed_calibration({"a": [0, 0, 0]}, recorded)


def test_calibrate_speed_cli_writes_the_alpha_that_decoding_reads(tmp_path):
    (tmp_path / "decoded").write_text("u1 2 2\nu2 4 0\n")
    (tmp_path / "recorded").write_text("u1 3 3\nu2 5 1\nu3 7\n")
    (tmp_path / "decode.yaml").write_text("speed_control_alpha: 1.5\n")
    out = tmp_path / "exp" / "speed_calibration.yaml"
    calibrate_speed_main(
        [
            "--decoded",
            str(tmp_path / "decoded"),
            "--recorded",
            str(tmp_path / "recorded"),
            "--inference_config",
            str(tmp_path / "decode.yaml"),
            "--output",
            str(out),
        ]
    )
    assert yaml.safe_load(out.read_text()) == {"speed_control_alpha": pytest.approx(1.5 * 12 / 8)}
