"""Speed and cost of Kathaka and CAMP against the ESPnet FastSpeech2 baseline.

Usage (from the recipe directory: the exp configs hold recipe-relative paths)::

    cd egs2/asterisk/prosody1
    python -m prosody_plugin.bin.benchmark                # the recipe's CPU exps, eval text
    python -m prosody_plugin.bin.benchmark \\
        --tts_exps exp/tts_train_fastspeech2_cpu exp/tts_train_kathaka_cpu exp/tts_train_camp_cpu \\
        --context_exps exp/context_train_kathaka_sampler_cpu exp/context_train_camp_predictor_cpu \\
        --text_file dump/raw/eval/text --num_sentences 16 --warmup 2 --repeats 5 \\
        --devices cpu --num_threads 2 --output bench/asterisk_cpu   # bench/asterisk_cpu.{md,json}

The kind of each experiment is read from its config.yaml (``tts``: fastspeech2 = baseline,
kathaka, camp; ``predictor``: kathaka_sampler, camp_predictor); ``--baseline_exp``,
``--kathaka_exp``, ``--camp_exp``, ``--kathaka_context_exp`` and ``--camp_context_exp``
name them one by one instead.

One run prints, per device (CPU always, CUDA too when available), a headline table of
ratios ``system / baseline`` and a table of absolute numbers:

1. **Text-to-mel latency, batch 1** (median and p90 over the sentences of the per-sentence
   median over ``--repeats``; ms), raw text in, mel-spectrogram out, front end included.
   Baseline: the plugin's ESPnet ``Text2Speech`` (ESPnet's class plus the prosody inputs,
   unused here) with ``vocoder = None``: ESPnet's preprocessor (cleaner + G2P + token ids)
   and ``FastSpeech2.inference``. Kathaka / CAMP: ``Text2SpeechProsody(use_vocoder=False)``:
   sentence splitting, cleaner + G2P, word alignment (G2P per word), BERT, spaCy, the
   stage-two predictor and the acoustic model, exactly as a user calls it.
2. **Throughput, batch** ``--batch_size`` (sentences/s and generated mel frames/s): one
   call of the public batched API, ``Text2SpeechProsody([...], batch_size=B)``, for every
   system (the baseline included: ESPnet has no batched TTS API): sentence splitting and the
   word front end per sentence, BERT and spaCy on the batch, the stage-two predictor, and
   one masked acoustic forward (each item's mel and durations equal its batch-1 result).
3. **Stage-one training step** at the same batch size: the same ``--batch_size`` real
   training utterances for every system, loaded like ESPnet's trainer loads them (the
   baseline config's ``train_data_path_and_name_and_type``, ``build_preprocess_fn(args,
   train=False)``, the task's ``CommonCollateFn``); pitch and energy come precomputed when
   the config lists them (as in training), or are extracted in the step with
   ``--extract_pitch_energy``. A step is ``model.train()``, ``loss = model(**batch)[0]``
   (``ESPnetTTSModel.forward``: feature extraction, normalisation, the TTS loss),
   ``backward``, gradient clipping (the config's ``grad_clip``) and an Adam step (the
   config's ``optim_conf``), on a copy of the model (the inference model stays untouched).
4. **Context-extraction throughput** (sentences/s) of the stage-two front end as stage 8
   (``extract_context_features``) runs it: word front end, BERT and spaCy over
   ``--num_sentences`` sentences in batches of ``--batch_size`` (file writing excluded).
   The baseline has no such stage: absolute numbers only, ratio n/a.

Timing: ``time.perf_counter`` around each call, with ``torch.cuda.synchronize()`` before
and after on CUDA; ``--warmup`` untimed calls per system first; inference under
``torch.no_grad()`` with every model in ``eval()``. The timed calls of the systems are
interleaved (round-robin), so that load from other processes affects all of them alike;
the same sentences and the same training batch go to every system, and the token ids of
the prosody front end are checked against the baseline's preprocessor. G2P (espeak) and
spaCy run on the CPU whatever the device. Ratios are ``system / baseline``: above 1 is
slower for times and faster for throughputs. On a CPU shared with other jobs, torch's
intra-op threads wait on each other and times scatter by 10x: ``--num_threads 1`` (or an
idle machine) gives numbers worth comparing; the load average is printed with the tables.
"""

import argparse
import copy
import json
import logging
import os
import platform
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from tqdm import tqdm

