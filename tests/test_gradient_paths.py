"""Does the learning signal reach the prosody representation? Built from the recipe configs.

Every FastSpeech2 loss term (mel L1, duration, pitch, energy) must send gradient into the
prosody encoder of Kathaka and CAMP as the Asterisk recipe trains them, and multi-GPU
training (``torch.nn.DataParallel`` replicas) must use the prosody input.
"""

from pathlib import Path

import pytest
import torch
from conftest import TOKENS, tts_inputs, waveform_batch

RECIPE_CONF = Path(__file__).resolve().parents[1] / "egs2" / "asterisk" / "prosody1" / "conf"
FS, HOP = 16000, 256  # the recipe's
PROSODY_ENCODERS = {"kathaka": ("reference_encoder", "posterior"), "camp": ("word_encoder",)}
LOSS_TERMS = ("l1_loss", "duration_loss", "pitch_loss", "energy_loss")


def recipe_model(system: str, **tts_conf):
    """The model of ``conf/train_<system>_cpu.yaml`` with the test token list (no stats file:
    normalisation off, everything else as the recipe trains it)."""
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
    args.tts_conf = dict(args.tts_conf, **tts_conf)
    torch.manual_seed(0)
    return ProsodyTTSTask.build_model(args)


def gradient_norms(model, system: str, batch) -> dict:
    """Norm of the gradient each loss term alone sends into the prosody encoder and the text encoder."""
    terms, _ = model.tts.losses(**tts_inputs(model, batch))
    norms = {}
    for name in LOSS_TERMS:
        model.zero_grad()
        terms[name].backward(retain_graph=True)
        prosody = [p.grad for m in PROSODY_ENCODERS[system] for p in getattr(model.tts, m).parameters()]
        text = [p.grad for p in model.tts.encoder.parameters()]
        norm = lambda grads: sum(float(g.norm()) for g in grads if g is not None)  # noqa: E731
        norms[name] = (norm(prosody), norm(text))
    return norms


@pytest.mark.parametrize("system", ["kathaka", "camp"])
@pytest.mark.parametrize("route", ["recipe", "decoder"])
def test_every_loss_term_trains_the_prosody_encoder(system, route):
    """The recipe's route: the representation conditions only the variance predictors and the
    decoder reads the recorded pitch and energy, so the variance losses train it and the mel
    loss does not; with the decoder conditioned too (and given the predictions), every term."""
    conf = {} if route == "recipe" else dict(condition_decoder=True, decoder_variance_input="predicted")
    model = recipe_model(system, **conf)
    assert model.tts.stop_gradient_from_pitch_predictor  # as the recipe (and ESPnet) train
    norms = gradient_norms(model, system, waveform_batch(FS, HOP))
    for name, (prosody, _) in norms.items():
        if route == "recipe" and name == "l1_loss":
            assert prosody == 0, f"the mel loss reaches {system}'s prosody encoder past the variances"
        else:
            assert prosody > 0, f"{name} sends no gradient into {system}'s prosody encoder"
    # the stop-gradient still protects the text encoder from the pitch loss, as in FastSpeech2
    assert norms["pitch_loss"][1] == 0
    assert norms["duration_loss"][1] > 0


@pytest.mark.parametrize("decoder_variance_input", ["predicted", "none"])
def test_decoder_without_ground_truth_variances(decoder_variance_input):
    """Without ground-truth pitch and energy, the decoder's mel loss reaches the pitch predictor
    only when it is given the predictions; with none it does not use them at all."""
    model = recipe_model("camp", condition_decoder=True, decoder_variance_input=decoder_variance_input)
    terms, _ = model.tts.losses(**tts_inputs(model, waveform_batch(FS, HOP)))
    terms["l1_loss"].backward()
    pitch_grads = [p.grad for p in model.tts.pitch_predictor.parameters()]
    reaches = any(g is not None and float(g.abs().sum()) > 0 for g in pitch_grads)
    assert reaches == (decoder_variance_input == "predicted")
    assert all(float(p.grad.abs().sum()) > 0 for p in model.tts.word_encoder.output.parameters())


def test_the_baseline_keeps_espnets_settings():
    """The comparison stays fair: the baseline config is ESPnet's FastSpeech2, unchanged."""
    import yaml

    prosody = {
        s: yaml.safe_load((RECIPE_CONF / f"train_{s}_cpu.yaml").read_text()) for s in ("kathaka", "camp")
    }
    baseline = yaml.safe_load((RECIPE_CONF / "train_fastspeech2_cpu.yaml").read_text())
    assert baseline["tts"] == "fastspeech2"
    for config in prosody.values():
        shared = {k: v for k, v in config["tts_conf"].items() if k in baseline["tts_conf"]}
        assert shared == baseline["tts_conf"]
        for key in (
            "feats_extract_conf",
            "pitch_extract_conf",
            "energy_extract_conf",
            "max_epoch",
            "batch_size",
            "optim_conf",
        ):
            assert config[key] == baseline[key]


def cpu_replicate(model: torch.nn.Module, n: int):
    """``torch.nn.parallel.replicate`` -- DataParallel's own replication -- on the CPU.

    Only the CUDA broadcast of the parameters is replaced by copies (CPU emulation); the
    module copying that DataParallel does (shallow ``__dict__`` copies of every submodule,
    hooks included) is torch's own code.
    """
    import importlib

    replicate_module = importlib.import_module("torch.nn.parallel.replicate")

    def broadcast(tensors, devices, detach=False):
        return [[t.detach().clone() if detach else t.clone() for t in tensors] for _ in devices]

    saved = replicate_module._broadcast_coalesced_reshape
    replicate_module._broadcast_coalesced_reshape = broadcast
    try:
        return replicate_module.replicate(model, list(range(n)))
    finally:
        replicate_module._broadcast_coalesced_reshape = saved


@pytest.mark.parametrize("system", ["kathaka", "camp"])
def test_data_parallel_replicas_use_the_prosody(system):
    model = recipe_model(system).eval()
    batch = waveform_batch(FS, HOP)
    replicas = cpu_replicate(model, 2)
    prosody = {"kathaka": lambda: torch.randn(2, 8), "camp": lambda: torch.randn(2, 2, 8)}[system]
    torch.manual_seed(1)
    a, b = prosody(), prosody()
    lengths = torch.tensor([a.size(1)] * 2)
    with torch.no_grad():
        original, _, _ = model(**batch, prosody=a, prosody_lengths=lengths)
        for replica in replicas:
            same, _, _ = replica(**batch, prosody=a, prosody_lengths=lengths)
            other, _, _ = replica(**batch, prosody=b, prosody_lengths=lengths)
            assert torch.allclose(same, original, atol=1e-5)
            assert not torch.allclose(other, same, atol=1e-4), "the replica ignores the prosody input"
            # and the representation encoded from the batch's own recordings
            torch.manual_seed(2)
            encoded, _, _ = replica(**batch)
            torch.manual_seed(2)
            assert torch.allclose(encoded, model(**batch)[0], atol=1e-5)
