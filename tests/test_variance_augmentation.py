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
    edited = augmentation.edit_magnitudes(mags, torch.tensor([0.0, 2.0, 0.0]), torch.tensor([6.0, -6.0, 0.0]), FS)
    gains = edited.norm(dim=-1) / mags.norm(dim=-1)
    assert torch.allclose(gains[0], torch.full_like(gains[0], 10 ** (6 / 20)), rtol=1e-4)
    assert torch.allclose(gains[1], torch.full_like(gains[1], 10 ** (-6 / 20)), rtol=1e-4)
    assert torch.equal(edited[2], mags[2])


def test_draws_respect_probability_and_limits():
    torch.manual_seed(0)
    semitones, db = VarianceAugmentation(probability=0.5, max_semitones=3.0, max_db=2.0).draw(4000, torch.device("cpu"))
    assert semitones.abs().max() <= 3.0 and db.abs().max() <= 2.0
    assert 0.45 < float((semitones != 0).float().mean()) < 0.55
    assert 0.45 < float((db != 0).float().mean()) < 0.55
    never = VarianceAugmentation(probability=0.0).draw(100, torch.device("cpu"))
    assert all(bool((v == 0).all()) for v in never)


@pytest.mark.parametrize(
    "conf, message",
    [({"probability": 2.0}, "probability"), ({"max_semitone": 2}, "max_semitone"), ({"max_db": -1}, "max_db")],
)
def test_bad_configuration_is_refused_by_name(conf, message):
    with pytest.raises(ValueError, match=message):
        build_variance_augmentation(conf)


def augmented_model(system: str, **conf):
    """The recipe's model of ``system`` with the augmentation always on, in training mode."""
    import prosody_plugin  # noqa: F401
    from prosody_plugin.tasks.tts import ProsodyTTSTask

    from conftest import TOKENS

    parser = ProsodyTTSTask.get_parser()
    args = parser.parse_args(
        ["--config", str(RECIPE_CONF / f"train_{system}_cpu.yaml"), "--token_list", "none", "--output_dir", "none"]
    )
    args.token_list = list(TOKENS)
    args.normalize = args.pitch_normalize = args.energy_normalize = None
    args.variance_augmentation = dict(dict(probability=1.0), **conf)
    torch.manual_seed(0)
    return ProsodyTTSTask.build_model(args).train()


def test_espnet_loaders_ignore_the_option(tmp_path):
    """A model trained with the augmentation loads in ESPnet's own TTSTask (Text2Speech, the zoo)."""
    import yaml
    from espnet2.tasks.tts import TTSTask

    from prosody_plugin.tasks.tts import ProsodyTTSTask

    from conftest import TOKENS

    # config.yaml as the trainer writes it: every argument of the plugin's parser
    args = ProsodyTTSTask.get_parser().parse_args(
        ["--config", str(RECIPE_CONF / "train_fastspeech2_cpu.yaml"), "--token_list", "none", "--output_dir", "none",
         "--variance_augmentation", "probability=0.5"]
    )  # fmt: skip
    args.token_list = list(TOKENS)
    args.normalize = args.pitch_normalize = args.energy_normalize = None
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(vars(args)))
    model, args = TTSTask.build_model_from_file(path, None, "cpu")
    assert args.variance_augmentation == dict(probability=0.5)
    assert type(model).__name__ == "ESPnetTTSModel"


def capture(module: torch.nn.Module, store: list, kwargs: bool = False):
    """Record the inputs of a real module's calls (it still runs)."""
    if kwargs:
        return module.register_forward_pre_hook(lambda m, a, k: store.append(k), with_kwargs=True)
    return module.register_forward_pre_hook(lambda m, a: store.append(a))


def test_prosody_model_decoder_follows_the_edit_and_the_encoder_sees_the_recording():
    model = augmented_model("camp", max_db=0.0)
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
        assert torch.allclose(gain, gain[0].expand(n), rtol=1e-4) and 10 ** (-6 / 20) <= float(gain[0]) <= 10 ** (6 / 20)
    assert not torch.allclose(moved["feats"], plain["feats"])