from prosody_plugin.systems import BASELINE as BASELINE_TTS
from prosody_plugin.systems import SYSTEMS as PROSODY_SYSTEMS
from prosody_plugin.systems import system_of_predictor

logger = logging.getLogger("prosody_plugin.benchmark")

BASELINE = "baseline"
SYSTEMS = (BASELINE, *PROSODY_SYSTEMS)
DEFAULT_TTS_EXPS = ("exp/tts_train_fastspeech2_cpu", "exp/tts_train_kathaka_cpu", "exp/tts_train_camp_cpu")
DEFAULT_CONTEXT_EXPS = ("exp/context_train_kathaka_sampler_cpu", "exp/context_train_camp_predictor_cpu")

# (key, label) of the reported metrics, in table order.
METRICS = (
    ("latency_median_ms", "text-to-mel latency, batch 1, median (ms)"),
    ("latency_p90_ms", "text-to-mel latency, batch 1, p90 (ms)"),
    ("batch_sentences_per_s", "throughput, batch {B} (sentences/s)"),
    ("batch_frames_per_s", "throughput, batch {B} (mel frames/s)"),
    ("train_step_ms", "training step, batch {B}, median (ms)"),
    ("context_sentences_per_s", "context extraction (sentences/s)"),
    ("acoustic_params_m", "stage-one parameters (M)"),
)


# ---------------------------------------------------------------------------- systems
@dataclass
class System:
    """One system under test and everything its measurements need.

    Attributes:
        name: "baseline", "kathaka" or "camp".
        model: The ESPnet TTS model (``ESPnetTTSModel``: feature extraction + ``tts``).
        synthesize: Raw text -> outputs with ``feat_gen``: the batch-1 text-to-mel API.
        batch_synthesize: A list of texts -> outputs: the batched API (Text2SpeechProsody).
        preprocess: Raw text -> token ids (ESPnet's preprocessor of the model's config).
        device: Torch device of the models.
        frontend, featurizer, predictor: The word front end, the context featurizer (BERT
            and spaCy) and the stage-two model (None for the baseline).
        temperature: Kathaka's sampling temperature (Text2SpeechProsody's default).
        optim_conf, grad_clip: Adam options and gradient clipping of the training step.
        train_args: The stage-one config (None when built in memory).

    """

    name: str
    model: torch.nn.Module
    synthesize: Callable[[str], Dict[str, Any]]
    batch_synthesize: Callable[..., List[Dict[str, Any]]]
    preprocess: Callable[[str], np.ndarray]
    device: str = "cpu"
    frontend: Any = None
    featurizer: Any = None
    predictor: Optional[torch.nn.Module] = None
    temperature: float = 1.0
    optim_conf: Dict[str, Any] = field(default_factory=dict)
    grad_clip: float = 0.0
    train_args: Optional[argparse.Namespace] = None

    @property
    def tts(self) -> torch.nn.Module:
        return self.model.tts

    @property
    def has_context(self) -> bool:
        return self.predictor is not None


def _read_yaml(path: Path) -> Dict[str, Any]:
    import yaml

    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def resolve_exps(
    systems: Sequence[str],
    tts_exps: Optional[Sequence[Path]] = None,
    context_exps: Optional[Sequence[Path]] = None,
    explicit: Optional[Dict[str, Path]] = None,
    explicit_context: Optional[Dict[str, Path]] = None,
) -> Dict[str, Tuple[Path, Optional[Path]]]:
    """{system: (stage-one exp, stage-two exp or None)} from lists of exps (kinds read from
    their configs: the registry's) and explicit per-system exps (which win); default lists:
    the recipe's CPU experiments that exist."""
    if tts_exps is None:
        tts_exps = [e for e in DEFAULT_TTS_EXPS if (Path(e) / "config.yaml").is_file()]
    if context_exps is None:
        context_exps = [e for e in DEFAULT_CONTEXT_EXPS if (Path(e) / "config.yaml").is_file()]
    found: Dict[str, Path] = {}
    for exp in tts_exps:
        tts = _read_yaml(Path(exp) / "config.yaml").get("tts")
        kind = BASELINE if tts == BASELINE_TTS else tts
        if kind not in SYSTEMS:
            raise ValueError(f"{exp}: tts {tts!r} is none of {[BASELINE_TTS, *PROSODY_SYSTEMS]}")
        if kind in found:
            raise ValueError(f"two {tts} experiments: {found[kind]} and {exp}")
        found[kind] = Path(exp)
    found_context: Dict[str, Path] = {}
    for exp in context_exps:
        predictor = _read_yaml(Path(exp) / "config.yaml").get("predictor")
        found_context[system_of_predictor(predictor)] = Path(exp)
    found.update({k: Path(v) for k, v in (explicit or {}).items() if v})
    found_context.update({k: Path(v) for k, v in (explicit_context or {}).items() if v})
    out = {}
    for name in systems:
        if name not in found:
            raise ValueError(f"no stage-one experiment for {name}: pass --{name}_exp or --tts_exps")
        if name != BASELINE and name not in found_context:
            raise ValueError(f"no stage-two experiment for {name}: pass --{name}_context_exp or --context_exps")
        out[name] = (found[name], found_context.get(name))
    return out


