"""Speed of Kathaka and CAMP against ESPnet's FastSpeech2 baseline, on ``torch.utils.benchmark``.

Per device: text-to-mel latency at batch 1 (the baseline through ESPnet's own
``Text2Speech``, Kathaka and CAMP through ``Text2SpeechProsody``), the throughput of one
batched call (``Text2SpeechProsody(list)`` for every system), the stage-one training step
and stage two's context extraction; ``--full_size`` times the GPU configs' model sizes,
built in memory with random weights and the trained models' durations forced on them;
``--breakdown`` the pieces of a batch-1 call. Ratios are ``system / baseline`` of the same
run. Usage: docs/recipes.md ("Speed"); measured figures: docs/RESULTS.md.
"""

import argparse
import copy
import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.utils.benchmark as tb
import yaml

from prosody_plugin.systems import BASELINE as BASELINE_TTS
from prosody_plugin.systems import SYSTEMS as PROSODY_SYSTEMS
from prosody_plugin.systems import representation_size, system_class, system_of_model, system_of_predictor

BASELINE = "baseline"
SYSTEMS = (BASELINE, *PROSODY_SYSTEMS)
Metrics = Dict[str, Dict[str, Optional[float]]]
#: (key, label) of the reported figures, in table order.
METRICS = (
    ("latency_median_ms", "latency, batch 1, median over sentences (ms)"),
    ("latency_p90_ms", "latency, batch 1, p90 over sentences (ms)"),
    ("batch_sentences_per_s", "throughput, batch {B} (sentences/s)"),
    ("batch_frames_per_s", "throughput, batch {B} (mel frames/s)"),
    ("train_step_ms", "training step, batch {B} (ms)"),
    ("context_sentences_per_s", "context extraction (sentences/s)"),
    ("acoustic_params_m", "stage-one parameters (M)"),
)
#: Stage-one options a full-size model keeps from the trained exp: its front end and statistics.
FRONTEND_KEYS = [f"{k}_extract{c}" for k in ("feats", "pitch", "energy") for c in ("", "_conf")]
FRONTEND_KEYS += [f"{k}normalize{c}" for k in ("", "pitch_", "energy_") for c in ("", "_conf")]
#: ``BertConfig`` options of the full-size stage two's BERT (the defaults: bert-base's architecture).
FULL_SIZE_BERT: Dict[str, Any] = {}


def read_yaml(path: Path) -> Dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


# ---------------------------------------------------------------------------- systems
def default_exps(expdir: Path = Path("exp"), suffix: str = "") -> List[Path]:
    """The recipe's CPU exps (``tts_train_<name>_cpu``, ``context_train_<predictor>_cpu``) that exist."""
    names = [f"tts_train_{n}_cpu" for n in (BASELINE_TTS, *PROSODY_SYSTEMS)]
    names += [f"context_train_{system_class(n).predictor_name}_cpu" for n in PROSODY_SYSTEMS]
    exps = [Path(expdir) / f"{name}{suffix}" for name in names]
    return [exp for exp in exps if (exp / "config.yaml").is_file()]


def find_exps(
    exps: Sequence[Path], systems: Sequence[str] = SYSTEMS
) -> Dict[str, Tuple[Path, Optional[Path]]]:
    """{system: (stage-one exp, stage-two exp or None)}; each exp's kind is read from its config.yaml."""
    found: Tuple[Dict[str, Path], Dict[str, Path]] = ({}, {})
    for exp in map(Path, exps):
        config = read_yaml(exp / "config.yaml")
        if "predictor" in config:
            stage, name = 1, system_of_predictor(config["predictor"])
        elif config.get("tts") in (BASELINE_TTS, *PROSODY_SYSTEMS):
            stage, name = 0, BASELINE if config["tts"] == BASELINE_TTS else config["tts"]
        else:
            raise ValueError(
                f"{exp}: config.yaml has no predictor and no tts of {SYSTEMS[1:]} or {BASELINE_TTS}"
            )
        if name in found[stage]:
            raise ValueError(f"two {name} experiments of stage {stage + 1}: {found[stage][name]} and {exp}")
        found[stage][name] = exp
    for name in systems:
        if name not in found[0] or (name != BASELINE and name not in found[1]):
            stage = "one" if name not in found[0] else "two"
            raise ValueError(f"no stage-{stage} experiment of {name} (--exps)")
    return {name: (found[0][name], found[1].get(name)) for name in systems}


