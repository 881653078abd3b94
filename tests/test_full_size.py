"""Untrained full-size exps (prosody_plugin.evaluation.full_size): the recipe's GPU configs
give the full-size architectures, the exps load back through ESPnet's loaders, stage two
gets a BERT of bert-base-cased's size, and the duration calibration gives realistic
durations. Building from trained exps end to end needs the recipe's exps (the module's CLI)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from prosody_plugin.evaluation import full_size
from tests.conftest import TOKENS

RECIPE = Path(__file__).resolve().parents[1] / "egs2" / "asterisk" / "prosody1"
GPU_CONF = RECIPE / "conf" / "tuning"

# Full-size stage-one parameters (ESPnet 202511): the ESPnet LJSpeech conformer
# FastSpeech2 sizes of the GPU configs, 384 per token of the vocabulary in the embedding.
FULL_PARAMS_WITHOUT_EMBEDDING = {"fastspeech2": 70_233_843, "kathaka": 70_679_603, "camp": 71_463_315}  # CAMP: the word KL doubles the encoder output (mean, log-variance)


def write_stats(path: Path, dim: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 100.0
    np.savez(path, count=np.array(count), sum=np.zeros(dim), sum_square=np.full(dim, count))


def fake_trained_exp(root: Path, tts: str) -> Path:
    """A trained CPU exp as the recipe leaves it: config.yaml with recipe-relative statistics
    paths and the demo's small model options (the weights do not matter here)."""
    from espnet2.utils.yaml_no_alias_safe_dump import yaml_no_alias_safe_dump

    from prosody_plugin.tasks.tts import ProsodyTTSTask

    args = ProsodyTTSTask.get_parser().parse_args(["--token_list", "none", "--output_dir", "none", "--tts", tts])
    config = json.loads(json.dumps(vars(args), default=str))
    stats = "exp/tts_stats/train"
    for name, dim in (("feats", 80), ("pitch", 1), ("energy", 1)):
        write_stats(root / stats / f"{name}_stats.npz", dim)
    hop = dict(fs=16000, n_fft=1024, hop_length=256)
    config.update(
        token_list=list(TOKENS), token_type="phn", cleaner="tacotron", g2p="espeak_ng_english_us_vits",
        feats_extract="fbank", feats_extract_conf=dict(hop, win_length=None, fmin=80, fmax=7600, n_mels=80),
        normalize="global_mvn", normalize_conf=dict(stats_file=f"{stats}/feats_stats.npz"),
        pitch_extract="dio", pitch_extract_conf=dict(hop, f0max=334, f0min=120, reduction_factor=1),
        pitch_normalize="global_mvn", pitch_normalize_conf=dict(stats_file=f"{stats}/pitch_stats.npz"),
        energy_extract="energy", energy_extract_conf=dict(hop, win_length=None, reduction_factor=1),
        energy_normalize="global_mvn", energy_normalize_conf=dict(stats_file=f"{stats}/energy_stats.npz"),
        tts=tts, tts_conf=dict(adim=32, aheads=2, elayers=1, eunits=32, dlayers=1, dunits=32),
    )  # fmt: skip
    exp = root / "exp" / f"tts_train_{tts}_cpu"
    exp.mkdir(parents=True)
    (exp / "config.yaml").write_text(yaml_no_alias_safe_dump(config, indent=4, sort_keys=False), encoding="utf-8")
    return exp


def assert_same_state(model: torch.nn.Module, model_file: Path) -> None:
    """ESPnet's loaders load non-strictly: check the keys and values ourselves."""
    state = torch.load(model_file, map_location="cpu", weights_only=False)
    own = model.state_dict()
    assert set(state) == set(own)
    for key, value in state.items():
        assert torch.equal(own[key], value), key


@pytest.mark.parametrize("tts", ["fastspeech2", "kathaka", "camp"])
def test_stage_one_from_the_gpu_config_is_full_size_and_loads_back(tmp_path, monkeypatch, tts):
    trained = fake_trained_exp(tmp_path / "recipe", tts)
    monkeypatch.chdir(tmp_path)  # not the recipe: the statistics paths are made absolute
    gpu_config = GPU_CONF / f"train_{tts}_gpu.yaml"
    exp = tmp_path / "out" / f"{trained.name}_fullsize"
    model, config, kept = full_size.build_tts_exp(trained, gpu_config, exp, seed=0)

    gpu = full_size.load_yaml(gpu_config)
    assert config["tts"] == tts and config["tts_conf"] == gpu["tts_conf"]
    assert config["token_list"] == TOKENS and config["g2p"] == "espeak_ng_english_us_vits"
    assert config["optim_conf"] == gpu["optim_conf"] and config["scheduler"] == "noamlr"
    # the trained exp's front end stays (the recipe's F0 range), the difference is reported
    assert config["pitch_extract_conf"]["f0min"] == 120 and kept["pitch_extract_conf"]["full"]["f0min"] == 80
    assert Path(config["normalize_conf"]["stats_file"]).is_absolute()
    assert (exp / full_size.MODEL_ALIAS).resolve() == (exp / full_size.MODEL_FILE).resolve()

    tts_module = model.tts
    assert full_size.count_parameters(tts_module) == FULL_PARAMS_WITHOUT_EMBEDDING[tts] + 384 * len(TOKENS)
    assert type(tts_module.encoder.encoders[0]).__name__ == "EncoderLayer"  # conformer block
    assert len(tts_module.encoder.encoders) == 4 and len(tts_module.decoder.encoders) == 4
    assert tts_module.encoder.encoders[0].conv_module is not None and tts_module.postnet is not None
    assert tts_module.duration_predictor.linear.in_features == 256
    if tts != "fastspeech2":
        assert tts_module.representation_size == {"kathaka": 16, "camp": 8}[tts]
    if tts == "kathaka":
        return  # loading back: the baseline through ESPnet's loader, CAMP through the plugin's
    if tts == "fastspeech2":
        from espnet2.tasks.tts import TTSTask as Task
    else:
        from prosody_plugin.tasks.tts import ProsodyTTSTask as Task
    loaded, args = Task.build_model_from_file(exp / "config.yaml", exp / full_size.MODEL_ALIAS)
    assert_same_state(loaded, exp / full_size.MODEL_FILE)
    assert type(loaded.tts) is type(tts_module) and args.tts_conf == gpu["tts_conf"]


