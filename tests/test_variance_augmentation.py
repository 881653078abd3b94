"""The training augmentation that teaches the decoder to follow its pitch and energy inputs.

Known answers on a synthetic vowel (harmonics under a formant): the pitch shift moves the
harmonics by the asked ratio, keeps the formant and each frame's energy; the gain scales
the energy. In the models: the decoder's target is the moved mel and its pitch and energy
inputs move by the same edit as the inference controls, while the prosody encoder and the
predictors' targets see the recording as it was.
"""

import math

import pytest
import torch
from conftest import waveform_batch
from test_gradient_paths import FS, HOP, RECIPE_CONF  # noqa: F401  (the recipe's frontend)

from prosody_plugin.tts.variance_augmentation import VarianceAugmentation, build_variance_augmentation

N_FFT = 1024


def vowel(f0: float = 200.0, formant: float = 800.0, seconds: float = 0.5) -> torch.Tensor:
    """Harmonics of f0 with amplitudes under one Gaussian formant."""
    t = torch.arange(int(FS * seconds)) / FS
    wav = torch.zeros_like(t)
    for k in range(1, int(4000 / f0)):
        amplitude = math.exp(-(((k * f0 - formant) / 300.0) ** 2)) + 0.02
        wav += amplitude * torch.sin(2 * math.pi * k * f0 * t)
    return wav


def magnitudes(wav: torch.Tensor) -> torch.Tensor:
    """(1, T, F) STFT magnitudes with the recipe's window."""
    spec = torch.stft(wav, N_FFT, HOP, window=torch.hann_window(N_FFT), return_complex=True)
    return spec.abs().T[None]


def hz(bin_index) -> float:
    return float(bin_index) * FS / N_FFT


def test_pitch_shift_moves_the_harmonics_and_keeps_formant_and_energy():
    augmentation = VarianceAugmentation()
    mags = magnitudes(vowel())
    frame = mags.size(1) // 2
    for semitones in (4.0, -3.0):
        edited = augmentation.edit_magnitudes(mags, torch.tensor([semitones]), torch.tensor([0.0]), FS)
        spectrum = edited[0, frame]
        # the harmonic nearest the formant, and the first harmonic, move by 2 ** (st / 12)
        ratio = 2.0 ** (semitones / 12.0)
        low, high = int(140 * N_FFT / FS), int(300 * N_FFT / FS)
        first = hz(low + int(spectrum[low:high].argmax()))
        assert first == pytest.approx(200.0 * ratio, abs=FS / N_FFT)
        # the envelope (formant) stays: the strongest harmonic is still the one nearest 800 Hz
        strongest = hz(int(spectrum.argmax()))
        nearest = min((k * 200.0 * ratio for k in range(1, 20)), key=lambda f: abs(f - 800.0))
        assert strongest == pytest.approx(nearest, abs=2 * FS / N_FFT)
        # each frame keeps its energy (ESPnet's Energy: the L2 norm over frequency)
        assert torch.allclose(edited.norm(dim=-1), mags.norm(dim=-1), rtol=1e-4)


def test_gain_scales_the_energy_and_no_edit_changes_nothing():
    augmentation = VarianceAugmentation()
    mags = magnitudes(vowel()).repeat(3, 1, 1)
    edited = augmentation.edit_magnitudes(
        mags, torch.tensor([0.0, 2.0, 0.0]), torch.tensor([6.0, -6.0, 0.0]), FS
    )
    gains = edited.norm(dim=-1) / mags.norm(dim=-1)
    assert torch.allclose(gains[0], torch.full_like(gains[0], 10 ** (6 / 20)), rtol=1e-4)
    assert torch.allclose(gains[1], torch.full_like(gains[1], 10 ** (-6 / 20)), rtol=1e-4)
    assert torch.equal(edited[2], mags[2])


def test_draws_respect_probability_and_limits():
    torch.manual_seed(0)
    augmentation = VarianceAugmentation(probability=0.5, max_semitones=3.0, max_db=2.0, max_range=1.5)
    semitones, db, ranges = augmentation.draw(4000, torch.device("cpu"))
    assert semitones.abs().max() <= 3.0 and db.abs().max() <= 2.0
    assert ranges.min() >= 1 / 1.5 - 1e-6 and ranges.max() <= 1.5 + 1e-6
    for drawn in (semitones != 0, db != 0, ranges != 1):
        assert 0.45 < float(drawn.float().mean()) < 0.55
    semitones, db, ranges = VarianceAugmentation(probability=0.0).draw(100, torch.device("cpu"))
    assert bool((semitones == 0).all() and (db == 0).all() and (ranges == 1).all())