@contextmanager
def _quiet_logging(quiet: bool = True):
    """Silence the INFO logs (whole model printouts) of ESPnet's loaders meanwhile."""
    root = logging.getLogger()
    level = root.level
    if quiet:
        root.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(level)


def _optim_conf(train_args: argparse.Namespace, name: str) -> Dict[str, Any]:
    conf = dict(getattr(train_args, "optim_conf", None) or {})
    if getattr(train_args, "optim", "adam") != "adam":
        logger.warning(f"{name} was trained with {train_args.optim}; the step uses Adam {conf}")
    return conf


def load_system(
    name: str,
    tts_exp: Path,
    context_exp: Optional[Path],
    device: str = "cpu",
    model_file: str = "valid.loss.ave.pth",
    context_model_file: str = "valid.loss.ave.pth",
    quiet: bool = True,
    bert_runtime: str = "torch",
) -> System:
    """Load a system from its experiment dirs as its users would load it.

    Batch 1: the baseline through the plugin's ESPnet ``Text2Speech`` (ESPnet's class),
    Kathaka and CAMP through ``Text2SpeechProsody``; batched: ``Text2SpeechProsody`` for all
    (ESPnet has no batched TTS API), without vocoder (text to mel).
    """
    from prosody_plugin.decode import Text2Speech
    from prosody_plugin.inference import Text2SpeechProsody
    from prosody_plugin.systems import system_of_model

    config, checkpoint = tts_exp / "config.yaml", tts_exp / model_file
    with _quiet_logging(quiet):
        context = {}
        if context_exp is not None:
            context = dict(context_train_config=context_exp / "config.yaml", context_model_file=context_exp / context_model_file)
        synthesize = batched = Text2SpeechProsody(
            train_config=config, model_file=checkpoint, device=device, use_vocoder=False, bert_runtime=bert_runtime,
            **context,
        )
        found = system_of_model(batched.tts) or BASELINE
        if found != name:
            raise ValueError(f"{tts_exp} holds a {type(batched.tts).__name__} ({found}), not the {name} system")
        if name == BASELINE:
            synthesize = Text2Speech(train_config=config, model_file=checkpoint, device=device)
            synthesize.vocoder = None  # text to mel only
    text2speech = batched.text2speech
    train_args = text2speech.train_args
    preprocess_fn = text2speech.preprocess_fn
    return System(
        name=name,
        model=text2speech.model,
        synthesize=synthesize,
        batch_synthesize=batched,
        preprocess=lambda text: preprocess_fn("<dummy>", dict(text=text))["text"],
        device=device,
        frontend=batched.frontend if name != BASELINE else None,
        featurizer=getattr(batched, "featurizer", None),
        predictor=batched.predictor,
        optim_conf=_optim_conf(train_args, name),
        grad_clip=float(getattr(train_args, "grad_clip", 0.0) or 0.0),
        train_args=train_args,
    )


def check_same_inputs(systems: Sequence[System], sentences: Sequence[str]) -> None:
    """Every system turns every sentence into the same token ids (same token list, cleaner,
    G2P), the word front end included; otherwise the comparison would not be fair."""
    reference = systems[0]
    for text in dict.fromkeys(sentences):
        expected = np.asarray(reference.preprocess(text))
        for system in systems:
            got = [("preprocessor", np.asarray(system.preprocess(text)))]
            if system.frontend is not None:
                got.append(("word front end", system.frontend.analyze(text).token_ids))
            for what, ids in got:
                if not np.array_equal(ids, expected):
                    raise ValueError(
                        f"{system.name}'s {what} gives other token ids than {reference.name}'s "
                        f"preprocessor for {text!r}: the systems need the same token list, cleaner and g2p"
                    )


