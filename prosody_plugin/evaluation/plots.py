"""Prosody plots of a recipe run (stage 12) as PNG files: F0 contours with word boundaries,
Kathaka's latent space by sentence type, and training curves. Command line:
``prosody_plugin.bin.plot_prosody``.
"""

import textwrap
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from prosody_plugin.data.kaldi_dir import read_kaldi_map  # noqa: E402
from prosody_plugin.evaluation.metrics import world_f0  # noqa: E402
from prosody_plugin.evaluation.sentence_types import SENTENCE_TYPES, sentence_type  # noqa: E402


def save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def word_end_frames(durations: np.ndarray, word_ids: np.ndarray, num_words: int) -> np.ndarray:
    """Frame index where each word ends (W,), from token durations and the token-word map."""
    ends = np.zeros(num_words, dtype=np.int64)
    position = np.cumsum(durations)
    for token, word in enumerate(word_ids):
        if word >= 0:
            ends[word] = max(ends[word], position[token])
    return ends


def plot_f0_contours(
    data_dir: Path,
    durations: Path,
    train_config: Path,
    model_file: Path,
    systems: Mapping[str, Path],
    output_dir: Path,
    words: Optional[Path] = None,
    utts: Sequence[str] = (),
    num_utts: int = 3,
    f0_floor: Optional[float] = None,
    f0_ceil: Optional[float] = None,
) -> List[Path]:
    """One figure per utterance: recording and systems, F0 over time with word boundaries; returns the paths.

    Args:
        data_dir: Data dir of the recordings.
        durations: The recordings' phone durations.
        train_config, model_file: A stage-one model (token list, frame shift, F0 range).
        systems: Name -> decode dir, in plot order.
        output_dir: Where ``f0_<utt>.png`` go.
        words: Word labels (the context dir's ``words``).
        utts: The utterances to plot; empty: the ``num_utts`` longest.
        f0_floor, f0_ceil: F0 range (Hz); default: the model's ``pitch_extract_conf``.
    """
    from prosody_plugin.evaluation.scoring import DecodedSystem, Reference

    reference = Reference(train_config, model_file, data_dir, durations, words, f0_floor, f0_ceil)
    systems = {n: DecodedSystem(n, Path(d)) for n, d in systems.items()}
    utts = (
        list(utts)
        or sorted(
            (
                u
                for u in reference.texts
                if all(u in s.wavs for s in systems.values()) and u in reference.durations
            ),
            key=lambda u: -len(reference.texts[u].split()),
        )[:num_utts]
    )  # default: the longest sentences (most words to look at)
    written = []
    for utt in utts:
        word_ids, num_words = reference.token_word_ids(utt)
        labels = reference.words.get(utt, [])
        rows = [("recording", reference.load_wav(utt), reference.durations[utt])]
        for name, system in systems.items():
            durations = system.variances.get("durations", {}).get(utt)
            rows.append(
                (
                    name,
                    system.load_wav(utt, reference.fs),
                    None if durations is None else durations.astype(np.int64),
                )
            )
        fig, axes = plt.subplots(
            len(rows), 1, figsize=(10, 1.9 * len(rows)), sharex=True, sharey=True, squeeze=False
        )
        for ax, (name, wav, durations) in zip(axes[:, 0], rows):
            f0 = world_f0(wav, reference.fs, f0_floor=reference.f0_floor, f0_ceil=reference.f0_ceil)
            times = np.arange(len(f0)) * 0.005
            ax.plot(times, np.where(f0 > 0, f0, np.nan), lw=1.5)
            ax.set_ylabel(f"{name}\nF0 (Hz)", fontsize=8)
            if durations is not None and len(durations) == len(word_ids):
                ends = word_end_frames(durations, word_ids, num_words) * reference.frame_shift_s
                starts = np.concatenate([[0.0], ends[:-1]])
                for i, (start, end) in enumerate(zip(starts, ends)):
                    ax.axvline(end, color="0.6", lw=0.6, ls="--")
                    if i < len(labels):
                        ax.text(
                            (start + end) / 2,
                            1.0,
                            labels[i],
                            transform=ax.get_xaxis_transform(),
                            ha="center",
                            va="bottom",
                            fontsize=7,
                        )
            ax.grid(alpha=0.3)
        axes[-1, 0].set_xlabel("time (s)")
        fig.suptitle("\n".join(textwrap.wrap(f"{utt}: {reference.texts[utt]}", 150)), fontsize=9)
        written.append(save(fig, output_dir / f"f0_{utt}.png"))
    return written