class System:
    """One system under test: ``t2s`` (``Text2SpeechProsody``: the batched API, and Kathaka's and
    CAMP's batch 1) and, for the baseline, ESPnet's own ``Text2Speech`` (its batch 1)."""

    def __init__(
        self, name, tts_exp: Path, context_exp: Optional[Path], device, model_file, context_file, runtime
    ):
        from espnet2.bin.tts_inference import Text2Speech

        from prosody_plugin.inference import Text2SpeechProsody

        self.name, self.tts_exp, self.context_exp, self.device = name, tts_exp, context_exp, device
        config, checkpoint = tts_exp / "config.yaml", tts_exp / model_file
        context = {}
        if context_exp is not None:
            context = dict(context_train_config=context_exp / "config.yaml")
            context["context_model_file"] = context_exp / context_file
        kwargs = dict(device=device, use_vocoder=False, bert_runtime=runtime, **context)
        self.t2s = Text2SpeechProsody(config, checkpoint, **kwargs)
        if (system_of_model(self.t2s.tts) or BASELINE) != name:
            raise ValueError(f"{tts_exp} holds a {type(self.t2s.tts).__name__}, not the {name} system")
        self.espnet = None
        if name == BASELINE:
            self.espnet = Text2Speech(train_config=config, model_file=checkpoint, device=device)
            self.espnet.vocoder = None  # text to mel
        self.train_args = self.t2s.text2speech.train_args

    @property
    def api(self) -> List[Any]:
        """The system's objects that hold a stage-one model."""
        return [a for a in (self.t2s.text2speech, self.t2s, self.espnet) if a is not None]

    def synthesize(self, text: str) -> Dict[str, Any]:
        """Batch 1 as a user calls it."""
        return (self.espnet or self.t2s)(text)


def check_same_inputs(systems: Sequence[System], sentences: Sequence[str]) -> None:
    """Every system turns every sentence into the same token ids (its preprocessor and its word
    front end), or the comparison would not be fair."""
    for text in dict.fromkeys(sentences):
        expected = systems[0].t2s.text2speech.preprocess_fn("<dummy>", dict(text=text))["text"]
        for system in systems:
            preprocessed = system.t2s.text2speech.preprocess_fn("<dummy>", dict(text=text))["text"]
            for what, ids in (
                ("preprocessor", preprocessed),
                ("front end", system.t2s.frontend.analyze(text).token_ids),
            ):
                if not np.array_equal(ids, expected):
                    raise ValueError(
                        f"{system.name}'s {what} gives other token ids than {systems[0].name}'s for "
                        f"{text!r}: the systems need the same token list, cleaner and g2p"
                    )