def test_bert_base_cased_architecture():
    from transformers import BertConfig, BertModel

    with torch.device("meta"):
        bert = BertModel(BertConfig(**full_size.BERT_BASE_CASED))
    assert full_size.count_parameters(bert) == 108_310_272  # bert-base-cased


def test_stage_two_with_a_random_bert_loads_back(tmp_path):
    from prosody_plugin.frontend.bert import WordEmbedder
    from prosody_plugin.tasks.prosody_context import ProsodyContextTask, load_predictor

    # the full architecture is checked above; a small BERT keeps this test fast
    bert = full_size.random_bert(
        tmp_path / "bert", seed=0, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    embedder = WordEmbedder(str(bert))
    assert embedder.encoder.config.vocab_size == len(embedder.tokenizer) == 30522
    assert embedder.embed([["Hello,", "world!"]])[0].shape == (2, 32)

    trained = tmp_path / "exp" / "context_train_camp_predictor_cpu"
    args = ProsodyContextTask.get_parser().parse_args(
        ["--predictor", "camp_predictor", "--output_dir", str(trained), "--input_size", "384"]
    )
    args.predictor_conf = dict(word_embed_dim=8, hidden_size=16)
    args.frontend_conf = dict(punctuation=True)
    trained.mkdir(parents=True)
    full_size.dump_config(json.loads(json.dumps(vars(args), default=str)), trained / "config.yaml")
    tts_config = dict(tts="camp", tts_conf=dict(word_embed_dim=5))  # the full-size stage one's size wins

    exp = tmp_path / "out" / "context_fullsize"
    predictor, config = full_size.build_context_exp(
        trained, GPU_CONF / "train_camp_predictor_gpu.yaml", tts_config, bert, exp, seed=0
    )
    assert config["bert_finetune"] is True and config["input_size"] == 32
    assert config["frontend_conf"] == dict(punctuation=True, bert_model=str(bert.resolve()))
    assert config["predictor_conf"]["hidden_size"] == 256 and config["predictor_conf"]["word_embed_dim"] == 5

    loaded, loaded_args = load_predictor(str(exp / "config.yaml"), str(exp / full_size.MODEL_ALIAS))
    assert_same_state(loaded, exp / full_size.MODEL_FILE)
    assert loaded.word_encoder is not None and loaded.word_encoder.model_name_or_path == str(bert.resolve())
    assert loaded_args.input_size == 32 and full_size.count_parameters(loaded) == full_size.count_parameters(predictor)


def test_duration_calibration_gives_realistic_durations():
    from espnet.nets.pytorch_backend.fastspeech.duration_predictor import DurationPredictor

    torch.manual_seed(0)
    predictor = DurationPredictor(384, n_layers=2, n_chans=256).eval()  # the full-size one, random
    torch.nn.init.xavier_uniform_(predictor.linear.weight)
    hs = torch.randn(4, 50, 384)
    with torch.no_grad():
        before = predictor.inference(hs)
        features = predictor.conv[1](predictor.conv[0](hs.transpose(1, 2))).transpose(1, 2)
    assert not 2 <= before.float().mean() <= 10 or before.max() > 30  # random: unrealistic

    for frames, log_std in ((3.0, 0.25), (4.2, 0.59)):  # the demo's CPU model / its training data
        with torch.no_grad():
            y = predictor.linear(features).reshape(-1).double()
        shift = full_size.shift_for_frames((y - y.mean()) / y.std() * log_std, frames)
        info = full_size.calibrate_linear(predictor.linear, features, shift, log_std)
        assert info["scale"] > 0
        with torch.no_grad():
            logs = predictor.linear(features).reshape(-1)
            after = predictor.inference(hs)
        assert abs(float(logs.std()) - log_std) < 1e-3 and abs(float(logs.mean()) - shift) < 1e-3
        assert abs(float(after.float().mean()) - frames) < 0.1
        assert after.max() < 40 and float((after == 0).float().mean()) < 0.1