# ---------------------------------------------------------------------------- timing
def synchronize(device: str) -> None:
    """Wait for the device's queued kernels (CUDA); nothing to do on the CPU."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], Any], device: str) -> Tuple[float, Any]:
    """Milliseconds of ``fn()`` (device work included) and its result."""
    synchronize(device)
    start = time.perf_counter()
    out = fn()
    synchronize(device)
    return (time.perf_counter() - start) * 1000.0, out


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


# ---------------------------------------------------------------------------- batch inference
def batch_once(system: "System", sentences: Sequence[str]) -> Dict[str, float]:
    """One call of the public batched API on ``sentences``: ``Text2SpeechProsody(list)``."""
    ms, outs = time_call(lambda: system.batch_synthesize(sentences, batch_size=len(sentences)), system.device)
    return dict(
        total_ms=ms, frames=int(sum(o["feat_gen"].size(0) for o in outs)), batch_size=len(sentences), outputs=len(outs)
    )


# ---------------------------------------------------------------------------- training
def load_training_batch(
    train_args: argparse.Namespace,
    batch_size: int,
    preprocess_fn: Optional[Callable] = None,
    extract_pitch_energy: bool = False,
) -> Tuple[List[str], Dict[str, torch.Tensor]]:
    """``batch_size`` training utterances loaded and padded as ESPnet's trainer does.

    The data are the config's ``train_data_path_and_name_and_type`` (text, speech,
    durations, and precomputed pitch / energy unless ``extract_pitch_energy``); the
    utterances are spread evenly over the sorted training ids (deterministic).
    """
    from espnet2.train.dataset import ESPnetDataset

    from prosody_plugin.tasks.tts import ProsodyTTSTask

    entries = [tuple(e) for e in train_args.train_data_path_and_name_and_type]
    if extract_pitch_energy:
        entries = [e for e in entries if e[1] not in ("pitch", "energy")]
    names = [e[1] for e in entries]
    for required in ("text", "speech", "durations"):
        if required not in names:
            raise ValueError(f"the training data hold no {required!r} (train_data_path_and_name_and_type)")
    if preprocess_fn is None:
        preprocess_fn = ProsodyTTSTask.build_preprocess_fn(train_args, train=False)
    dataset = ESPnetDataset(entries, preprocess=preprocess_fn)
    keys = sorted(k for k in dataset if all(k in loader for loader in dataset.loader_dict.values()))
    if len(keys) < batch_size:
        raise ValueError(f"{len(keys)} training utterances, fewer than the batch size {batch_size}")
    chosen = [keys[int(i)] for i in np.linspace(0, len(keys) - 1, batch_size).round()]
    collate = ProsodyTTSTask.build_collate_fn(train_args, train=False)
    return collate([dataset[k] for k in chosen])


class TrainStep:
    """The stage-one training step on a copy of ``model``: forward, backward, Adam.

    Every step gets a fresh copy of the batch (untimed), as the trainer gets a fresh batch
    every iteration: ESPnet's ``GlobalMVN`` normalises tensors that need no gradient in
    place, so feeding the same tensors again would normalise the precomputed pitch and
    energy once more at every step.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        batch: Dict[str, torch.Tensor],
        device: str = "cpu",
        optim_conf: Optional[Dict[str, Any]] = None,
        grad_clip: float = 0.0,
    ):
        from espnet2.torch_utils.device_funcs import to_device

        self.model = copy.deepcopy(model).to(device)
        self.model.train()
        self.batch = to_device(batch, device)
        self.device = device
        self.grad_clip = grad_clip
        self.optimizer = torch.optim.Adam(self.model.parameters(), **(optim_conf or {}))

    def __call__(self) -> Tuple[float, float]:
        """One step; returns its milliseconds (device work included) and the loss."""
        batch = {k: v.clone() for k, v in self.batch.items()}
        synchronize(self.device)
        start = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.model(**batch)[0]
        loss.backward()
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        synchronize(self.device)
        return (time.perf_counter() - start) * 1000.0, float(loss.detach())


