"""Untrained full-size experiment directories, for timing the GPU-config model sizes anywhere.

The benchmark reports text-to-mel latency and batched throughput against the ESPnet
FastSpeech2 baseline for the trained CPU demo models and also for the full model sizes of
the GPU configs (``conf/tuning/train_*_gpu.yaml``), measured on the same CPU. No full-size
model is trained on a CPU machine, and the GPU stage-two configs' BERT,
``bert-base-cased``, cannot be downloaded offline. For timing, random weights of the right
architecture are faithful: every layer does the same arithmetic whatever its values, as
long as the amount of work is the same, and the amount of work depends on the weights
through one quantity only, the number of mel frames the duration predictor asks for (see
the calibration below).

:func:`build_full_size_exps` writes, for each trained CPU exp, an exp directory that loads
exactly like a trained one (``config.yaml`` and a state dict, read by ESPnet's
``build_model_from_file``, ``espnet2.bin.tts_inference.Text2Speech``,
:class:`prosody_plugin.inference.Text2SpeechProsody` and
:func:`prosody_plugin.tasks.prosody_context.load_predictor`)::

    output_dir/
      tts_train_fastspeech2_cpu_fullsize/   config.yaml, model.pth, valid.loss.ave.pth -> model.pth
      tts_train_kathaka_cpu_fullsize/       (the same)
      tts_train_camp_cpu_fullsize/
      context_train_kathaka_sampler_cpu_fullsize/  config.yaml, model.pth (BERT included)
      context_train_camp_predictor_cpu_fullsize/
      bert_base_random/                     a random BERT of bert-base-cased's size (HF folder)
      full_size.json                        what was built from what (and the reuse key)

Stage one (:func:`full_size_tts_config`)
    The trained exp's ``config.yaml`` (token list, cleaner, G2P, data, feature extraction
    and normalisation statistics: the statistics must be the ones the model's front end was
    set up with) with every *model and training* option of the GPU config put in its place
    (``tts``, ``tts_conf``, optimiser, scheduler, batching, ...). The GPU config's front-end
    options (``feats_extract*``, ``normalize*``, ``pitch_*``, ``energy_*``) are not taken:
    the recipe completes them per corpus (the statistics files, the estimated F0 range;
    e.g. the recipe's GPU configs say f0min 80 / f0max 400 where the Asterisk exps use the
    corpus' estimate), and they are the same model sizes either way (80 mel bins). The
    differences are listed in ``full_size.json``. Recipe-relative paths (statistics, data,
    shape files) are made absolute, so the exps load from any working directory. The model
    is built with ``ProsodyTTSTask.build_model`` after ``torch.manual_seed(seed)``, i.e. the
    exact state a training run would start from (FastSpeech2's ``init_type``).

Stage two (:func:`full_size_context_config`, :func:`random_bert`)
    The trained context exp's ``config.yaml`` with the GPU context config's options
    (``predictor_conf``, ``bert_finetune: true``, training setup); the representation size
    (``latent_dim`` / ``word_embed_dim``) is the full-size stage one's, as the recipe sets
    it. ``bert-base-cased`` is replaced by a BERT of its architecture with random weights
    (``BertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
    intermediate_size=3072)``, pooler included as ``AutoModel`` loads it), saved with
    ``save_pretrained`` under ``bert_base_random/`` together with the tokenizer of the
    packaged offline all-MiniLM-L6-v2 (an uncased WordPiece tokenizer; bert-base-cased's own
    cased vocabulary is not available offline). The embedding table then has that
    tokenizer's 30522 rows instead of bert-base-cased's 28996 (1.2M more parameters, 1%;
    an embedding lookup costs the same whatever the table size), and the uncased
    vocabulary splits a text into about as many wordpieces as the cased one (a few more
    for capitalised words in the cased one). ``frontend_conf.bert_model`` records the
    folder (absolute path), so every loader finds it. With ``bert_finetune: true`` (the GPU
    configs) the predictor owns its BERT, so the context ``model.pth`` holds the BERT's
    weights too (about 440 MB) and loading reads them twice (``from_pretrained``, then the
    state dict), as it does for a GPU-trained model.

Duration calibration (:func:`calibrate_linear`, :func:`shift_for_frames`)
    A randomly initialised duration predictor outputs log-durations of arbitrary scale:
    with ESPnet's rounding ``max(0, round(exp(y) - 1))`` the untrained full-size models
    give 0 frames to 80-87% of the tokens (0.2-0.4 frames per token where the trained
    models give 3), so the decoder, the postnet and the length regulator would do a
    meaningless amount of work, and the baseline, Kathaka and CAMP would not even generate
    the same amount of speech. The only layer that is changed is therefore the duration
    predictor's final ``Linear`` (``duration_predictor.linear``): on the calibration
    sentences (the module's front end and, for Kathaka and CAMP, the full-size stage two;
    one utterance at a time), its log-domain outputs ``y`` over all tokens (eos included)
    are mapped affinely to ``a (y - mean(y)) + m``, i.e. the weight is multiplied by ``a``
    and the bias set to ``a (b - mean(y)) + m``. ``a = s / std(y)`` gives the target
    spread ``s`` in the log domain, and ``m`` is found (by bisection) so that the rounded
    durations give the target mean number of frames per token. With
    ``duration_target="trained"`` (default) the targets are those of the trained CPU
    model of the same system on the same sentences (through its own front end and trained
    stage two): the full-size model then generates as much speech as the CPU model whose
    timings it is compared with, so the two differ by model size only. With
    ``duration_target="data"`` they are those of the training data's durations (what a
    converged model would predict; on the Asterisk demo 4.2 frames per token with a
    log-domain spread of 0.59, where the 8-epoch CPU models predict about 3.0 with 0.25).
    Everything before the final linear is untouched, so its inputs do not change and the
    calibration is exact on these sentences (and carries over: on 16 held-out Asterisk
    eval prompts the full-size models give 2.97 / 3.19 / 2.93 frames per token where the
    trained CPU baseline / Kathaka / CAMP give 2.98 / 3.19 / 2.89); ``full_size.json``
    records the frames per token of the trained model, of the uncalibrated and of the
    calibrated full-size model. Pitch and energy predictions stay random (they are added as embeddings; their values
    do not change the work).

Sizes (ESPnet 202511, the demo's 53-token vocabulary): stage one 70.25M (baseline),
70.70M (Kathaka), 71.48M (CAMP) parameters (conformer blocks with macaron conv1d
feed-forward layers: 33M each for the encoder and the decoder); stage two 0.55M (Kathaka
sampler), 1.01M (CAMP predictor), plus the 109.5M of the BERT.

Reuse: a second call with the same inputs (the same files, seed, sentences and
calibration) finds ``full_size.json`` and returns the exps without rebuilding
(``rebuild=True`` forces it; :data:`FORMAT_VERSION` is part of the key). Building the three
systems takes 3-4 minutes on two busy CPU cores and 2.1 GB of disk; loading a full-size
Kathaka or CAMP pair takes 6-10 s (the BERT is read twice), the baseline about 4 s.

Command line (from the recipe directory)::

    python -m prosody_plugin.evaluation.full_size --output_dir scratch_fullsize --check
"""