def test_a_range_moves_each_frame_by_its_tokens_distance_from_the_mean():
    augmentation = VarianceAugmentation()
    pitch = torch.tensor([[1.0, 3.0, 2.0, 0.0]])[..., None]  # normalised; the last token is padding
    pad = torch.tensor([[False, False, False, True]])[..., None]
    durations = torch.tensor([[2, 1, 3, 0]])
    frames = augmentation.frame_semitones(
        torch.tensor([1.0]), torch.tensor([2.0]), pitch, durations, pad, 0.1, 7
    )
    # mean 2; (range - 1) * (p - mean) * std in log-F0 -> semitones, plus the shift
    per_token = [1.0 + (p - 2.0) * 0.1 * 12 / math.log(2.0) for p in (1.0, 3.0, 2.0)]
    expected = torch.tensor([per_token[0]] * 2 + [per_token[1]] + [per_token[2]] * 3 + [0.0])
    torch.testing.assert_close(frames[0], expected)
    # per-frame shifts: each frame's harmonics move by its own ratio
    mags = magnitudes(vowel())
    shifts = torch.zeros(1, mags.size(1))
    shifts[0, mags.size(1) // 2 :] = 4.0
    edited = augmentation.edit_magnitudes(mags, shifts, torch.tensor([0.0]), FS)
    torch.testing.assert_close(edited[0, 2], mags[0, 2], rtol=1e-3, atol=1e-4)  # unshifted frames stay
    low, high = int(140 * N_FFT / FS), int(300 * N_FFT / FS)
    first = hz(low + int(edited[0, -3, low:high].argmax()))
    assert first == pytest.approx(200.0 * 2 ** (4 / 12), abs=FS / N_FFT)


@pytest.mark.parametrize(
    "conf, message",
    [
        ({"probability": 2.0}, "probability"),
        ({"max_semitone": 2}, "max_semitone"),
        ({"max_db": -1}, "max_db"),
        ({"max_range": 0.5}, "max_range"),
    ],
)
def test_bad_configuration_is_refused_by_name(conf, message):
    with pytest.raises(ValueError, match=message):
        build_variance_augmentation(conf)


def augmented_model(system: str, tts_conf: dict = None, **conf):
    """The recipe's model of ``system`` with the augmentation always on, in training mode."""
    from conftest import TOKENS

    import prosody_plugin  # noqa: F401
    from prosody_plugin.tasks.tts import ProsodyTTSTask

    parser = ProsodyTTSTask.get_parser()
    args = parser.parse_args(
        [
            "--config",
            str(RECIPE_CONF / f"train_{system}_cpu.yaml"),
            "--token_list",
            "none",
            "--output_dir",
            "none",
        ]
    )
    args.token_list = list(TOKENS)
    args.normalize = args.pitch_normalize = args.energy_normalize = None
    args.variance_augmentation = dict(dict(probability=1.0), **conf)
    args.tts_conf = dict(args.tts_conf, **(tts_conf or {}))
    torch.manual_seed(0)
    return ProsodyTTSTask.build_model(args).train()


def test_espnet_loaders_ignore_the_option(tmp_path):
    """A model trained with the augmentation loads in ESPnet's own TTSTask (Text2Speech, the zoo)."""
    import yaml
    from conftest import TOKENS
    from espnet2.tasks.tts import TTSTask

    from prosody_plugin.tasks.tts import ProsodyTTSTask

    # config.yaml as the trainer writes it: every argument of the plugin's parser
    args = ProsodyTTSTask.get_parser().parse_args(
        [
            "--config",
            str(RECIPE_CONF / "train_fastspeech2_cpu.yaml"),
            "--token_list",
            "none",
            "--output_dir",
            "none",
            "--variance_augmentation",
            "probability=0.5",
        ]
    )
    args.token_list = list(TOKENS)
    args.normalize = args.pitch_normalize = args.energy_normalize = None
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(vars(args)))
    model, args = TTSTask.build_model_from_file(path, None, "cpu")
    recipe = yaml.safe_load((RECIPE_CONF / "train_fastspeech2_cpu.yaml").read_text())["variance_augmentation"]
    assert args.variance_augmentation == dict(recipe, probability=0.5)
    assert type(model).__name__ == "ESPnetTTSModel"