# ---------------------------------------------------------------------------- context extraction
def extract_context_once(system: System, sentences: Sequence[str], batch_size: int) -> int:
    """Stage 8's computation (words, BERT, spaCy) over ``sentences``; returns the words."""
    num_words = 0
    for start in range(0, len(sentences), batch_size):
        chunk = sentences[start : start + batch_size]
        utterances = [system.frontend.analyze(s, utt_id=f"sentence {start + i + 1}") for i, s in enumerate(chunk)]
        vectors, _ = system.featurizer(utterances)
        for vector, utterance in zip(vectors, utterances):
            vector.detach().cpu().numpy()  # stage 8 writes numpy arrays
            num_words += utterance.num_words
    return num_words


# ---------------------------------------------------------------------------- the benchmark
def cycle(items: Sequence[Any], n: int) -> List[Any]:
    """The first ``n`` items of ``items`` repeated as often as needed."""
    if not items:
        raise ValueError("nothing to cycle")
    return [items[i % len(items)] for i in range(n)]


def benchmark_systems(
    systems: Sequence[System],
    sentences: Sequence[str],
    train_batch: Optional[Dict[str, torch.Tensor]],
    batch_size: int = 16,
    warmup: int = 2,
    repeats: int = 5,
    progress: bool = True,
    context: bool = True,
) -> Dict[str, Dict[str, Any]]:
    """Run the four measurements on one device; returns {system: raw results}.

    Timed calls are interleaved over the systems (round-robin) after ``warmup`` untimed
    calls per system and measurement.
    """
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    devices = {s.device for s in systems}
    if len(devices) != 1:
        raise ValueError(f"systems on several devices: {devices}")
    device = devices.pop()
    raw: Dict[str, Dict[str, Any]] = {s.name: {} for s in systems}
    batch_sentences = cycle(sentences, batch_size)
    bar = dict(disable=not progress, leave=False, file=sys.stderr)

    with torch.no_grad():
        for system in systems:
            system.model.eval()
            if system.predictor is not None:
                system.predictor.eval()

        # 1. text-to-mel latency at batch 1, raw text in
        for system in systems:
            torch.manual_seed(0)
            for i in range(warmup):
                system.synthesize(sentences[i % len(sentences)])
        latency = {s.name: [[] for _ in sentences] for s in systems}
        frames = {s.name: [0] * len(sentences) for s in systems}
        for _ in tqdm(range(repeats), desc=f"[{device}] latency, batch 1", **bar):
            for i, text in enumerate(sentences):
                for system in systems:
                    ms, out = time_call(lambda: system.synthesize(text), device)
                    latency[system.name][i].append(ms)
                    frames[system.name][i] = int(out["feat_gen"].size(0))
        for system in systems:
            per_sentence = [float(np.median(t)) for t in latency[system.name]]
            raw[system.name]["latency"] = dict(
                median_ms=float(np.median(per_sentence)),
                p90_ms=percentile(per_sentence, 90),
                per_sentence_ms=per_sentence,
                samples_ms=latency[system.name],
                frames=frames[system.name],
            )

        # 2. throughput at batch_size: Text2SpeechProsody on the list (front end + one masked forward)
        for system in systems:
            for _ in range(warmup):
                batch_once(system, batch_sentences)
        runs: Dict[str, List[Dict[str, float]]] = {s.name: [] for s in systems}
        for _ in tqdm(range(repeats), desc=f"[{device}] batch {batch_size}", **bar):
            for system in systems:
                runs[system.name].append(batch_once(system, batch_sentences))
        for system in systems:
            r = runs[system.name]
            total_s = float(np.median([x["total_ms"] for x in r])) / 1000.0
            raw[system.name]["batch"] = dict(
                batch_size=batch_size,
                total_ms=total_s * 1000.0,
                sentences_per_s=batch_size / total_s,
                frames_per_s=float(np.median([x["frames"] / x["total_ms"] * 1000.0 for x in r])),
                runs=r,
            )

    # 3. stage-one training step on the same batch
    if train_batch is not None:
        steps = {}
        for system in systems:
            steps[system.name] = TrainStep(system.model, train_batch, device, system.optim_conf, system.grad_clip)
            for _ in range(warmup):
                steps[system.name]()
        times = {s.name: [] for s in systems}
        losses = {s.name: [] for s in systems}
        for _ in tqdm(range(repeats), desc=f"[{device}] training step", **bar):
            for system in systems:
                ms, loss = steps[system.name]()
                times[system.name].append(ms)
                losses[system.name].append(loss)
        for system in systems:
            raw[system.name]["train"] = dict(
                median_ms=float(np.median(times[system.name])),
                step_ms=times[system.name],
                losses=losses[system.name],
                batch_size=int(train_batch["text"].size(0)),
            )
        del steps
        if torch.device(device).type == "cuda":
            torch.cuda.empty_cache()

    # 4. context extraction of the stage-two front end (none for the baseline)
    with torch.no_grad():
        with_context = [s for s in systems if s.has_context and context]
        for system in with_context:
            for _ in range(warmup):
                extract_context_once(system, sentences, batch_size)
        times = {s.name: [] for s in with_context}
        for _ in tqdm(range(repeats), desc=f"[{device}] context extraction", **bar):
            for system in with_context:
                ms, _ = time_call(lambda: extract_context_once(system, sentences, batch_size), device)
                times[system.name].append(ms)
        for system in with_context:
            median_ms = float(np.median(times[system.name]))
            raw[system.name]["context"] = dict(
                sentences=len(sentences),
                median_ms=median_ms,
                sentences_per_s=len(sentences) / median_ms * 1000.0,
                pass_ms=times[system.name],
            )

    for system in systems:
        raw[system.name]["acoustic_params"] = sum(p.numel() for p in system.tts.parameters())
        if system.predictor is not None:
            raw[system.name]["predictor_params"] = sum(p.numel() for p in system.predictor.parameters())
    return raw