import argparse
import copy
import json
import logging
import os
import statistics
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import yaml

from prosody_plugin.pack import sha256_file
from prosody_plugin.systems import BASELINE, SYSTEMS, system_class

logger = logging.getLogger("prosody_plugin.full_size")

PathLike = Union[str, Path]

#: Bumped when the output of :func:`build_full_size_exps` changes (invalidates reuse).
FORMAT_VERSION = 1

#: Stage-one options that stay the trained exp's: the front end and its statistics.
FRONTEND_KEYS = (
    "feats_extract", "feats_extract_conf", "normalize", "normalize_conf",
    "pitch_extract", "pitch_extract_conf", "pitch_normalize", "pitch_normalize_conf",
    "energy_extract", "energy_extract_conf", "energy_normalize", "energy_normalize_conf",
)  # fmt: skip

#: bert-base-cased's architecture (its config.json); the vocabulary follows the tokenizer.
BERT_BASE_CASED = dict(
    vocab_size=28996, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
    intermediate_size=3072, hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2,
    hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, layer_norm_eps=1e-12,
)  # fmt: skip

#: Calibration sentences (Asterisk-style prompts of varied length) when none are given.
DEFAULT_SENTENCES = (
    "Please enter your password followed by the pound key.",
    "Your call cannot be completed as dialed.",
    "Goodbye. Thank you for trying out the Asterisk Open Source PBX.",
    "The party you are trying to reach does not accept unidentified calls.",
    "Press 2 to change folders, press 3 for advanced options, press zero for mailbox options.",
    "All of our representatives are currently busy. Please stay on the line and your call "
    "will be answered by the next available representative.",
    "Do not disturb.",
    "Thank you. Please hold, while I attempt to connect you with your party!",
    "Is this the number you wanted to call?",
    "After the tone, say your name and then press the pound key.",
)

#: The file names of a built exp: the state dict, and the name the recipe's tools look for.
MODEL_FILE = "model.pth"
MODEL_ALIAS = "valid.loss.ave.pth"
BERT_FOLDER = "bert_base_random"
MANIFEST = "full_size.json"
#: What the calibrated durations match (:func:`build_full_size_exps`).
DURATION_TARGETS = ("trained", "data")

# Recipe-relative paths of a config that are made absolute (when they exist).
_PATH_KEYS = ("normalize_conf", "pitch_normalize_conf", "energy_normalize_conf")


# ---------------------------------------------------------------------------- small helpers
def count_parameters(module: torch.nn.Module) -> int:
    """Number of parameters of a module (buffers excluded)."""
    return sum(p.numel() for p in module.parameters())