# ---------------------------------------------------------------------------- full size
class ForcedDurations:
    """Token durations by token sequence, recorded from one model and forced on another (teacher
    forcing), by hooks on the text encoder's input and on the duration predictor's final linear
    layer, which ESPnet's ``FastSpeech2.inference`` and the batched inference both call."""

    def __init__(self):
        self.durations: Dict[Tuple[int, ...], torch.Tensor] = {}
        self.handles: List[Any] = []
        self.ids: Optional[torch.Tensor] = None

    def attach(self, tts: torch.nn.Module, record: bool) -> "ForcedDurations":
        offset = tts.duration_predictor.offset

        def remember(module, args):
            self.ids = args[0]

        def hook(module, args, out):  # out: log-durations (B, T, 1)
            keys = [tuple(row[row != 0].tolist()) for row in self.ids.cpu()]  # 0 pads (<blank>)
            if record:
                frames = torch.clamp(torch.round(out.detach().squeeze(-1).exp() - offset), min=0).long()
                self.durations.update({key: frames[b, : len(key)].cpu() for b, key in enumerate(keys)})
                return None
            forced = torch.zeros_like(out)
            for b, key in enumerate(keys):
                if key not in self.durations:
                    raise ValueError(f"no recorded durations for the token ids {key}")
                forced[b, : len(key), 0] = torch.log(self.durations[key].to(out) + offset)
            return forced

        self.handles.append(tts.encoder.embed.register_forward_pre_hook(remember))
        self.handles.append(tts.duration_predictor.linear.register_forward_hook(hook))
        return self

    def detach(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


def record_durations(system: System, sentences: Sequence[str]) -> ForcedDurations:
    """The durations the system's trained models give the sentences, at batch 1 and batched."""
    durations = ForcedDurations()
    for tts in {id(a.tts): a.tts for a in system.api}.values():
        durations.attach(tts, record=True)
    with torch.no_grad():
        for text in sentences:
            system.synthesize(text)
        system.t2s(list(sentences), batch_size=len(sentences))
    durations.detach()
    return durations


def make_full_size(system: System, configs: Path, durations: ForcedDurations, seed: int = 0) -> None:
    """Replace the system's models by those of ``configs/train_<name>_gpu.yaml`` and
    ``train_<predictor>_gpu.yaml``, random weights, in memory, and force ``durations`` on them.
    The trained exp's front end, token list and statistics stay; stage two's BERT has
    bert-base's architecture and the packaged tokenizer (bert-base-cased is not offline)."""
    from transformers import BertConfig, BertModel

    from prosody_plugin.frontend.bert import WordEmbedder, transpose_linear_weights
    from prosody_plugin.tasks.prosody_context import ProsodyContextTask
    from prosody_plugin.tasks.tts import ProsodyTTSTask

    trained = read_yaml(system.tts_exp / "config.yaml")
    gpu = read_yaml(configs / f"train_{trained['tts']}_gpu.yaml")
    config = {**trained, **{k: v for k, v in gpu.items() if k not in FRONTEND_KEYS}}
    for key in ("normalize_conf", "pitch_normalize_conf", "energy_normalize_conf"):
        stats = (config.get(key) or {}).get("stats_file")
        if stats and not Path(stats).exists():  # recipe-relative
            config[key] = dict(config[key], stats_file=str(system.tts_exp.resolve().parents[1] / stats))
    torch.manual_seed(seed)
    model = ProsodyTTSTask.build_model(argparse.Namespace(**copy.deepcopy(config))).to(system.device).eval()
    for api in system.api:
        api.model, api.tts = model, model.tts
    durations.attach(model.tts, record=False)
    if system.context_exp is None:
        return
    context = read_yaml(system.context_exp / "config.yaml")
    gpu = read_yaml(configs / f"train_{context['predictor']}_gpu.yaml")
    conf = dict(gpu.get("predictor_conf") or {})
    conf[system_class(system.name).size_key] = representation_size(system.name, config.get("tts_conf") or {})
    finetune = bool(gpu.get("bert_finetune"))
    embedder = WordEmbedder(trainable=finetune)
    embedder.encoder = BertModel(BertConfig(vocab_size=len(embedder.tokenizer), **FULL_SIZE_BERT))  # random
    embedder.set_trainable(finetune).to(system.device).eval()
    if not finetune and torch.device(system.device).type == "cpu":
        transpose_linear_weights(embedder.encoder)  # as WordEmbedder does for a frozen encoder
    args = {
        **context,
        **gpu,
        "predictor_conf": conf,
        "bert_finetune": False,
        "input_size": embedder.hidden_size,
    }
    predictor = ProsodyContextTask.build_model(argparse.Namespace(**copy.deepcopy(args)))
    if finetune:  # the predictor owns its BERT, as a GPU-trained model does
        predictor.attach_word_encoder(embedder)
    system.t2s.predictor = predictor.to(system.device).eval()
    system.t2s.featurizer.embedder = embedder


# ---------------------------------------------------------------------------- workloads
def load_training_batch(train_args: argparse.Namespace, batch_size: int, extract_pitch_energy: bool = False):
    """``batch_size`` training utterances (spread over the sorted ids) loaded and padded as ESPnet's
    trainer does; without the precomputed pitch / energy with ``extract_pitch_energy``."""
    from espnet2.train.dataset import ESPnetDataset

    from prosody_plugin.tasks.tts import ProsodyTTSTask

    entries = [tuple(e) for e in train_args.train_data_path_and_name_and_type]
    entries = [e for e in entries if not (extract_pitch_energy and e[1] in ("pitch", "energy"))]
    missing = {"text", "speech", "durations"} - {e[1] for e in entries}
    if missing:
        raise ValueError(f"the training data (train_data_path_and_name_and_type) hold no {sorted(missing)}")
    dataset = ESPnetDataset(entries, preprocess=ProsodyTTSTask.build_preprocess_fn(train_args, train=False))
    keys = sorted(k for k in dataset if all(k in loader for loader in dataset.loader_dict.values()))
    if len(keys) < batch_size:
        raise ValueError(f"{len(keys)} training utterances, fewer than the batch size {batch_size}")
    chosen = [keys[int(i)] for i in np.linspace(0, len(keys) - 1, batch_size).round()]
    return ProsodyTTSTask.build_collate_fn(train_args, train=False)([dataset[k] for k in chosen])[1]


class TrainStep:
    """The stage-one training step on a copy of the model: forward (``ESPnetTTSModel``: features,
    normalisation, loss), backward, the config's ``grad_clip`` and Adam with its ``optim_conf``.
    Each step gets a fresh copy of the batch: ESPnet's GlobalMVN normalises in place."""

    def __init__(self, model, batch, device="cpu", optim_conf=None, grad_clip: float = 0.0):
        from espnet2.torch_utils.device_funcs import to_device

        self.model = copy.deepcopy(model).to(device).train()
        self.batch, self.grad_clip = to_device(batch, device), grad_clip
        self.optimizer = torch.optim.Adam(self.model.parameters(), **(optim_conf or {}))

    def __call__(self) -> float:
        with torch.enable_grad():
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.model(**{k: v.clone() for k, v in self.batch.items()})[0]
            loss.backward()
            if self.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
            self.optimizer.step()
        return float(loss.detach())


def extract_context(system: System, sentences: Sequence[str], batch_size: int) -> None:
    """Stage 8's computation (word front end, BERT, spaCy) over the sentences, no file writing."""
    t2s = system.t2s
    for start in range(0, len(sentences), batch_size):
        chunk = enumerate(sentences[start : start + batch_size], start + 1)
        for vector in t2s.featurizer([t2s.frontend.analyze(s, utt_id=f"sentence {i}") for i, s in chunk])[0]:
            vector.detach().cpu().numpy()


def breakdown_pieces(system: System, prompts: Sequence[str]) -> Dict[str, Callable[[], Any]]:
    """The pieces of batch-1 calls (each piece a callable over all the prompts, temperature 0)."""
    from torch.nn.utils.rnn import pad_sequence

    t2s, device = system.t2s, system.device
    analysed = [t2s._analyse(p, 0, True)[0] for p in prompts]
    prosody = [t2s.predict_prosody(u, 0.0) for u in analysed]

    def acoustic(utterances, conditioning):
        tokens = [torch.from_numpy(u.token_ids) for u in utterances]
        lengths = torch.tensor([len(t) for t in tokens], device=device)
        conditioning = None if t2s.system is None else conditioning
        return t2s.model.batch_inference(
            pad_sequence(tokens, batch_first=True).to(device), lengths, conditioning
        )

    pieces = {"Text2SpeechProsody": lambda: [t2s(p, temperature=0.0) for p in prompts]}
    if system.espnet is not None:
        pieces["ESPnet Text2Speech"] = lambda: [system.espnet(p) for p in prompts]
    pieces["  word front end"] = lambda: [t2s._analyse(p, 0, True) for p in prompts]
    if t2s.predictor is not None:
        f = t2s.featurizer
        features = [f(u) for u in analysed]
        parse = [
            [[getattr(u, a) for u in us] for a in ("words", "word_punctuation", "leading_punctuation")]
            for us in analysed
        ]
        pieces["  BERT"] = lambda: [f.embedder.embed([f.bert_words(u) for u in us]) for us in analysed]
        pieces["  spaCy"] = lambda: [f.syntax.analyze_batch(*words) for words in parse]
        predict = lambda b, x: t2s.predictor.predict(b, torch.from_numpy(x).to(device), 0.0)  # noqa: E731
        pieces["  stage two"] = lambda: [[predict(b, x) for b, x in zip(*feats)] for feats in features]
    pieces["  acoustic model"] = lambda: [acoustic(us, p) for us, p in zip(analysed, prosody)]
    return pieces


# ---------------------------------------------------------------------------- measuring
def cycle(items: Sequence[Any], n: int) -> List[Any]:
    return [items[i % len(items)] for i in range(n)]


def read_sentences(text_file: Path, num_sentences: Optional[int] = None) -> List[str]:
    """Texts of a Kaldi text file (``<utt_id> <text>``), cycled up to ``num_sentences``."""
    from prosody_plugin.data.kaldi_dir import read_kaldi_map

    texts = [t for t in read_kaldi_map(text_file).values() if t.strip()]
    if not texts:
        raise ValueError(f"--text_file {text_file} holds no text")
    return texts if num_sentences is None else cycle(texts, num_sentences)


class Bench:
    """``torch.utils.benchmark.Timer.blocked_autorange`` of callables, keeping every ``Measurement``."""

    def __init__(self, min_run_time: float, warmup: int):
        self.min_run_time, self.warmup, self.measurements = min_run_time, warmup, []

    def __call__(self, fn: Callable[[], Any], label: str, sub_label: str, system: str) -> float:
        """Median seconds of ``fn()`` after ``warmup`` untimed calls."""
        for _ in range(self.warmup):
            fn()
        names = dict(label=label, sub_label=sub_label, description=system)
        timer = tb.Timer("fn()", globals=dict(fn=fn), num_threads=torch.get_num_threads(), **names)
        self.measurements.append(timer.blocked_autorange(min_run_time=self.min_run_time))
        return self.measurements[-1].median


def measure(
    systems, sentences, batch_size: int, bench: Bench, where: str, train_batch=None, context=True
) -> Metrics:
    """The figures of :data:`METRICS` of every system on one device: ``{system: {key: value}}``."""
    metrics: Metrics = {s.name: dict.fromkeys(k for k, _ in METRICS) for s in systems}
    batch = cycle(sentences, batch_size)
    for s in systems:
        m, frames = metrics[s.name], []
        with torch.no_grad():
            label = f"{where}: latency, batch 1 (one call)"
            seconds = [
                bench(lambda: s.synthesize(t), label, f"sentence {i}", s.name)
                for i, t in enumerate(sentences, 1)
            ]
            m["latency_median_ms"], m["latency_p90_ms"] = (
                1e3 * np.median(seconds),
                1e3 * np.percentile(seconds, 90),
            )
            call = lambda: frames.append(sum(len(o["feat_gen"]) for o in s.t2s(batch, batch_size=batch_size)))  # noqa: E731
            seconds = bench(
                call, f"{where}: throughput (one call)", f"Text2SpeechProsody, {batch_size} texts", s.name
            )
            m["batch_sentences_per_s"], m["batch_frames_per_s"] = (
                batch_size / seconds,
                np.mean(frames) / seconds,
            )
            if context and s.t2s.predictor is not None:
                call = lambda: extract_context(s, sentences, batch_size)  # noqa: E731
                seconds = bench(call, f"{where}: context extraction", f"{len(sentences)} sentences", s.name)
                m["context_sentences_per_s"] = len(sentences) / seconds
        if train_batch is not None:
            grad_clip = float(getattr(s.train_args, "grad_clip", 0.0) or 0.0)
            step = TrainStep(
                s.t2s.model, train_batch, s.device, getattr(s.train_args, "optim_conf", None), grad_clip
            )
            m["train_step_ms"] = 1e3 * bench(step, f"{where}: training step", f"batch {batch_size}", s.name)
            del step
        m["acoustic_params_m"] = sum(p.numel() for p in s.t2s.tts.parameters()) / 1e6
    return metrics


def ratios(metrics: Metrics) -> Metrics:
    """``system / baseline`` of every figure (None where either is missing)."""
    if BASELINE not in metrics:
        raise ValueError(f"no {BASELINE!r} to compute the ratios against")
    base = metrics[BASELINE]
    ratio = lambda k, v: None if v is None or not base[k] else float(v / base[k])  # noqa: E731
    return {name: {k: ratio(k, v) for k, v in m.items()} for name, m in metrics.items() if name != BASELINE}


def run_benchmark(args: argparse.Namespace) -> Dict[str, Any]:
    """Every measurement the command line's options ask for (``prosody_plugin.bin.benchmark``)."""
    from torch.utils.collect_env import get_env_info, get_pretty_env_info

    if BASELINE not in args.systems:
        raise ValueError("--systems must include the baseline (the ratios are against it)")
    exps = find_exps(
        args.exps or default_exps(args.expdir, args.suffix), [n for n in SYSTEMS if n in args.systems]
    )
    sentences = read_sentences(args.text_file, args.num_sentences)
    bench = Bench(args.min_run_time, args.warmup)
    report = dict(settings=vars(args), exps=exps, sentences=sentences, results={}, breakdown={})
    report["load_average"] = [os.getloadavg()]
    for device in args.devices:
        runtime = args.bert_runtime if torch.device(device).type == "cpu" else "torch"
        models = (device, args.inference_model, args.context_inference_model, runtime)
        systems = [System(name, *exps[name], *models) for name in exps]
        check_same_inputs(systems, sentences)
        train_batch = None
        if not args.skip_training:
            train_batch = load_training_batch(
                systems[0].train_args, args.batch_size, args.extract_pitch_energy
            )
        torch.manual_seed(args.seed)
        metrics = measure(systems, sentences, args.batch_size, bench, device, train_batch)
        report["results"][device] = dict(metrics=metrics, ratios=ratios(metrics))
        for s in systems if args.breakdown else []:
            with torch.no_grad():
                for piece, fn in breakdown_pieces(s, sentences).items():
                    ms = (
                        1e3
                        * bench(fn, f"{device}: batch-1 breakdown (all sentences)", piece, s.name)
                        / len(sentences)
                    )
                    report["breakdown"].setdefault(device, {}).setdefault(piece, {})[s.name] = ms
        if args.full_size:
            for s in systems:
                make_full_size(s, args.full_size_configs, record_durations(s, sentences), args.seed)
            torch.manual_seed(args.seed)
            metrics = measure(
                systems, sentences, args.batch_size, bench, f"{device}, full size", context=False
            )
            report["results"][f"{device}, full size"] = dict(metrics=metrics, ratios=ratios(metrics))
        del systems
    report["load_average"].append(os.getloadavg())
    report["environment"] = dict(get_env_info()._asdict(), pretty=get_pretty_env_info())
    report["measurements"] = bench.measurements
    return report


# ---------------------------------------------------------------------------- report
def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    return [f"| {' | '.join(r)} |" for r in [header, ["---"] * len(header), *rows]]


def _fmt(value: Optional[float], suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:.2f}{suffix}" if abs(value) < 100 else f"{value:,.0f}{suffix}"


def markdown(report: Dict[str, Any]) -> str:
    """Per device (and size) the ratios and absolute figures, the breakdown, and
    ``torch.utils.benchmark.Compare`` of every measurement."""
    env, settings = report["environment"], report["settings"]
    cpu = [
        line.split(":", 1)[1].strip() for line in (env["cpu_info"] or "").splitlines() if "Model name" in line
    ]
    loads = " / ".join(" ".join(f"{v:.2f}" for v in la) for la in report["load_average"])
    lines = ["# Speed: ESPnet FastSpeech2 baseline vs Kathaka vs CAMP", ""]
    lines.append(
        f"torch {env['torch_version']}, {env['os']}, CPU {(cpu or ['?'])[0]}, "
        f"GPU {env['nvidia_gpu_models'] or 'none'}, {torch.get_num_threads()} torch threads, load average at "
        f"start / end {loads}; {len(report['sentences'])} sentences, batch {settings['batch_size']}, "
        f"{settings['warmup']} warm-up calls and at least {settings['min_run_time']} s per measurement "
        "(blocked_autorange: the median)\n"
    )
    label = lambda key: dict(METRICS)[key].format(B=settings["batch_size"])  # noqa: E731
    for where, result in report["results"].items():
        names = list(result["metrics"])
        rows = [[label(k)] + [_fmt(result["ratios"][n][k], "x") for n in names[1:]] for k, _ in METRICS]
        lines += [
            f"## {where}",
            "",
            "system / baseline (times: > 1 is slower; throughputs: > 1 is faster)",
            "",
        ]
        lines += _table(["figure"] + [f"{n} / {BASELINE}" for n in names[1:]], rows) + [""]
        rows = [[label(k)] + [_fmt(result["metrics"][n][k]) for n in names] for k, _ in METRICS]
        lines += _table(["figure"] + names, rows) + [""]
    for device, pieces in report["breakdown"].items():
        names = list(report["results"][device]["metrics"])
        rows = [
            [p.replace("  ", "&nbsp;&nbsp;")] + [_fmt(ms.get(n)) for n in names] for p, ms in pieces.items()
        ]
        lines += (
            [f"## {device}: batch-1 breakdown, ms per sentence", ""] + _table(["call"] + names, rows) + [""]
        )
    compare = tb.Compare(report["measurements"])
    compare.trim_significant_figures()
    lines += ["## Measurements (torch.utils.benchmark.Compare)", "", "```", str(compare).strip(), "```", ""]
    return "\n".join(lines)


def write_report(report: Dict[str, Any], output: Optional[Path]) -> str:
    """The markdown (returned), and OUTPUT.md + OUTPUT.json when ``output`` is given."""
    text = markdown(report)
    if output is not None:
        output = output.with_suffix("") if output.suffix in (".md", ".json") else output
        output.parent.mkdir(parents=True, exist_ok=True)
        Path(f"{output}.md").write_text(text, encoding="utf-8")
        fields = dict(
            label="label", sub_label="sub_label", system="description", median_s="median", iqr_s="iqr"
        )
        fields.update(times_s="times", number_per_run="number_per_run")
        measurements = [{k: getattr(m, a) for k, a in fields.items()} for m in report["measurements"]]
        text_json = json.dumps(dict(report, measurements=measurements), indent=2, default=str)
        Path(f"{output}.json").write_text(text_json + "\n", encoding="utf-8")
    return text