def summarize(raw: Dict[str, Any]) -> Dict[str, Optional[float]]:
    """The table's metrics (:data:`METRICS`) of one system's raw results."""
    get = lambda *path: _dig(raw, path)  # noqa: E731
    params = raw.get("acoustic_params")
    return dict(
        latency_median_ms=get("latency", "median_ms"),
        latency_p90_ms=get("latency", "p90_ms"),
        batch_sentences_per_s=get("batch", "sentences_per_s"),
        batch_frames_per_s=get("batch", "frames_per_s"),
        train_step_ms=get("train", "median_ms"),
        context_sentences_per_s=get("context", "sentences_per_s"),
        acoustic_params_m=None if params is None else params / 1e6,
    )


def _dig(d: Dict[str, Any], path: Sequence[str]) -> Optional[float]:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def compute_ratios(
    metrics: Dict[str, Dict[str, Optional[float]]], baseline: str = BASELINE
) -> Dict[str, Dict[str, Optional[float]]]:
    """``system / baseline`` of every metric of every other system; None where either
    value is missing (e.g. the baseline has no context extraction) or the baseline's is 0."""
    if baseline not in metrics:
        raise ValueError(f"no {baseline!r} entry to compute ratios against")
    base = metrics[baseline]
    ratios = {}
    for name, values in metrics.items():
        if name == baseline:
            continue
        ratios[name] = {
            key: (None if value is None or base.get(key) in (None, 0) else value / base[key])
            for key, value in values.items()
        }
    return ratios