def plot_latent_space(
    latent_scps: Sequence[Path],
    text_files: Sequence[Path],
    latent_dim: Optional[int],
    spacy_model: Optional[str],
    path: Path,
) -> Path:
    """PCA of Kathaka posterior means, coloured by sentence type."""
    from espnet2.fileio.npy_scp import NpyScpReader

    from prosody_plugin.frontend.syntax import SyntaxAnalyzer

    texts: Dict[str, str] = {}
    for f in text_files:
        texts.update(read_kaldi_map(f))
    keys, latents = [], []
    for scp in latent_scps:
        reader = NpyScpReader(str(scp))
        for key in reader.keys():
            if key in texts:
                target = reader[key]
                # stage 9 stores [mu, logvar]: the posterior mean is the first half
                latents.append(target[: latent_dim or len(target) // 2])
                keys.append(key)
    if len(keys) < 3:
        raise SystemExit(f"{len(keys)} latents with text: too few to project")
    x = np.stack(latents)
    x = x - x.mean(0)
    _, singular, vt = np.linalg.svd(x, full_matrices=False)
    projected = x @ vt[:2].T
    explained = singular[:2] ** 2 / np.sum(singular**2)
    nlp = SyntaxAnalyzer(spacy_model).nlp
    types = [
        sentence_type(texts[k], [t.pos_ for t in doc])
        for k, doc in zip(keys, nlp.pipe(texts[k] for k in keys))
    ]
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    for kind, marker in zip(SENTENCE_TYPES, "os^D"):
        chosen = np.array([t == kind for t in types])
        if chosen.any():
            ax.scatter(
                projected[chosen, 0],
                projected[chosen, 1],
                s=14,
                marker=marker,
                alpha=0.7,
                label=f"{kind} ({chosen.sum()})",
            )
    ax.set_xlabel(f"PC1 ({explained[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({explained[1]:.0%} of variance)")
    ax.set_title(f"Kathaka prosody latents (posterior means), {len(keys)} recordings")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, path)


def read_curves(exp_dir: Path) -> Dict[str, Dict[str, List[float]]]:
    """{key: {"train"/"valid": values per epoch}} from the experiment's trainer reporter."""
    import torch

    checkpoint = exp_dir / "checkpoint.pth"
    if not checkpoint.exists():
        raise FileNotFoundError(f"{checkpoint} is missing: is {exp_dir} a finished ESPnet training?")
    # the trainer's own checkpoint: its reporter stats are numpy scalars, not only tensors
    stats = torch.load(checkpoint, map_location="cpu", weights_only=False)["reporter"]["stats"]
    curves: Dict[str, Dict[str, List[float]]] = {}
    for epoch in sorted(stats):
        for split in ("train", "valid"):
            for key, value in stats[epoch].get(split, {}).items():
                if not isinstance(value, (int, float, np.number)):  # e.g. the epoch's wall time
                    continue
                curves.setdefault(key, {}).setdefault(split, []).append(float(value))
    return curves


def plot_training_curves(exp_dirs: Sequence[Path], path: Path) -> Path:
    """One panel per experiment: its main loss (and Kathaka's KL) for train and valid."""
    fig, axes = plt.subplots(1, len(exp_dirs), figsize=(3.6 * len(exp_dirs), 3.2), squeeze=False)
    for ax, exp_dir in zip(axes[0], exp_dirs):
        curves = read_curves(exp_dir)
        # stage one: the mel L1 (and Kathaka's KL); stage two: its loss
        keys = [k for k in ("l1_loss", "kl_loss") if k in curves] or [k for k in ("loss",) if k in curves]
        for key in keys:
            for split, style in (("train", "-"), ("valid", "--")):
                values = curves[key].get(split)
                if values:
                    ax.plot(
                        np.arange(1, len(values) + 1), values, style, marker=".", label=f"{key} ({split})"
                    )
        ax.set_title(exp_dir.name, fontsize=8)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save(fig, path)
