"""prosody_plugin.evaluation.benchmark (and its command line) on tiny random models: structure, not timings.

The unit tests run the benchmark's pieces on the models of ``conftest.build_model``; the
end-to-end test writes tiny experiments (config.yaml + checkpoint, built through the tasks
as training does) and a tiny corpus to a temporary directory and runs the CLI on them.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import FS, TOKENS, build_model, ids, num_frames

from prosody_plugin.bin import benchmark as benchmark_cli
from prosody_plugin.evaluation import benchmark
from prosody_plugin.context.abs_predictor import SYNTAX_COLUMNS
from prosody_plugin.tasks.prosody_context import syntax_vocab_sizes

BERT = 8  # word vector size of the unit tests' stage-two models


def tiny_predictor(tts: str, input_size: int = BERT):
    """A tiny stage-two model for ``tts`` ("kathaka" or "camp"), in eval mode."""
    from prosody_plugin.context.camp_predictor import CAMPPredictor
    from prosody_plugin.context.kathaka_sampler import KathakaSampler

    torch.manual_seed(0)
    vocab = syntax_vocab_sizes()
    if tts == "kathaka":
        model = KathakaSampler(input_size, latent_dim=4, vocab_sizes=vocab, hidden_size=8, gnn_layers=1,
                               attention_heads=2, syntax_embed_dim=2)  # fmt: skip
    else:
        model = CAMPPredictor(input_size, word_embed_dim=3, vocab_sizes=vocab, hidden_size=8, num_layers=1,
                              syntax_embed_dim=2)  # fmt: skip
    return model.eval()


def word_features(num_words):
    """Random BERT vectors (W, BERT) and a valid syntax matrix (W, K) per utterance."""
    generator = torch.Generator().manual_seed(1)
    bert, syntax = [], []
    for n in num_words:
        bert.append(torch.randn(n, BERT, generator=generator))
        matrix = torch.randint(0, 4, (n, len(SYNTAX_COLUMNS)), generator=generator)
        matrix[:, SYNTAX_COLUMNS.index("head")] = 0  # word 0 is the root
        syntax.append(matrix)
    return bert, syntax


def padded_tokens(model, batch):
    from prosody_plugin.tts.word_pooling import append_eos

    return append_eos(batch["text"], batch["text_lengths"], model.tts.eos, model.tts.padding_idx)


def token_batch(*token_strings):
    """A padded batch (text, text_lengths) of space-separated token strings."""
    tokens = [ids(t) for t in token_strings]
    return dict(text=torch.nn.utils.rnn.pad_sequence(tokens, batch_first=True), text_lengths=torch.tensor([len(t) for t in tokens]))


# ------------------------------------------------------------------------------ unit tests
@pytest.mark.parametrize("tts", ["kathaka", "camp"])
def test_batched_conditioning_matches_one_sentence_at_a_time(tts):
    """The models' public conditioning of a padded batch equals each item's alone."""
    model = build_model(tts).eval()
    predictor = tiny_predictor(tts)
    tokens = token_batch("h ə <space> l o , <space> w ɜ .", "h ɪ z ?")  # 3 words, 1 word
    xs, ilens = padded_tokens(model, tokens)
    bert, syntax = word_features([3, 1])
    with torch.no_grad():
        prosody = [predictor.predict(b, s, temperature=0.0) for b, s in zip(bert, syntax)]
        together = model.tts.conditioning(prosody, xs, ilens)
        for b, n in enumerate(ilens.tolist()):
            alone = model.tts.conditioning(prosody[b : b + 1], xs[b : b + 1, :n], ilens[b : b + 1])
            torch.testing.assert_close(together[b, :n], alone[0], rtol=1e-5, atol=1e-6)
    if tts == "camp":  # padded tokens get no word's embedding
        assert int(together[1, int(ilens[1]) :].abs().sum()) == 0


def test_camp_conditioning_names_the_item_whose_word_count_differs(batch):
    model = build_model("camp").eval()
    xs, ilens = padded_tokens(model, batch)
    prosody = [torch.zeros(2, 3), torch.zeros(3, 3)]  # both fixture utterances have two words
    with pytest.raises(ValueError, match=r"item 1: .* the text has 2 words, got shape \(3, 3\)"):
        model.tts.conditioning(prosody, xs, ilens)


def test_camp_rejects_a_text_without_words_clearly():
    model = build_model("camp").eval()
    tokens = token_batch("h ə .", "<space> .")
    xs, ilens = padded_tokens(model, tokens)
    with pytest.raises(ValueError, match="item 1: its phoneme tokens hold no word"):
        model.tts.conditioning([torch.zeros(1, 3), torch.zeros(0, 3)], xs, ilens)
    with torch.no_grad(), pytest.raises(ValueError, match="hold no word"):
        model.tts.inference(ids("<space> ."), prosody=torch.zeros(0, 3))


@pytest.mark.parametrize("tts", ["fastspeech2", "kathaka", "camp"])
def test_training_step_changes_a_copy_of_the_parameters(tts, batch):
    model = build_model(tts).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    step = benchmark.TrainStep(model, batch, optim_conf=dict(lr=1e-3), grad_clip=1.0)
    assert step.model.training and not model.training
    losses = [step()[1] for _ in range(2)]
    assert all(math.isfinite(loss) for loss in losses)
    after = dict(step.model.named_parameters())
    changed = [k for k, v in after.items() if not torch.equal(v.detach(), before[k])]
    assert "tts.encoder.embed.0.weight" in changed and "tts.feat_out.weight" in changed
    # the copy's encoder hook adds the copy's conditioning: the prosody encoder learns too
    prosody_params = dict(kathaka="tts.latent_projection.weight", camp="tts.word_projection.weight")
    if tts in prosody_params:
        assert prosody_params[tts] in changed
    for key, value in model.state_dict().items():  # the inference model is untouched
        assert torch.equal(value, before[key]), key


def test_training_steps_see_the_same_batch(batch, tmp_path):
    """ESPnet's GlobalMVN normalises in place: each step must get a fresh copy of the
    batch, or precomputed pitch / energy would be normalised again at every step."""
    from espnet2.layers.global_mvn import GlobalMVN

    model = build_model("fastspeech2").eval()
    stats = tmp_path / "pitch_stats.npz"
    np.savez(stats, count=np.array(10), sum=np.array([20.0]), sum_square=np.array([50.0]))
    model.pitch_normalize = GlobalMVN(str(stats))
    with torch.no_grad():
        feats_lengths = model.feats_extract(batch["speech"], batch["speech_lengths"])[1]
        pitch, pitch_lengths = model.pitch_extract(
            batch["speech"], batch["speech_lengths"], feats_lengths=feats_lengths,
            durations=batch["durations"], durations_lengths=batch["durations_lengths"],
        )  # fmt: skip
    batch = dict(batch, pitch=pitch, pitch_lengths=pitch_lengths)
    kept = {k: v.clone() for k, v in batch.items()}
    step = benchmark.TrainStep(model, batch, optim_conf=dict(lr=0.0))  # parameters stay
    torch.manual_seed(0)
    first = step()[1]
    torch.manual_seed(0)
    assert step()[1] == pytest.approx(first, rel=1e-5)
    for key, value in kept.items():
        assert torch.equal(step.batch[key], value), key


def test_ratios_are_against_the_baseline():
    metrics = {
        "baseline": dict(latency_median_ms=10.0, batch_sentences_per_s=4.0, context_sentences_per_s=None),
        "kathaka": dict(latency_median_ms=25.0, batch_sentences_per_s=2.0, context_sentences_per_s=7.0),
        "camp": dict(latency_median_ms=5.0, batch_sentences_per_s=8.0, context_sentences_per_s=None),
    }
    ratios = benchmark.compute_ratios(metrics)
    assert set(ratios) == {"kathaka", "camp"}
    assert ratios["kathaka"]["latency_median_ms"] == pytest.approx(2.5)
    assert ratios["camp"]["batch_sentences_per_s"] == pytest.approx(2.0)
    assert ratios["kathaka"]["context_sentences_per_s"] is None  # the baseline has none
    with pytest.raises(ValueError, match="baseline"):
        benchmark.compute_ratios({"kathaka": metrics["kathaka"]})


def test_summary_and_report_of_raw_results():
    raw = dict(
        latency=dict(median_ms=12.0, p90_ms=20.0),
        batch=dict(sentences_per_s=3.0, frames_per_s=600.0, frontend_ms=1.0, acoustic_ms=2.0),
        train=dict(median_ms=50.0),
        acoustic_params=2_000_000,
    )
    metrics = {"baseline": benchmark.summarize(raw), "camp": benchmark.summarize(dict(raw, context=dict(sentences_per_s=9.0)))}
    assert metrics["baseline"]["context_sentences_per_s"] is None
    assert metrics["camp"]["acoustic_params_m"] == pytest.approx(2.0)
    report = dict(
        hardware=benchmark.hardware_info(["cpu"]),
        settings=dict(batch_size=16),
        results=dict(cpu=dict(metrics=metrics, ratios=benchmark.compute_ratios(metrics))),
        notes=["a note"],
    )
    text = benchmark.format_report(report)
    assert "camp / baseline" in text and "1.00x" in text and "- a note" in text
    assert "throughput, batch 16 (sentences/s)" in text


def test_cycle_and_sentences(tmp_path):
    assert benchmark.cycle(["a", "b", "c"], 7) == ["a", "b", "c", "a", "b", "c", "a"]
    (tmp_path / "text").write_text("u1 Hello world.\nu2 Thank you.\n", encoding="utf-8")
    assert benchmark.read_sentences(tmp_path / "text") == ["Hello world.", "Thank you."]
    assert benchmark.read_sentences(tmp_path / "text", 3) == ["Hello world.", "Thank you.", "Hello world."]
    assert benchmark.output_paths(tmp_path / "b.md") == (tmp_path / "b.md", tmp_path / "b.json")


# ------------------------------------------------------------------------------ end to end
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


@pytest.fixture
def tiny_recipe(tmp_path, monkeypatch):
    """Tiny stage-one and stage-two experiments, training data and eval text."""
    from prosody_plugin.frontend.bert import default_model_path
    from prosody_plugin.tasks.prosody_context import ProsodyContextTask
    from prosody_plugin.tasks.tts import ProsodyTTSTask

    data = tmp_path / "data"
    data.mkdir()
    texts = {"utt1": "Hello world.", "utt2": "Is this hello?", "utt3": "Hello, world!"}
    _, args = tts_args("fastspeech2", monkeypatch)
    args.token_list = list(TOKENS)
    args.cleaner, args.g2p = "tacotron", "espeak_ng_english_us_vits"
    preprocess = ProsodyTTSTask.build_preprocess_fn(args, train=False)
    wav_lines, duration_lines = [], []
    for i, (utt, text) in enumerate(texts.items()):
        samples = FS // 2 + 400 * i
        t = np.arange(samples) / FS
        sf.write(data / f"{utt}.wav", (0.3 * np.sin(2 * np.pi * (150 + 30 * i) * t)).astype(np.float32), FS)
        n = len(preprocess(utt, dict(text=text))["text"]) + 1
        d = np.full(n, num_frames(samples) // n)
        d[-1] += num_frames(samples) - d.sum()
        wav_lines.append(f"{utt} {data / (utt + '.wav')}")
        duration_lines.append(f"{utt} " + " ".join(map(str, d)))
    (data / "text").write_text("".join(f"{u} {t}\n" for u, t in texts.items()), encoding="utf-8")
    (data / "wav.scp").write_text("\n".join(wav_lines) + "\n")
    (data / "durations").write_text("\n".join(duration_lines) + "\n")
    train_data = [[str(data / "text"), "text", "text"], [str(data / "wav.scp"), "speech", "sound"],
                  [str(data / "durations"), "durations", "text_int"]]  # fmt: skip

    exps = tmp_path / "exp"
    for tts in ("fastspeech2", "kathaka", "camp"):
        model, args = tts_args(tts, monkeypatch)
        args.cleaner, args.g2p = "tacotron", "espeak_ng_english_us_vits"
        args.train_data_path_and_name_and_type = train_data
        args.optim_conf, args.grad_clip = dict(lr=1e-3), 1.0
        write_exp(exps / f"tts_{tts}", args, model)
    hidden = json.loads((Path(default_model_path()) / "config.json").read_text())["hidden_size"]
    for predictor, conf in (
        ("kathaka_sampler", dict(latent_dim=4, hidden_size=8, gnn_layers=1, attention_heads=2, syntax_embed_dim=2)),
        ("camp_predictor", dict(word_embed_dim=3, hidden_size=8, num_layers=1, syntax_embed_dim=2)),
    ):
        args = ProsodyContextTask.get_parser().parse_args(
            ["--predictor", predictor, "--output_dir", "none", "--input_size", str(hidden)]
        )
        args.predictor_conf = conf
        torch.manual_seed(0)
        write_exp(exps / f"context_{predictor}", args, ProsodyContextTask.build_model(args))
    return tmp_path, texts


def test_cli_end_to_end_on_tiny_experiments(tiny_recipe):
    root, texts = tiny_recipe
    exp = root / "exp"
    report = benchmark_cli.main([
        "--tts_exps", str(exp / "tts_fastspeech2"), str(exp / "tts_kathaka"), str(exp / "tts_camp"),
        "--context_exps", str(exp / "context_kathaka_sampler"), str(exp / "context_camp_predictor"),
        "--inference_model", "model.pth", "--context_inference_model", "model.pth",
        "--text_file", str(root / "data" / "text"), "--batch_size", "2", "--warmup", "1", "--repeats", "1",
        "--devices", "cpu", "--verbose", "0", "--output", str(root / "out" / "bench"),
    ])  # fmt: skip
    assert report["sentences"] == list(texts.values())
    result = report["results"]["cpu"]
    assert list(result["metrics"]) == ["baseline", "kathaka", "camp"]
    assert set(result["ratios"]) == {"kathaka", "camp"}
    for name, metrics in result["metrics"].items():
        for key, _ in benchmark.METRICS:
            if key == "context_sentences_per_s" and name == "baseline":
                assert metrics[key] is None
            else:
                assert metrics[key] is not None and metrics[key] > 0, (name, key)
    for name in ("kathaka", "camp"):
        for key, value in result["ratios"][name].items():
            base = result["metrics"]["baseline"][key]
            if base is None:
                assert value is None
            else:
                assert value == pytest.approx(result["metrics"][name][key] / base)
    raw = result["raw"]
    for name in raw:
        assert [r["outputs"] for r in raw[name]["batch"]["runs"]] == [2]  # B mel outputs
        assert len(raw[name]["latency"]["per_sentence_ms"]) == len(texts)
        assert raw[name]["train"]["batch_size"] == 2 and all(math.isfinite(x) for x in raw[name]["train"]["losses"])
    assert len(report["train_keys"]) == 2
    saved = json.loads((root / "out" / "bench.json").read_text())
    assert saved["results"]["cpu"]["metrics"] == json.loads(json.dumps(result["metrics"]))
    table = (root / "out" / "bench.md").read_text()
    assert "kathaka / baseline" in table and "camp / baseline" in table and "context extraction" in table


def test_kind_of_an_experiment_comes_from_its_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no recipe experiments here: no defaults
    for name, line in (("a", "tts: camp"), ("b", "tts: fastspeech2"), ("c", "predictor: camp_predictor")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text(line + "\n")
    parse = benchmark_cli.get_parser().parse_args
    args = parse(["--tts_exps", str(tmp_path / "a"), str(tmp_path / "b"), "--context_exps", str(tmp_path / "c"),
                  "--systems", "baseline", "camp"])  # fmt: skip
    assert benchmark_cli.exps_of(args) == {
        "baseline": (tmp_path / "b", None),
        "camp": (tmp_path / "a", tmp_path / "c"),
    }
    args = parse(["--tts_exps", str(tmp_path / "a"), "--context_exps", str(tmp_path / "c"),
                  "--camp_exp", str(tmp_path / "b"), "--baseline_exp", str(tmp_path / "a"), "--systems", "baseline", "camp"])  # fmt: skip
    assert benchmark_cli.exps_of(args)["baseline"] == (tmp_path / "a", None)  # explicit options win
    args = parse(["--baseline_exp", "b", "--camp_exp", "a", "--camp_context_exp", "c", "--systems", "baseline", "camp"])
    assert benchmark_cli.exps_of(args) == {"baseline": (Path("b"), None), "camp": (Path("a"), Path("c"))}
    args = parse(["--tts_exps", str(tmp_path / "a"), "--context_exps", str(tmp_path / "c"), "--systems", "baseline", "camp"])
    with pytest.raises(ValueError, match="baseline"):
        benchmark_cli.exps_of(args)
    args = parse(["--tts_exps", str(tmp_path / "a"), str(tmp_path / "a")])
    with pytest.raises(ValueError, match="two camp"):
        benchmark_cli.exps_of(args)


def test_a_loaded_model_knows_its_word_boundaries(tiny_recipe):
    """ESPnet's Text2Speech builds the model through ESPnet's task; the plugin's Text2Speech
    derives the word boundaries as ProsodyTTSTask does, so that the loaded model's training
    losses that need words (the duration sum losses: the benchmark's training step) work."""
    from prosody_plugin.decode import Text2Speech
    from prosody_plugin.text.word_boundaries import token_classes

    root, _ = tiny_recipe
    for name in ("kathaka", "camp"):
        exp = root / "exp" / f"tts_{name}"
        tts = Text2Speech(train_config=exp / "config.yaml", model_file=exp / "model.pth").model.tts
        is_boundary, is_punct = token_classes(list(TOKENS))
        assert is_boundary.any()
        assert torch.equal(tts.token_is_boundary.cpu(), is_boundary) and torch.equal(tts.token_is_punctuation.cpu(), is_punct)
        xs = torch.tensor([[TOKENS.index("h"), TOKENS.index("<space>"), TOKENS.index("w")]])
        assert tts.word_ids(xs, torch.tensor([3]))[1].tolist() == [2]