# ---------------------------------------------------------------------------- report
def hardware_info(devices: Sequence[str]) -> Dict[str, Any]:
    """CPU model, cores, torch threads, GPU names, load average and library versions."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    info: Dict[str, Any] = dict(
        cpu=cpu,
        cpu_cores=os.cpu_count(),
        cpu_cores_available=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        torch_interop_threads=torch.get_num_interop_threads(),
        load_average=list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        gpus=[torch.cuda.get_device_name(torch.device(d)) for d in devices if torch.device(d).type == "cuda"],
        platform=platform.platform(),
        python=platform.python_version(),
    )
    versions = {}
    for package in ("torch", "espnet", "transformers", "spacy", "torch_geometric", "numpy", "prosody_plugin"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    if versions["prosody_plugin"] is None:
        from prosody_plugin.version import __version__

        versions["prosody_plugin"] = __version__
    info["versions"] = versions
    return info


def _fmt(value: Optional[float]) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(f"{c:<{w}}" for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in rows)]


def format_report(report: Dict[str, Any]) -> str:
    """The markdown tables printed and written by ``--output``."""
    hw = report["hardware"]
    batch = report["settings"]["batch_size"]
    lines = ["# Benchmark: ESPnet FastSpeech2 baseline vs Kathaka vs CAMP", ""]
    lines.append(
        f"CPU: {hw['cpu']} ({hw['cpu_cores_available']} of {hw['cpu_cores']} cores available), "
        f"torch threads {hw['torch_threads']}, GPU: {', '.join(hw['gpus']) or 'none'}; "
        f"load average at start {_loads(hw['load_average'])}, at end {_loads(report.get('load_average_end'))}"
    )
    lines.append("Versions: " + ", ".join(f"{k} {v}" for k, v in hw["versions"].items()))
    lines.append("")
    for device, result in report["results"].items():
        names = list(result["metrics"])
        others = [n for n in names if n != BASELINE]
        label = lambda key: dict(METRICS)[key].format(B=batch)  # noqa: E731
        lines += [f"## {device}", "", "Headline: system / baseline (times: > 1 is slower; throughputs: > 1 is faster)", ""]
        # a ratio that is n/a (the baseline has no context extraction) shows the absolute value
        rows = [
            [label(key)]
            + [
                _ratio(result["ratios"][n][key])
                if result["ratios"][n][key] is not None or result["metrics"][n][key] is None
                else f"n/a ({_fmt(result['metrics'][n][key])})"
                for n in others
            ]
            for key, _ in METRICS
            if key != "acoustic_params_m"
        ]
        lines += _table(["metric"] + [f"{n} / {BASELINE}" for n in others], rows) + [""]
        rows = [[label(key)] + [_fmt(result["metrics"][n][key]) for n in names] for key, _ in METRICS]
        lines += ["Absolute", ""] + _table(["metric"] + names, rows) + [""]
    lines += [f"- {note}" for note in report.get("notes", [])]
    if report.get("wall_s") is not None:
        lines.append(f"- benchmark wall time {report['wall_s']:.0f} s (model loading included)")
    return "\n".join(lines) + "\n"


def _loads(values: Optional[Sequence[float]]) -> str:
    return "n/a" if not values else " ".join(f"{v:.2f}" for v in values)


def read_sentences(text_file: Path, num_sentences: Optional[int] = None) -> List[str]:
    """Texts of a Kaldi text file (``<utt_id> <text>``), cycled up to ``num_sentences``."""
    from prosody_plugin.data.kaldi_dir import read_kaldi_map

    texts = [t for t in read_kaldi_map(text_file).values() if t.strip()]
    if not texts:
        raise ValueError(f"{text_file} holds no text")
    if num_sentences is None:
        return texts
    if num_sentences > len(texts):
        logger.warning(f"{text_file} has {len(texts)} sentences: cycling them to {num_sentences}")
    return cycle(texts, num_sentences)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    return obj


def output_paths(output: Path) -> Tuple[Path, Path]:
    """OUTPUT.md and OUTPUT.json (a .md or .json suffix of OUTPUT is replaced)."""
    stem = output.with_suffix("") if output.suffix in (".md", ".json") else output
    return stem.parent / (stem.name + ".md"), stem.parent / (stem.name + ".json")


def run_benchmark(
    exps: Dict[str, Tuple[Path, Optional[Path]]],
    sentences: Sequence[str],
    devices: Sequence[str],
    batch_size: int = 16,
    warmup: int = 2,
    repeats: int = 5,
    inference_model: str = "valid.loss.ave.pth",
    context_inference_model: str = "valid.loss.ave.pth",
    skip_training: bool = False,
    extract_pitch_energy: bool = False,
    seed: int = 0,
    verbose: int = 1,
    sizes: Optional[Dict[str, Dict[str, Tuple[Path, Optional[Path]]]]] = None,
    settings: Optional[Dict[str, Any]] = None,
    source: str = "",
    bert_runtime: str = "torch",
) -> Dict[str, Any]:
    """Run every measurement; return the report (see :func:`format_report`).

    Args:
        exps: {system: (stage-one exp, stage-two exp or None)}, the baseline included.
        sentences: The texts.
        devices: Torch devices.
        sizes: Further sets of experiments measured on latency and throughput only,
            e.g. ``{"full size": exps}`` (:mod:`prosody_plugin.evaluation.full_size`).
        settings: Recorded in the report as they are (the command line's options).
        source: Where the sentences come from, for the notes.
        Others: as the command line's options.

    """
    if BASELINE not in exps:
        raise ValueError("the systems must include the baseline (the ratios are against it)")
    if batch_size < 1 or repeats < 1 or warmup < 0:
        raise ValueError("batch_size and repeats must be >= 1, warmup >= 0")
    for device in devices:
        if torch.device(device).type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {device}: CUDA is not available")
    started = time.perf_counter()
    all_sizes = {"": exps, **(sizes or {})}
    report: Dict[str, Any] = dict(
        hardware=hardware_info(devices),
        settings=dict(
            settings or {},
            batch_size=batch_size,
            devices=list(devices),
            num_sentences=len(sentences),
            exps={label or "trained": {n: [str(p) if p else None for p in e[n]] for n in e} for label, e in all_sizes.items()},
        ),
        sentences=list(sentences),
        results={},
    )
    from prosody_plugin.frontend.words import split_sentences

    split = sum(len(split_sentences(s)) > 1 for s in sentences)
    notes = [
        f"{len(sentences)} sentences{' from ' + source if source else ''}; batch {batch_size} = the first "
        f"{batch_size} of them (cycled); warm-up {warmup}, repeats {repeats}; "
        "timed calls interleaved over the systems",
        f"batch 1: {split} of the {len(sentences)} prompts hold several sentences, which "
        "Text2SpeechProsody synthesises as one batch (the baseline, through ESPnet's Text2Speech: as one sequence)",
        f"batched: Text2SpeechProsody called with a list of {batch_size} texts, for every system (ESPnet has "
        "no batched TTS API): front end on the batch, one masked acoustic forward; each item's mel and "
        "durations equal its batch-1 result (tests/test_batch_inference.py)",
    ]
    train_keys: Optional[List[str]] = None
    train_names: List[str] = []
    for label, size_exps in all_sizes.items():
        names = [n for n in SYSTEMS if n in size_exps]
        for device in devices:
            key = f"{device}, {label}" if label else device
            logger.info(f"[{key}] loading {', '.join(names)}")
            loaded = [
                load_system(n, size_exps[n][0], size_exps[n][1], device, inference_model,
                            context_inference_model, quiet=verbose < 2,
                            bert_runtime=bert_runtime if torch.device(device).type == "cpu" else "torch")  # fmt: skip
                for n in names
            ]
            check_same_inputs(loaded, sentences)
            train_batch = None
            if not skip_training and not label:
                baseline_args = loaded[0].train_args
                for system in loaded[1:]:
                    if [e[1] for e in system.train_args.train_data_path_and_name_and_type] != [
                        e[1] for e in baseline_args.train_data_path_and_name_and_type
                    ]:
                        logger.warning(f"{system.name} was trained on other data names than the baseline; "
                                       "the step uses the baseline's for every system")  # fmt: skip
                train_keys, train_batch = load_training_batch(baseline_args, batch_size,
                                                              extract_pitch_energy=extract_pitch_energy)  # fmt: skip
                train_names = [k for k in train_batch if not k.endswith("_lengths")]
            torch.manual_seed(seed)
            raw = benchmark_systems(loaded, sentences, train_batch, batch_size, warmup, repeats,
                                    progress=verbose > 0, context=not label)  # fmt: skip
            metrics = {name: summarize(r) for name, r in raw.items()}
            report["results"][key] = dict(metrics=metrics, ratios=compute_ratios(metrics), raw=raw)
            del loaded
    if train_keys is not None:
        notes.append(
            f"training step: the same {len(train_keys)} training utterances for every system "
            f"({', '.join(train_keys[:3])}, ...) with {', '.join(train_names)} (pitch/energy "
            f"{'precomputed, as in training' if 'pitch' in train_names else 'extracted in the step'}); "
            "Adam with each config's optim_conf and grad_clip, on a copy of the model"
        )
    notes.append("context extraction: stage 8's word front end + BERT + spaCy (no file writing); the baseline has none")
    for label in sizes or {}:
        notes.append(f"{label}: untrained models of those sizes (random weights, realistic durations), latency "
                     "and throughput only; see prosody_plugin/evaluation/full_size.py")  # fmt: skip
    report["notes"] = notes
    report["train_keys"] = train_keys
    report["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    report["wall_s"] = time.perf_counter() - started
    return report


def write_report(report: Dict[str, Any], output: Optional[Path]) -> str:
    """The report's tables (printed), and OUTPUT.md + OUTPUT.json when ``output`` is given."""
    text = format_report(report)
    if output is not None:
        md, js = output_paths(output)
        md.parent.mkdir(parents=True, exist_ok=True)
        md.write_text(text, encoding="utf-8")
        js.write_text(json.dumps(_jsonable(report), indent=2) + "\n", encoding="utf-8")
        logger.info(f"wrote {md} and {js}")
    return text