def capture(module: torch.nn.Module, store: list, kwargs: bool = False):
    """Record the inputs of a real module's calls (it still runs)."""
    if kwargs:
        return module.register_forward_pre_hook(lambda m, a, k: store.append(k), with_kwargs=True)
    return module.register_forward_pre_hook(lambda m, a: store.append(a))


def test_prosody_model_decoder_follows_the_edit_and_the_encoder_sees_the_recording():
    # the decoder given the predicted pitch (the recipe's is given the recorded one): the
    # edit it gets is then visible against the pitch predictor's output
    model = augmented_model("camp", tts_conf=dict(decoder_variance_input="predicted"), max_db=0.0)
    batch = waveform_batch(FS, HOP)
    original, _ = model.feats_extract(batch["speech"], batch["speech_lengths"])
    encoder_inputs, pitch_inputs, predictions, targets = [], [], [], []
    capture(model.tts.word_encoder, encoder_inputs)
    capture(model.tts.pitch_embed, pitch_inputs)
    model.tts.pitch_predictor.register_forward_hook(lambda m, a, out: predictions.append(out))
    capture(model.tts.criterion, targets, kwargs=True)
    torch.manual_seed(1)
    loss, _, _ = model(**batch)
    assert torch.isfinite(loss)
    # the prosody encoder reads the recording as it was
    assert torch.allclose(encoder_inputs[0][0], original[:, : encoder_inputs[0][0].size(1)])
    # the decoder's target is the moved recording; the pitch predictor's target is not moved
    ys = targets[0]["ys"]
    assert not torch.allclose(ys, original[:, : ys.size(1)])
    # the decoder reads the prediction moved by the drawn shift, the same on every token
    shift = pitch_inputs[0][0].transpose(1, 2) - predictions[0]
    for i, n in enumerate((batch["text_lengths"] + 1).tolist()):
        per_token = shift[i, :n, 0]
        assert torch.allclose(per_token, per_token[0].expand(n), atol=1e-5)
        semitones = float(per_token[0]) * 12.0 / math.log(2.0)  # no normalisation here
        assert 0.0 < abs(semitones) <= 4.0


def test_a_drawn_range_scales_the_decoders_pitch_around_the_mean():
    model = augmented_model(
        "camp",
        tts_conf=dict(decoder_variance_input="predicted"),
        max_semitones=0.0,
        max_db=0.0,
        max_range=2.0,
    )
    batch = waveform_batch(FS, HOP)
    pitch_inputs, predictions = [], []
    capture(model.tts.pitch_embed, pitch_inputs)
    model.tts.pitch_predictor.register_forward_hook(lambda m, a, out: predictions.append(out.detach()))
    torch.manual_seed(1)
    model(**batch)
    given = pitch_inputs[0][0].detach().transpose(1, 2)
    for i, n in enumerate((batch["text_lengths"] + 1).tolist()):
        p, q = predictions[0][i, :n, 0], given[i, :n, 0]
        # q = m + range * (p - m): a line through the mean with the drawn slope
        slope = float(((q - q.mean()) * (p - p.mean())).sum() / ((p - p.mean()) ** 2).sum())
        assert 0.5 <= slope <= 2.0 and abs(slope - 1.0) > 1e-3
        torch.testing.assert_close(q, p.mean() + slope * (p - p.mean()), atol=1e-4, rtol=1e-4)


def test_espnet_fastspeech2_gets_the_moved_targets():
    """ESPnet's FastSpeech2 takes no extra inputs: its teacher-forced decoder gets the moved
    mel, pitch and energy as its targets."""
    model = augmented_model("fastspeech2")
    batch = waveform_batch(FS, HOP)
    calls = []
    capture(model.tts, calls, kwargs=True)
    torch.manual_seed(1)
    model(**batch)
    moved = calls[0]
    model.eval()
    calls.clear()
    with torch.no_grad():
        model(**batch)
    plain = calls[0]
    for i, n in enumerate((batch["text_lengths"] + 1).tolist()):
        shift = (moved["pitch"] - plain["pitch"])[i, :n, 0] * 12.0 / math.log(2.0)
        assert torch.allclose(shift, shift[0].expand(n), atol=1e-4) and 0.0 < abs(float(shift[0])) <= 4.0
        gain = moved["energy"][i, :n, 0] / plain["energy"][i, :n, 0]
        assert torch.allclose(gain, gain[0].expand(n), rtol=1e-4) and 10 ** (-6 / 20) <= float(
            gain[0]
        ) <= 10 ** (6 / 20)
    assert not torch.allclose(moved["feats"], plain["feats"])