def load_yaml(path: PathLike) -> Dict[str, Any]:
    with open(path, "r", encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def dump_config(config: Mapping[str, Any], path: PathLike) -> None:
    """Write a config.yaml as ESPnet's trainer does (no aliases, insertion order)."""
    from espnet2.utils.yaml_no_alias_safe_dump import yaml_no_alias_safe_dump

    with open(path, "w", encoding="utf-8") as f:
        yaml_no_alias_safe_dump(_plain(dict(config)), f, indent=4, sort_keys=False)


def _plain(value: Any) -> Any:
    """YAML-safe copy: paths to str, tuples to lists."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _resolve(path: str, bases: Sequence[Path]) -> Optional[str]:
    """``path`` made absolute against the first base where it exists (None: nowhere)."""
    if os.path.isabs(path):
        return path if os.path.exists(path) else None
    for base in bases:
        candidate = base / path
        if candidate.exists():
            return str(candidate.resolve())
    return None


def _recipe_bases(exp_dir: Path) -> List[Path]:
    """Where an exp's recipe-relative paths may start: the working directory, the recipe
    directory above ``exp/<name>``."""
    bases = [Path.cwd()]
    exp_dir = exp_dir.resolve()
    if exp_dir.parent.name == "exp":
        bases.append(exp_dir.parent.parent)
    return bases


def absolute_paths(config: Dict[str, Any], bases: Sequence[Path]) -> Dict[str, Any]:
    """Make the recipe-relative paths of a config absolute (in place; returned).

    Statistics files (``*normalize_conf.stats_file``) must exist (the model is built from
    them); data and shape files are made absolute where they exist and left as they are
    otherwise (they are not needed to load the model).
    """
    for key in _PATH_KEYS:
        conf = config.get(key)
        if isinstance(conf, dict) and conf.get("stats_file"):
            resolved = _resolve(str(conf["stats_file"]), bases)
            if resolved is None:
                raise FileNotFoundError(
                    f"{key}.stats_file {conf['stats_file']} found in none of {[str(b) for b in bases]}"
                )
            conf["stats_file"] = resolved
    for key in ("train_data_path_and_name_and_type", "valid_data_path_and_name_and_type"):
        for entry in config.get(key) or []:
            resolved = _resolve(str(entry[0]), bases)
            if resolved is not None:
                entry[0] = resolved
    for key in ("train_shape_file", "valid_shape_file"):
        if config.get(key):
            config[key] = [_resolve(str(p), bases) or p for p in config[key]]
    return config


def _save_exp(exp_dir: Path, config: Mapping[str, Any], model: torch.nn.Module) -> None:
    exp_dir.mkdir(parents=True, exist_ok=True)
    dump_config(config, exp_dir / "config.yaml")
    torch.save(model.state_dict(), exp_dir / MODEL_FILE)
    alias = exp_dir / MODEL_ALIAS
    if alias.is_symlink() or alias.exists():
        alias.unlink()
    alias.symlink_to(MODEL_FILE)


# ---------------------------------------------------------------------------- stage one
def full_size_tts_config(
    trained: Mapping[str, Any],
    full: Mapping[str, Any],
    exp_dir: Optional[PathLike] = None,
    full_config_path: Optional[PathLike] = None,
) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The config of an untrained full-size stage-one model.

    Args:
        trained: The trained exp's config.yaml (complete: token list, front end, data).
        full: The full-size (GPU) training config.
        exp_dir: The new exp directory (``output_dir`` of the config).
        full_config_path: Recorded as ``config``.

    Returns:
        The config, and the front-end options where ``full`` differs from ``trained``
        (``{key: {"trained": ..., "full": ...}}``; the trained exp's are kept).
    """
    config = copy.deepcopy(dict(trained))
    kept: Dict[str, Any] = {}
    for key, value in full.items():
        if key in FRONTEND_KEYS:
            if key in trained and value != trained[key]:
                kept[key] = dict(trained=trained[key], full=value)
            continue
        config[key] = copy.deepcopy(value)
    if config.get("tts") != full.get("tts"):
        raise ValueError(f"tts {full.get('tts')!r} of the full-size config was not applied")
    if exp_dir is not None:
        config["output_dir"] = str(exp_dir)
    if full_config_path is not None:
        config["config"] = str(Path(full_config_path).resolve())
    return config, kept


def build_tts_model(config: Mapping[str, Any], seed: int = 0) -> Tuple[torch.nn.Module, Dict[str, Any]]:
    """Build a stage-one model from a complete config as training does, seeded.

    Returns the model (``ProsodyESPnetTTSModel``) and the config as the task completed it.
    """
    import prosody_plugin  # noqa: F401  (registers kathaka / camp with ESPnet)
    from prosody_plugin.tasks.tts import ProsodyTTSTask

    args = argparse.Namespace(**copy.deepcopy(dict(config)))
    torch.manual_seed(seed)
    model = ProsodyTTSTask.build_model(args)
    return model.eval(), vars(args)


# ---------------------------------------------------------------------------- stage two
def random_bert(
    folder: PathLike,
    seed: int = 0,
    tokenizer: Optional[PathLike] = None,
    **config_overrides: Any,
) -> Path:
    """Save a BERT of bert-base-cased's architecture with random weights and a tokenizer.

    Args:
        folder: Output folder (``save_pretrained``: config.json, model.safetensors and the
            tokenizer files); ``AutoModel`` / ``AutoTokenizer`` load it.
        seed: Seed of the initialisation (BERT's own: normal with std 0.02).
        tokenizer: Folder or name of the fast tokenizer to ship; None: the packaged
            offline all-MiniLM-L6-v2 (uncased WordPiece, 30522 entries).
        **config_overrides: Options of ``BertConfig`` replacing :data:`BERT_BASE_CASED`
            (tests use a small one).

    The vocabulary is the tokenizer's when it is larger than the config's, so that every
    id fits.
    """
    from transformers import AutoTokenizer, BertConfig, BertModel

    from prosody_plugin.frontend.bert import default_model_path

    folder = Path(folder)
    tok = AutoTokenizer.from_pretrained(str(tokenizer or default_model_path()), use_fast=True)
    conf = dict(BERT_BASE_CASED, **config_overrides)
    conf["vocab_size"] = max(int(conf["vocab_size"]), len(tok))
    torch.manual_seed(seed)
    model = BertModel(BertConfig(**conf)).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    (folder / "README.md").write_text(
        "Random (untrained) weights of BERT's architecture for timing only, written by "
        "prosody_plugin.evaluation.full_size.random_bert; tokenizer: "
        f"{tokenizer or 'the packaged all-MiniLM-L6-v2 (uncased)'}.\n",
        encoding="utf-8",
    )
    return folder


def full_size_context_config(
    trained: Mapping[str, Any],
    full: Mapping[str, Any],
    tts_config: Mapping[str, Any],
    bert_model: PathLike,
    exp_dir: Optional[PathLike] = None,
    full_config_path: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """The config of an untrained full-size stage-two model.

    The trained context exp's config.yaml with the full (GPU) context config's options;
    ``frontend_conf`` is the trained one updated with the full one's, its ``bert_model``
    replaced by ``bert_model`` (absolute path); the predictor's representation size is the
    stage-one config's (``tts_config``), as the recipe sets it; ``input_size`` is the
    BERT's hidden size.
    """
    from transformers import AutoConfig

    from prosody_plugin.systems import check_pair, representation_size, system_class

    config = copy.deepcopy(dict(trained))
    for key, value in full.items():
        if key == "frontend_conf":
            continue
        config[key] = copy.deepcopy(value)
    frontend = dict(trained.get("frontend_conf") or {})
    frontend.update(full.get("frontend_conf") or {})
    frontend["bert_model"] = str(Path(bert_model).resolve())
    config["frontend_conf"] = frontend
    system = check_pair(tts_config, config)
    conf = dict(config.get("predictor_conf") or {})
    conf.pop("vocab_sizes", None)  # the task fills in the front end's current vocabularies
    conf[system_class(system).size_key] = representation_size(system, tts_config.get("tts_conf") or {})
    config["predictor_conf"] = conf
    config["input_size"] = int(AutoConfig.from_pretrained(frontend["bert_model"]).hidden_size)
    if exp_dir is not None:
        config["output_dir"] = str(exp_dir)
    if full_config_path is not None:
        config["config"] = str(Path(full_config_path).resolve())
    return config


def build_context_model(config: Mapping[str, Any], seed: int = 0) -> Tuple[torch.nn.Module, Dict[str, Any]]:
    """Build a stage-two model from a complete config as training does, seeded.

    With ``bert_finetune`` the predictor loads ``frontend_conf.bert_model`` as its own
    encoder (its weights are then part of the state dict).
    """
    from prosody_plugin.tasks.prosody_context import ProsodyContextTask

    args = argparse.Namespace(**copy.deepcopy(dict(config)))
    torch.manual_seed(seed)
    model = ProsodyContextTask.build_model(args)
    return model.eval(), vars(args)


# ---------------------------------------------------------------------------- calibration
def calibrate_linear(
    linear: torch.nn.Linear, inputs: torch.Tensor, target_mean: float, target_std: float
) -> Dict[str, float]:
    """Rescale a 1-output linear layer so that its outputs on ``inputs`` have the target
    mean and standard deviation (in place).

    ``y = W x + b`` becomes ``a (y - mean(y)) + m``: ``W <- a W``, ``b <- a (b - mean(y)) + m``
    with ``a = s / std(y)``. Returns the scale ``a`` and the outputs' statistics before.
    """
    if linear.out_features != 1 or linear.bias is None:
        raise ValueError("expected a linear layer with one output and a bias")
    with torch.no_grad():
        x = inputs.reshape(-1, linear.in_features).to(linear.weight)
        y = torch.nn.functional.linear(x, linear.weight, linear.bias).reshape(-1).double()
        mean = float(y.mean())
        std = float(y.std()) if y.numel() > 1 else 0.0
        scale = float(target_std) / std if std > 0 else 0.0
        linear.weight.mul_(scale)
        linear.bias.copy_(scale * (linear.bias - mean) + float(target_mean))
    return dict(scale=scale, mean_before=mean, std_before=std)


def durations_from_log(log_durations: torch.Tensor, offset: float = 1.0) -> torch.Tensor:
    """ESPnet's ``DurationPredictor.inference`` rounding: ``max(0, round(exp(y) - offset))``."""
    return torch.clamp(torch.round(log_durations.exp() - offset), min=0).long()


def shift_for_frames(log_shape: torch.Tensor, frames_per_token: float) -> float:
    """The shift ``m`` for which ``log_shape + m`` gives ``frames_per_token`` on average.

    ``log_shape`` are zero-mean log-durations (their spread); the mean number of frames
    after ESPnet's rounding (:func:`durations_from_log`) grows with ``m``, which is found
    by bisection (to the rounding's resolution).
    """
    log_shape = log_shape.double().reshape(-1)

    def frames(shift: float) -> float:
        return float(durations_from_log(log_shape + shift).double().mean())

    low, high = -10.0, 10.0
    for _ in range(60):
        mid = 0.5 * (low + high)
        if frames(mid) < frames_per_token:
            low = mid
        else:
            high = mid
    # the step of the rounding nearest to the target
    return low if abs(frames(low) - frames_per_token) < abs(frames(high) - frames_per_token) else high


def data_duration_stats(config: Mapping[str, Any], bases: Sequence[Path]) -> Tuple[float, float]:
    """Mean frames per token and standard deviation of ``log(d + 1)`` of the training
    durations of an exp (its ``durations`` data entry, a text_int file)."""
    for path, name, _ in config.get("train_data_path_and_name_and_type") or []:
        if name == "durations":
            resolved = _resolve(str(path), bases)
            if resolved is None:
                raise FileNotFoundError(f"durations {path} found in none of {[str(b) for b in bases]}")
            values = []
            with open(resolved, "r", encoding="utf-8") as f:
                for line in f:
                    values.extend(int(v) for v in line.split()[1:])
            d = torch.tensor(values, dtype=torch.float64)
            return float(d.mean()), float(torch.log(d + 1).std())
    raise ValueError("the exp's training data has no durations entry")


def _utterances(t2s: Any, sentences: Sequence[str]) -> List[Any]:
    """The front end's utterances of the sentences (each split as the synthesiser does)."""
    from prosody_plugin.frontend.words import split_sentences

    out = []
    for i, text in enumerate(sentences):
        for k, part in enumerate(s for s in split_sentences(text) if s.strip()):
            out.append(t2s.frontend.analyze(part, utt_id=f"sentence {i + 1}.{k + 1}"))
    return out


def duration_log_outputs(
    t2s: Any, sentences: Sequence[str], seed: int = 0, inputs: bool = False
) -> Dict[str, Any]:
    """Log-durations a loaded synthesiser predicts for the tokens of the sentences.

    ``t2s`` is a :class:`~prosody_plugin.inference.Text2SpeechProsody` (baseline included).
    Each utterance goes through its front end and stage two (``predict_prosody``) and then
    the acoustic model's one-utterance ``inference`` (no padding anywhere); the duration
    predictor's final linear layer is observed with a forward hook.

    Returns ``log`` (N,) the log-domain outputs over all tokens (eos included),
    ``durations`` (N,) the frames, ``tokens`` per utterance, and with ``inputs`` the
    linear layer's inputs (N, C).
    """
    linear = t2s.tts.duration_predictor.linear
    seen: List[Tuple[Optional[torch.Tensor], torch.Tensor]] = []

    def hook(module, args, output):
        x = args[0].detach().reshape(-1, args[0].shape[-1]) if inputs else None
        seen.append((x, output.detach().reshape(-1)))

    handle = linear.register_forward_hook(hook)
    durations, tokens = [], []
    torch.manual_seed(seed)
    try:
        with torch.no_grad():
            for u in _utterances(t2s, sentences):
                prosody = t2s.predict_prosody([u])[0]
                text = torch.from_numpy(u.token_ids).to(t2s.device)
                kwargs = {} if t2s.system is None else dict(prosody=prosody)
                before = len(seen)
                out = t2s.tts.inference(text, **kwargs)
                if len(seen) != before + 1 or seen[-1][1].numel() != out["duration"].numel():
                    raise RuntimeError("the duration predictor was not observed once per utterance")
                durations.append(out["duration"].reshape(-1).cpu())
                tokens.append(int(out["duration"].numel()))
    finally:
        handle.remove()
    result = dict(
        log=torch.cat([y for _, y in seen]).cpu(),
        durations=torch.cat(durations),
        tokens=tokens,
    )
    if inputs:
        result["inputs"] = torch.cat([x for x, _ in seen]).cpu()
    return result


def _load_t2s(config: PathLike, model: PathLike, context_config=None, context_model=None) -> Any:
    from prosody_plugin.inference import Text2SpeechProsody

    return Text2SpeechProsody(
        train_config=config, model_file=model, context_train_config=context_config,
        context_model_file=context_model, use_vocoder=False,
    )  # fmt: skip


# ---------------------------------------------------------------------------- the builder
def build_tts_exp(
    trained_exp: PathLike, full_config: PathLike, exp_dir: PathLike, seed: int = 0
) -> Tuple[torch.nn.Module, Dict[str, Any], Dict[str, Any]]:
    """Write one untrained full-size stage-one exp (config.yaml, model.pth, valid.loss.ave.pth).

    Returns the model, its config and the front-end options kept from the trained exp
    where the full config differs (:func:`full_size_tts_config`).
    """
    trained_exp, exp_dir = Path(trained_exp), Path(exp_dir).resolve()
    config, kept = full_size_tts_config(load_yaml(trained_exp / "config.yaml"), load_yaml(full_config), exp_dir, full_config)
    absolute_paths(config, _recipe_bases(trained_exp))
    model, config = build_tts_model(config, seed)
    _save_exp(exp_dir, config, model)
    return model, config, kept


def build_context_exp(
    trained_context_exp: PathLike,
    full_context_config: PathLike,
    tts_config: Mapping[str, Any],
    bert_model: PathLike,
    exp_dir: PathLike,
    seed: int = 0,
) -> Tuple[torch.nn.Module, Dict[str, Any]]:
    """Write one untrained full-size stage-two exp for the stage one of ``tts_config``,
    reading its BERT from ``bert_model`` (e.g. :func:`random_bert`'s folder)."""
    trained_context_exp, exp_dir = Path(trained_context_exp), Path(exp_dir).resolve()
    config = full_size_context_config(
        load_yaml(trained_context_exp / "config.yaml"), load_yaml(full_context_config), tts_config,
        bert_model, exp_dir, full_context_config,
    )  # fmt: skip
    absolute_paths(config, _recipe_bases(trained_context_exp))
    predictor, config = build_context_model(config, seed)
    _save_exp(exp_dir, config, predictor)
    return predictor, config


def _fingerprint(
    trained_exps, trained_context_exps, configs, context_configs, seed, sentences, model_file, context_model_file
) -> Dict[str, Any]:
    def files(exp: Path, model: str) -> Dict[str, str]:
        return {
            "config.yaml": sha256_file(exp / "config.yaml"),
            model: sha256_file(exp / model) if (exp / model).exists() else "",
        }

    return dict(
        format=FORMAT_VERSION,
        seed=seed,
        sentences=list(sentences),
        stage_one={k: dict(exp=str(Path(v).resolve()), files=files(Path(v), model_file),
                           config=sha256_file(configs[k])) for k, v in sorted(trained_exps.items())},
        stage_two={k: dict(exp=str(Path(v).resolve()), files=files(Path(v), context_model_file),
                           config=sha256_file(context_configs[k])) for k, v in sorted(trained_context_exps.items())},
    )  # fmt: skip


def _outputs_exist(manifest: Mapping[str, Any]) -> bool:
    for entry in manifest.get("exps", {}).values():
        for key in ("tts_exp", "context_exp"):
            if entry.get(key) and not (Path(entry[key]) / MODEL_FILE).is_file():
                return False
    return bool(manifest.get("exps"))


def build_full_size_exps(
    trained_exps: Mapping[str, PathLike],
    trained_context_exps: Mapping[str, PathLike],
    configs: Mapping[str, PathLike],
    context_configs: Mapping[str, PathLike],
    output_dir: PathLike,
    seed: int = 0,
    sentences: Optional[Sequence[str]] = None,
    model_file: str = MODEL_ALIAS,
    context_model_file: str = MODEL_ALIAS,
    calibrate: bool = True,
    duration_target: str = "trained",
    rebuild: bool = False,
) -> Dict[str, Tuple[Path, Optional[Path]]]:
    """Build untrained full-size exps that load like the trained ones (module docstring).

    Args:
        trained_exps: Label -> trained stage-one exp directory (its config.yaml gives the
            token list, front end, statistics; the label is free, e.g. "baseline",
            "kathaka", "camp"; the kind is read from the config's ``tts``).
        trained_context_exps: Label of a stage-one exp -> its trained stage-two exp
            (Kathaka, CAMP; none for the baseline).
        configs: Label -> full-size (GPU) stage-one training config.
        context_configs: Label -> full-size (GPU) stage-two training config.
        output_dir: Where the exps are written (``<trained exp name>_fullsize``).
        seed: Seed of every random initialisation (and of Kathaka's sampling during the
            calibration).
        sentences: Calibration sentences (default :data:`DEFAULT_SENTENCES`).
        model_file, context_model_file: Checkpoint names of the trained exps (calibration).
        calibrate: Calibrate the duration predictors (module docstring); False leaves the
            random initialisation as it is (durations are then meaningless).
        duration_target: What the calibrated durations match: "trained" (default), the
            durations the trained CPU model of the same system predicts for the
            calibration sentences; "data", those of the trained exp's training data
            (its ``durations`` file), i.e. what a converged model would predict.
        rebuild: Build even if ``output_dir`` holds exps built from the same inputs.

    Returns:
        Label -> (full-size stage-one exp dir, full-size stage-two exp dir or None). Each
        holds ``config.yaml`` and ``model.pth`` (also reachable as ``valid.loss.ave.pth``).
    """
    output_dir = Path(output_dir).resolve()
    trained_exps = {k: Path(v) for k, v in trained_exps.items()}
    trained_context_exps = {k: Path(v) for k, v in trained_context_exps.items()}
    configs = {k: Path(v) for k, v in configs.items()}
    context_configs = {k: Path(v) for k, v in context_configs.items()}
    for label in trained_context_exps:
        if label not in trained_exps:
            raise ValueError(f"context exp {label!r} has no stage-one exp of that label")
    for mapping, what in ((configs, "configs"), (context_configs, "context_configs")):
        source = trained_exps if mapping is configs else trained_context_exps
        missing = sorted(set(source) - set(mapping))
        if missing:
            raise ValueError(f"{what} lacks the full-size config of {missing}")
    if duration_target not in DURATION_TARGETS:
        raise ValueError(f"duration_target must be one of {DURATION_TARGETS}, got {duration_target!r}")
    sentences = list(sentences or DEFAULT_SENTENCES)
    key = _fingerprint(trained_exps, trained_context_exps, configs, context_configs, seed, sentences,
                       model_file, context_model_file)  # fmt: skip
    key["calibration"] = duration_target if calibrate else None
    manifest_path = output_dir / MANIFEST
    if not rebuild and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("key") == key and _outputs_exist(manifest):
            logger.info("%s: full-size exps built from the same inputs; reused", output_dir)
            return _paths(manifest)

    output_dir.mkdir(parents=True, exist_ok=True)
    if manifest_path.exists():
        manifest_path.unlink()  # invalid until this build completes
    bert_dir: Optional[Path] = None
    manifest: Dict[str, Any] = dict(key=key, exps={})
    for label, trained_exp in trained_exps.items():
        start = time.perf_counter()
        exp_dir = output_dir / f"{trained_exp.name}_fullsize"
        model, config, kept = build_tts_exp(trained_exp, configs[label], exp_dir, seed)
        entry: Dict[str, Any] = dict(
            tts=config["tts"], tts_exp=str(exp_dir), context_exp=None,
            trained_exp=str(trained_exp.resolve()), full_config=str(configs[label].resolve()),
            frontend_kept_from_trained=kept, tts_params=count_parameters(model.tts),
        )  # fmt: skip
        context_dir = None
        if label in trained_context_exps:
            if bert_dir is None:
                bert_dir = random_bert(output_dir / BERT_FOLDER, seed)
                manifest["bert"] = str(bert_dir)
            context_exp = trained_context_exps[label]
            context_dir = output_dir / f"{context_exp.name}_fullsize"
            predictor, context_config = build_context_exp(
                context_exp, context_configs[label], config, bert_dir, context_dir, seed
            )
            bert_params = count_parameters(predictor.word_encoder) if predictor.word_encoder is not None else 0
            entry.update(
                context_exp=str(context_dir), trained_context_exp=str(context_exp.resolve()),
                full_context_config=str(context_configs[label].resolve()),
                predictor=context_config["predictor"], input_size=context_config["input_size"],
                context_params=count_parameters(predictor) - bert_params, bert_params=bert_params,
            )  # fmt: skip
            del predictor
        if calibrate:
            entry["calibration"] = _calibrate(
                model, trained_exp, trained_context_exps.get(label), exp_dir, context_dir,
                model_file, context_model_file, sentences, seed, duration_target,
            )  # fmt: skip
            torch.save(model.state_dict(), exp_dir / MODEL_FILE)
        entry["build_s"] = round(time.perf_counter() - start, 1)
        manifest["exps"][label] = entry
        logger.info(
            "%s: %s, %.1fM stage-one parameters%s, %.0f s", label, exp_dir.name, entry["tts_params"] / 1e6,
            f", stage two {entry['context_params'] / 1e6:.2f}M + BERT {entry['bert_params'] / 1e6:.1f}M"
            if context_dir else "", entry["build_s"],
        )  # fmt: skip
        del model
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return _paths(manifest)


def _paths(manifest: Mapping[str, Any]) -> Dict[str, Tuple[Path, Optional[Path]]]:
    return {
        label: (Path(e["tts_exp"]), Path(e["context_exp"]) if e.get("context_exp") else None)
        for label, e in manifest["exps"].items()
    }


def _calibrate(
    model, trained_exp, trained_context_exp, exp_dir, context_dir, model_file, context_model_file, sentences, seed,
    duration_target,
) -> Dict[str, Any]:
    """Calibrate ``model``'s duration predictor (module docstring); returns what was done."""
    if duration_target not in DURATION_TARGETS:
        raise ValueError(f"duration_target must be one of {DURATION_TARGETS}, got {duration_target!r}")
    checkpoint = trained_exp / model_file
    if not checkpoint.exists():
        raise FileNotFoundError(f"{checkpoint}: the trained model is needed to calibrate the durations")
    t2s = _load_t2s(
        trained_exp / "config.yaml", checkpoint,
        None if trained_context_exp is None else trained_context_exp / "config.yaml",
        None if trained_context_exp is None else trained_context_exp / context_model_file,
    )  # fmt: skip
    trained = duration_log_outputs(t2s, sentences, seed)
    del t2s
    t2s = _load_t2s(
        exp_dir / "config.yaml", exp_dir / MODEL_FILE,
        None if context_dir is None else context_dir / "config.yaml",
        None if context_dir is None else context_dir / MODEL_FILE,
    )  # fmt: skip
    full = duration_log_outputs(t2s, sentences, seed, inputs=True)
    del t2s
    if duration_target == "trained":
        frames, log_std = float(trained["durations"].float().mean()), float(trained["log"].double().std())
    else:
        frames, log_std = data_duration_stats(load_yaml(trained_exp / "config.yaml"), _recipe_bases(trained_exp))
    linear = model.tts.duration_predictor.linear
    with torch.no_grad():
        y = torch.nn.functional.linear(full["inputs"], linear.weight, linear.bias).reshape(-1).double()
    shape = (y - y.mean()) / y.std() * log_std
    log_mean = shift_for_frames(shape, frames)
    info = calibrate_linear(linear, full["inputs"], log_mean, log_std)
    with torch.no_grad():
        after = durations_from_log(torch.nn.functional.linear(full["inputs"], linear.weight, linear.bias).reshape(-1))
    return dict(
        duration_target=duration_target, target_frames_per_token=frames, target_log_std=log_std,
        log_mean=log_mean, scale=info["scale"],
        log_mean_before=info["mean_before"], log_std_before=info["std_before"],
        trained_frames_per_token=float(trained["durations"].float().mean()),
        trained_log_mean=float(trained["log"].double().mean()),
        trained_log_std=float(trained["log"].double().std()),
        trained_zero_fraction=float((trained["durations"] == 0).float().mean()),
        trained_max_frames=int(trained["durations"].max()),
        uncalibrated_frames_per_token=float(full["durations"].float().mean()),
        uncalibrated_zero_fraction=float((full["durations"] == 0).float().mean()),
        uncalibrated_max_frames=int(full["durations"].max()),
        frames_per_token=float(after.float().mean()),
        zero_fraction=float((after == 0).float().mean()),
        max_frames=int(after.max()),
        tokens=int(after.numel()),
        utterances=len(full["tokens"]),
    )  # fmt: skip


# ---------------------------------------------------------------------------- the recipe's exps
RECIPE_SYSTEMS = (BASELINE, *SYSTEMS)


def recipe_inputs(recipe_dir: PathLike = ".") -> Tuple[Dict[str, Path], Dict[str, Path], Dict[str, Path], Dict[str, Path]]:
    """The four mappings of :func:`build_full_size_exps` for the recipe's CPU exps and GPU
    configs (labels "fastspeech2", "kathaka", "camp"): ``exp/tts_train_<system>_cpu``,
    ``exp/context_train_<predictor>_cpu``, ``conf/tuning/train_<name>_gpu.yaml``."""
    recipe_dir = Path(recipe_dir)
    exps = {}
    for system in RECIPE_SYSTEMS:
        context = None
        if system != BASELINE:
            context = recipe_dir / "exp" / f"context_train_{system_class(system).predictor_name}_cpu"
        exps[system] = (recipe_dir / "exp" / f"tts_train_{system}_cpu", context)
    return inputs_for(exps, {s: s for s in RECIPE_SYSTEMS}, recipe_dir / "conf" / "tuning")


def inputs_for(
    exps: Mapping[str, Tuple[Path, Optional[Path]]], systems: Mapping[str, str], configs_dir: Path
) -> Tuple[Dict[str, Path], Dict[str, Path], Dict[str, Path], Dict[str, Path]]:
    """The four mappings of :func:`build_full_size_exps` for trained exps under any labels.

    Args:
        exps: {label: (stage-one exp, stage-two exp or None)}.
        systems: {label: system name} (the registry's, or the baseline's ``fastspeech2``).
        configs_dir: Where the full-size configs are, as in the recipes' ``conf/tuning``:
            ``train_<system>_gpu.yaml`` and ``train_<predictor>_gpu.yaml``.
    """
    trained, context, configs, context_configs = {}, {}, {}, {}
    for label, (tts_exp, context_exp) in exps.items():
        system = systems[label]
        trained[label] = Path(tts_exp)
        configs[label] = Path(configs_dir) / f"train_{system}_gpu.yaml"
        if system != BASELINE:
            predictor = system_class(system).predictor_name
            context[label] = Path(context_exp)
            context_configs[label] = Path(configs_dir) / f"train_{predictor}_gpu.yaml"
    for path in [*configs.values(), *context_configs.values()]:
        if not path.is_file():
            raise ValueError(f"no full-size config {path}")
    return trained, context, configs, context_configs


# ---------------------------------------------------------------------------- checks
def check_full_size_exps(
    exps: Mapping[str, Tuple[Path, Optional[Path]]],
    sentence: str = DEFAULT_SENTENCES[0],
    repeats: int = 3,
    num_threads: Optional[int] = 2,
    model_file: str = MODEL_ALIAS,
) -> Dict[str, Dict[str, Any]]:
    """Load each exp like a user does and time one text-to-mel call (a rough number).

    Loads with :class:`~prosody_plugin.inference.Text2SpeechProsody` (``use_vocoder=False``)
    and, for the baseline, also with ESPnet's ``Text2Speech``; checks that each state dict
    has exactly the model's keys (ESPnet's loader does not); returns per label the
    parameter counts, the load time, the frames per token of the sentence and the median
    batch-1 latency (ms) over ``repeats`` calls after one warm-up call. ``model_file`` is
    the checkpoint name in each exp (trained exps can be checked alike).
    """
    from prosody_plugin.inference import Text2SpeechProsody

    if num_threads:
        torch.set_num_threads(num_threads)
    rows: Dict[str, Dict[str, Any]] = {}
    for label, (tts_exp, context_exp) in exps.items():
        start = time.perf_counter()
        t2s = Text2SpeechProsody(
            train_config=tts_exp / "config.yaml", model_file=tts_exp / model_file,
            context_train_config=None if context_exp is None else context_exp / "config.yaml",
            context_model_file=None if context_exp is None else context_exp / model_file,
            use_vocoder=False,
        )  # fmt: skip
        load_s = time.perf_counter() - start
        _check_keys(t2s.model, tts_exp / model_file)
        row: Dict[str, Any] = dict(tts=type(t2s.tts).__name__, tts_params=count_parameters(t2s.tts), load_s=load_s)
        if t2s.predictor is not None:
            _check_keys(t2s.predictor, context_exp / model_file)
            encoder = t2s.predictor.word_encoder
            bert = count_parameters(encoder) if encoder is not None else 0
            row.update(context_params=count_parameters(t2s.predictor) - bert, bert_params=bert or count_parameters(t2s.featurizer.embedder))
        out = t2s(sentence)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            t2s(sentence)
            times.append(time.perf_counter() - t0)
        row.update(
            frames=int(out["feat_gen"].shape[0]), tokens=int(out["duration"].numel()),
            frames_per_token=float(out["duration"].float().mean()),
            latency_ms=1000 * statistics.median(times),
        )  # fmt: skip
        if t2s.system is None:  # ESPnet's own loader too
            from espnet2.bin.tts_inference import Text2Speech

            espnet = Text2Speech(train_config=tts_exp / "config.yaml", model_file=tts_exp / model_file)
            espnet.vocoder = None
            _check_keys(espnet.model, tts_exp / model_file)
            row["espnet_frames"] = int(espnet(sentence)["feat_gen"].shape[0])
        rows[label] = row
        del t2s
    return rows


def _check_keys(model: torch.nn.Module, model_file: Path) -> None:
    state = torch.load(model_file, map_location="cpu", weights_only=False)
    expected = set(model.state_dict())
    if set(state) != expected:
        raise AssertionError(
            f"{model_file}: missing {sorted(expected - set(state))[:5]}, unexpected {sorted(set(state) - expected)[:5]}"
        )


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe_dir", default=".", help="The recipe (exp/ and conf/tuning/)")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--duration_target", choices=DURATION_TARGETS, default="trained")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--check", action="store_true", help="Load each exp, synthesise, time batch 1")
    parser.add_argument("--num_threads", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    logger.setLevel(logging.INFO)
    torch.set_num_threads(args.num_threads)
    exps = build_full_size_exps(
        *recipe_inputs(args.recipe_dir), args.output_dir, seed=args.seed,
        duration_target=args.duration_target, rebuild=args.rebuild,
    )  # fmt: skip
    manifest = json.loads((Path(args.output_dir) / MANIFEST).read_text(encoding="utf-8"))
    for label, entry in manifest["exps"].items():
        cal = entry.get("calibration", {})
        print(
            f"{label}: {entry['tts_exp']} ({entry['tts_params'] / 1e6:.2f}M)"
            + (f", {entry['context_exp']} ({entry['context_params'] / 1e6:.2f}M + BERT {entry['bert_params'] / 1e6:.1f}M)" if entry.get("context_exp") else "")
            + (f"; frames/token {cal['frames_per_token']:.2f} (target {cal['target_frames_per_token']:.2f}, trained "
               f"CPU model {cal['trained_frames_per_token']:.2f}, uncalibrated {cal['uncalibrated_frames_per_token']:.2f})"
               if cal else "")
        )  # fmt: skip
    if args.check:
        for label, row in check_full_size_exps(exps, num_threads=args.num_threads).items():
            print(f"{label}: " + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
