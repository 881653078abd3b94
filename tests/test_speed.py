"""prosody_plugin.evaluation.speed and its command line (prosody_plugin.bin.benchmark) on tiny real
models: the structure of the report and ratios against the baseline of the same run, never timings.

The exps are written as ESPnet's trainer leaves them (config.yaml + checkpoint, built through the
tasks); the "GPU" configs are the recipe's with a small ``tts_conf``, so that the full-size path
(models built in memory, forced durations) runs in seconds.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from conftest import FS, MODEL_CONFS, TOKENS, build_model, ids, num_frames

from prosody_plugin.bin import benchmark as benchmark_cli
from prosody_plugin.evaluation import speed

RECIPE_CONF = Path(__file__).resolve().parents[1] / "egs2" / "asterisk" / "prosody1" / "conf" / "tuning"
PREDICTORS = {"kathaka": "kathaka_sampler", "camp": "camp_predictor"}


def tts_args(tts, monkeypatch):
    """The model of ``conftest.build_model`` and the training args it was built from."""
    from prosody_plugin.tasks.tts import ProsodyTTSTask

    captured = {}
    build = ProsodyTTSTask.build_model.__func__

    def spy(cls, args):
        captured["args"] = args
        return build(cls, args)

    with monkeypatch.context() as m:
        m.setattr(ProsodyTTSTask, "build_model", classmethod(spy))
        torch.manual_seed(0)
        model = build_model(tts)
    return model, captured["args"]


def write_exp(exp_dir, args, model):
    """config.yaml + model.pth as ESPnet's trainer leaves them."""
    from espnet2.utils.yaml_no_alias_safe_dump import yaml_no_alias_safe_dump

    exp_dir.mkdir(parents=True)
    config = json.loads(json.dumps(vars(args), default=str))  # plain lists, as ESPnet writes
    (exp_dir / "config.yaml").write_text(yaml_no_alias_safe_dump(config, indent=4, sort_keys=False))
    torch.save(model.state_dict(), exp_dir / "model.pth")


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    """Tiny stage-one and stage-two exps, their training data, eval text and small "GPU" configs."""
    from prosody_plugin.frontend.bert import default_model_path
    from prosody_plugin.tasks.prosody_context import ProsodyContextTask
    from prosody_plugin.tasks.tts import ProsodyTTSTask

    root = tmp_path_factory.mktemp("recipe")
    monkeypatch = pytest.MonkeyPatch()
    data = root / "data"
    data.mkdir()
    texts = {"utt1": "Hello world.", "utt2": "Is this hello? Hello!", "utt3": "Hello, world!"}
    _, args = tts_args("fastspeech2", monkeypatch)
    args.cleaner, args.g2p = "tacotron", "espeak_ng_english_us_vits"
    preprocess = ProsodyTTSTask.build_preprocess_fn(args, train=False)
    wavs, durations = [], []
    for i, (utt, text) in enumerate(texts.items()):
        samples = FS // 2 + 400 * i
        t = np.arange(samples) / FS
        sf.write(data / f"{utt}.wav", (0.3 * np.sin(2 * np.pi * (150 + 30 * i) * t)).astype(np.float32), FS)
        n = len(preprocess(utt, dict(text=text))["text"]) + 1
        d = np.full(n, num_frames(samples) // n)
        d[-1] += num_frames(samples) - d.sum()
        wavs.append(f"{utt} {data / (utt + '.wav')}\n")
        durations.append(f"{utt} " + " ".join(map(str, d)) + "\n")
    (data / "text").write_text("".join(f"{u} {t}\n" for u, t in texts.items()), encoding="utf-8")
    (data / "wav.scp").write_text("".join(wavs))
    (data / "durations").write_text("".join(durations))
    train_data = [
        [str(data / "text"), "text", "text"],
        [str(data / "wav.scp"), "speech", "sound"],
        [str(data / "durations"), "durations", "text_int"],
    ]
    conf = root / "conf"
    conf.mkdir()
    for tts in ("fastspeech2", "kathaka", "camp"):
        model, args = tts_args(tts, monkeypatch)
        args.cleaner, args.g2p = "tacotron", "espeak_ng_english_us_vits"
        args.train_data_path_and_name_and_type = train_data
        args.optim_conf, args.grad_clip = dict(lr=1e-3), 1.0
        write_exp(root / "exp" / f"tts_{tts}", args, model)
        gpu = yaml.safe_load((RECIPE_CONF / f"train_{tts}_gpu.yaml").read_text())
        gpu["tts_conf"] = dict(MODEL_CONFS[tts], adim=48, eunits=48, dunits=48)  # larger than the trained
        (conf / f"train_{tts}_gpu.yaml").write_text(yaml.safe_dump(gpu))
    hidden = json.loads((Path(default_model_path()) / "config.json").read_text())["hidden_size"]
    for predictor, predictor_conf in (
        (
            "kathaka_sampler",
            dict(latent_dim=4, hidden_size=8, gnn_layers=1, attention_heads=2, syntax_embed_dim=2),
        ),
        ("camp_predictor", dict(word_embed_dim=3, hidden_size=8, num_layers=1, syntax_embed_dim=2)),
    ):
        args = ProsodyContextTask.get_parser().parse_args(
            ["--predictor", predictor, "--output_dir", "none", "--input_size", str(hidden)]
        )
        args.predictor_conf = predictor_conf
        torch.manual_seed(0)
        write_exp(root / "exp" / f"context_{predictor}", args, ProsodyContextTask.build_model(args))
        (conf / f"train_{predictor}_gpu.yaml").write_text(
            (RECIPE_CONF / f"train_{predictor}_gpu.yaml").read_text()
        )
    monkeypatch.undo()
    return root, texts


def exp_dirs(root):
    return [root / "exp" / name for name in ("tts_fastspeech2", "tts_kathaka", "tts_camp")] + [
        root / "exp" / f"context_{p}" for p in PREDICTORS.values()
    ]


@pytest.fixture
def small_bert(monkeypatch):
    """A small BERT for the full-size stage two (the real one is bert-base: 110M parameters)."""
    conf = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
    monkeypatch.setattr(speed, "FULL_SIZE_BERT", conf)


def test_cli_end_to_end(recipe, small_bert):
    root, texts = recipe
    report = benchmark_cli.main(
        [
            "--exps",
            *map(str, exp_dirs(root)),
            "--inference_model",
            "model.pth",
            "--context_inference_model",
            "model.pth",
            "--text_file",
            str(root / "data" / "text"),
            "--batch_size",
            "2",
            "--warmup",
            "0",
            "--min_run_time",
            "0.001",
            "--devices",
            "cpu",
            "--breakdown",
            "--full_size",
            "--full_size_configs",
            str(root / "conf"),
            "--output",
            str(root / "out" / "bench"),
        ]
    )
    assert report["sentences"] == list(texts.values())
    assert list(report["results"]) == ["cpu", "cpu, full size"]
    for where, result in report["results"].items():
        metrics = result["metrics"]
        assert list(metrics) == ["baseline", "kathaka", "camp"]
        for name, values in metrics.items():
            for key, _ in speed.METRICS:
                missing = (key == "context_sentences_per_s" and (name == "baseline" or "full" in where)) or (
                    key == "train_step_ms" and "full" in where
                )
                assert (values[key] is None) == missing, (where, name, key)
                assert missing or values[key] > 0
        assert set(result["ratios"]) == {"kathaka", "camp"}
        for name in ("kathaka", "camp"):  # ratios against the baseline of the same run
            for key, value in result["ratios"][name].items():
                base = metrics["baseline"][key]
                assert value is None if base is None else value == pytest.approx(metrics[name][key] / base)
    trained, full = (report["results"][w]["metrics"] for w in ("cpu", "cpu, full size"))
    for name in trained:  # the full-size models are the "GPU" configs' (adim 48), not the trained ones
        assert full[name]["acoustic_params_m"] > trained[name]["acoustic_params_m"]
    pieces = report["breakdown"]["cpu"]
    assert set(pieces["  BERT"]) == set(pieces["  stage two"]) == {"kathaka", "camp"}
    assert set(pieces["ESPnet Text2Speech"]) == {"baseline"}
    assert set(pieces["  acoustic model"]) == {"baseline", "kathaka", "camp"}
    saved = json.loads((root / "out" / "bench.json").read_text())
    assert saved["results"]["cpu"]["ratios"] == json.loads(json.dumps(report["results"]["cpu"]["ratios"]))
    labels = {m["label"] for m in saved["measurements"]}
    assert "cpu: training step" in labels and "cpu, full size: throughput (one call)" in labels
    assert len([m for m in saved["measurements"] if m["label"] == "cpu: latency, batch 1 (one call)"]) == 9
    table = (root / "out" / "bench.md").read_text()
    assert "| figure | kathaka / baseline | camp / baseline |" in table and "## cpu, full size" in table
    assert "torch.utils.benchmark.Compare" in table and "[-" in table  # Compare's own table


def test_full_size_speaks_with_the_trained_models_durations(recipe, small_bert):
    """Teacher forcing: the random full-size models give the trained models' durations, batched and at
    batch 1 (ESPnet's Text2Speech for the baseline, which reads a text as one sequence)."""
    root, texts = recipe
    exps = speed.find_exps(exp_dirs(root))
    for name in ("baseline", "camp"):
        system = speed.System(name, *exps[name], "cpu", "model.pth", "model.pth", "torch")
        durations = speed.record_durations(system, list(texts.values()))
        trained_params = sum(p.numel() for p in system.t2s.tts.parameters())
        speed.make_full_size(system, root / "conf", durations)
        assert system.t2s.tts.encoder.embed[0].embedding_dim == 48  # the "GPU" config's
        assert sum(p.numel() for p in system.t2s.tts.parameters()) > trained_params
        if name == "baseline":
            assert system.espnet.model is system.t2s.model
        else:
            assert system.t2s.featurizer.hidden_size == 64 and system.t2s.predictor.word_encoder is not None
        recorded = lambda ids: durations.durations[(*ids.tolist(), system.t2s.tts.eos)]  # noqa: E731
        with torch.no_grad():
            for text in texts.values():
                split = torch.cat([recorded(u.token_ids) for u in system.t2s._analyse(text, 0, True)[0]])
                assert torch.equal(system.t2s(text)["duration"], split)
                assert torch.equal(system.t2s([text, text])[1]["duration"], split)
                if system.espnet is not None:
                    whole = recorded(system.t2s.frontend.analyze(text).token_ids)
                    assert torch.equal(system.espnet(text)["duration"].cpu(), whole)
            durations.detach()  # the random duration predictor alone speaks otherwise
            assert not torch.equal(
                system.t2s(texts["utt1"])["duration"],
                recorded(system.t2s.frontend.analyze(texts["utt1"]).token_ids),
            )


def test_kind_of_an_experiment_comes_from_its_config(tmp_path):
    for name, line in (
        ("a", "tts: camp"),
        ("b", "tts: fastspeech2"),
        ("c", "predictor: camp_predictor"),
        ("d", "tts: tacotron2"),
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text(line + "\n")
    a, b, c, d = (tmp_path / n for n in "abcd")
    assert speed.find_exps([a, b, c], ["baseline", "camp"]) == {"baseline": (b, None), "camp": (a, c)}
    with pytest.raises(ValueError, match="no stage-two experiment of camp"):
        speed.find_exps([a, b], ["baseline", "camp"])
    with pytest.raises(ValueError, match="no stage-one experiment of baseline"):
        speed.find_exps([a, c], ["baseline", "camp"])
    with pytest.raises(ValueError, match="two camp"):
        speed.find_exps([a, a, b, c], ["baseline", "camp"])
    with pytest.raises(ValueError, match="d: config.yaml"):
        speed.find_exps([d])
    with pytest.raises(SystemExit, match="must include the baseline"):
        benchmark_cli.main(["--exps", str(a), str(c), "--systems", "camp"])


@pytest.mark.parametrize("tts", ["fastspeech2", "kathaka", "camp"])
def test_training_step_changes_a_copy_of_the_parameters(tts, batch):
    model = build_model(tts).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    step = speed.TrainStep(model, batch, optim_conf=dict(lr=1e-3), grad_clip=1.0)
    assert step.model.training and not model.training
    assert all(np.isfinite(step()) for _ in range(2))
    changed = [k for k, v in step.model.named_parameters() if not torch.equal(v.detach(), before[k])]
    assert "tts.encoder.embed.0.weight" in changed and "tts.feat_out.weight" in changed
    # the copy's encoder hook adds the copy's conditioning: the prosody encoder learns too
    prosody_params = dict(kathaka="tts.latent_projection.weight", camp="tts.word_projection.weight")
    assert tts not in prosody_params or prosody_params[tts] in changed
    for key, value in model.state_dict().items():  # the inference model is untouched
        assert torch.equal(value, before[key]), key


def test_training_steps_see_the_same_batch(batch, tmp_path):
    """ESPnet's GlobalMVN normalises in place: each step must get a fresh copy of the batch, or
    precomputed pitch / energy would be normalised again at every step."""
    from espnet2.layers.global_mvn import GlobalMVN

    model = build_model("fastspeech2").eval()
    stats = tmp_path / "pitch_stats.npz"
    np.savez(stats, count=np.array(10), sum=np.array([20.0]), sum_square=np.array([50.0]))
    model.pitch_normalize = GlobalMVN(str(stats))
    with torch.no_grad():
        feats_lengths = model.feats_extract(batch["speech"], batch["speech_lengths"])[1]
        pitch, pitch_lengths = model.pitch_extract(
            batch["speech"],
            batch["speech_lengths"],
            feats_lengths=feats_lengths,
            durations=batch["durations"],
            durations_lengths=batch["durations_lengths"],
        )
    batch = dict(batch, pitch=pitch, pitch_lengths=pitch_lengths)
    kept = {k: v.clone() for k, v in batch.items()}
    step = speed.TrainStep(model, batch, optim_conf=dict(lr=0.0))  # parameters stay
    torch.manual_seed(0)
    first = step()
    torch.manual_seed(0)
    assert step() == pytest.approx(first, rel=1e-5)
    for key, value in kept.items():
        assert torch.equal(step.batch[key], value), key


# ------------------------------------------------------------------ what the figures rely on
def word_features(num_words, size=8):
    """Random BERT vectors (W, size) and a valid syntax matrix (W, K) per utterance."""
    from prosody_plugin.context.abs_predictor import SYNTAX_COLUMNS

    generator = torch.Generator().manual_seed(1)
    bert, syntax = [], []
    for n in num_words:
        bert.append(torch.randn(n, size, generator=generator))
        matrix = torch.randint(0, 4, (n, len(SYNTAX_COLUMNS)), generator=generator)
        matrix[:, SYNTAX_COLUMNS.index("head")] = 0  # word 0 is the root
        syntax.append(matrix)
    return bert, syntax


def padded_tokens(model, *token_strings):
    from prosody_plugin.tts.word_pooling import append_eos

    tokens = [ids(t) for t in token_strings]
    text = torch.nn.utils.rnn.pad_sequence(tokens, batch_first=True)
    return append_eos(text, torch.tensor([len(t) for t in tokens]), model.tts.eos, model.tts.padding_idx)


@pytest.mark.parametrize("tts", ["kathaka", "camp"])
def test_batched_conditioning_matches_one_sentence_at_a_time(tts):
    """The throughput's batched call conditions each item as it would alone."""
    from prosody_plugin.context.camp_predictor import CAMPPredictor
    from prosody_plugin.context.kathaka_sampler import KathakaSampler
    from prosody_plugin.tasks.prosody_context import syntax_vocab_sizes

    model = build_model(tts).eval()
    torch.manual_seed(0)
    if tts == "kathaka":
        predictor = KathakaSampler(
            8,
            latent_dim=4,
            vocab_sizes=syntax_vocab_sizes(),
            hidden_size=8,
            gnn_layers=1,
            attention_heads=2,
            syntax_embed_dim=2,
        ).eval()
    else:
        predictor = CAMPPredictor(
            8,
            word_embed_dim=3,
            vocab_sizes=syntax_vocab_sizes(),
            hidden_size=8,
            num_layers=1,
            syntax_embed_dim=2,
        ).eval()
    xs, ilens = padded_tokens(model, "h ə <space> l o , <space> w ɜ .", "h ɪ z ?")  # 3 words, 1 word
    bert, syntax = word_features([3, 1])
    with torch.no_grad():
        prosody = [predictor.predict(b, s, temperature=0.0) for b, s in zip(bert, syntax)]
        together = model.tts.conditioning(prosody, xs, ilens)
        for b, n in enumerate(ilens.tolist()):
            alone = model.tts.conditioning(prosody[b : b + 1], xs[b : b + 1, :n], ilens[b : b + 1])
            torch.testing.assert_close(together[b, :n], alone[0], rtol=1e-5, atol=1e-6)
    if tts == "camp":  # padded tokens get no word's embedding
        assert int(together[1, int(ilens[1]) :].abs().sum()) == 0


def test_camp_names_the_item_whose_words_do_not_fit():
    model = build_model("camp").eval()
    xs, ilens = padded_tokens(model, "h ə <space> l o .", "w ɜ <space> d ɪ z ?")
    with pytest.raises(ValueError, match=r"item 1: .* the text has 2 words, got shape \(3, 3\)"):
        model.tts.conditioning([torch.zeros(2, 3), torch.zeros(3, 3)], xs, ilens)
    xs, ilens = padded_tokens(model, "h ə .", "<space> .")
    with pytest.raises(ValueError, match="item 1: its phoneme tokens hold no word"):
        model.tts.conditioning([torch.zeros(1, 3), torch.zeros(0, 3)], xs, ilens)
    with torch.no_grad(), pytest.raises(ValueError, match="hold no word"):
        model.tts.inference(ids("<space> ."), prosody=torch.zeros(0, 3))


def test_a_loaded_model_knows_its_word_boundaries(recipe):
    """The plugin's Text2Speech derives the word boundaries as ProsodyTTSTask does, so that the
    training step's losses that need words (the duration sums) work on a loaded model."""
    from prosody_plugin.decode import Text2Speech
    from prosody_plugin.text.word_boundaries import token_classes

    root, _ = recipe
    for name in ("kathaka", "camp"):
        exp = root / "exp" / f"tts_{name}"
        tts = Text2Speech(train_config=exp / "config.yaml", model_file=exp / "model.pth").model.tts
        is_boundary, is_punct = token_classes(list(TOKENS))
        assert is_boundary.any()
        assert torch.equal(tts.token_is_boundary.cpu(), is_boundary)
        assert torch.equal(tts.token_is_punctuation.cpu(), is_punct)
        xs = torch.tensor([[TOKENS.index("h"), TOKENS.index("<space>"), TOKENS.index("w")]])
        assert tts.word_ids(xs, torch.tensor([3]))[1].tolist() == [2]
