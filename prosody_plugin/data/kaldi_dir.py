"""Read and write Kaldi-style data directories (``wav.scp``, ``text``, ``utt2spk``, ``spk2utt``, ``utt2num_samples``), sorted by key."""

from collections import OrderedDict
from pathlib import Path
from typing import Collection, Dict, Mapping, Sequence, Union

PathLike = Union[str, Path]

#: The files every data dir written by this package has.
KALDI_FILES = ("wav.scp", "text", "utt2spk", "spk2utt")
#: The per-utterance files :func:`drop_utterances` filters unless told otherwise.
UTTERANCE_FILES = ("wav.scp", "text", "utt2spk", "utt2num_samples")


def read_kaldi_map(path: PathLike) -> Dict[str, str]:
    """Read ``<key> <value>`` lines into a dict in file order; a repeated key raises ValueError.

    The value is everything after the first whitespace run (may be empty); blank lines are skipped.
    """
    mapping: Dict[str, str] = OrderedDict()
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.strip().split(maxsplit=1)
            key = parts[0]
            value = parts[1] if len(parts) > 1 else ""
            if key in mapping:
                raise ValueError(f"{path}:{line_no}: duplicated key '{key}'")
            mapping[key] = value
    return mapping


def write_kaldi_map(path: PathLike, mapping: Mapping[str, object], sort: bool = True) -> None:
    """Write a dict as ``<key> <value>`` lines (sorted by key unless ``sort=False``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted(mapping) if sort else list(mapping)
    with open(path, "w", encoding="utf-8") as f:
        for key in keys:
            if not key or any(c.isspace() for c in key):
                raise ValueError(f"{path}: invalid key {key!r} (empty or with whitespace)")
            f.write(f"{key} {mapping[key]}\n")


def utt2spk_to_spk2utt(utt2spk: Mapping[str, str]) -> Dict[str, str]:
    """Invert ``utt2spk`` into ``spk2utt`` (speakers and their utterances sorted)."""
    spk2utts: Dict[str, list] = {}
    for utt in sorted(utt2spk):
        spk2utts.setdefault(utt2spk[utt], []).append(utt)
    return {spk: " ".join(utts) for spk, utts in sorted(spk2utts.items())}


def write_spk2utt(path: PathLike, utt2spk: Mapping[str, str]) -> None:
    """Write ``spk2utt`` built from ``utt2spk``."""
    write_kaldi_map(path, utt2spk_to_spk2utt(utt2spk))


def write_data_dir(
    data_dir: PathLike,
    wav_scp: Mapping[str, str],
    text: Mapping[str, str],
    utt2spk: Mapping[str, str],
) -> None:
    """Write ``wav.scp``, ``text``, ``utt2spk`` and ``spk2utt`` of one data dir.

    The three maps must have the same keys.
    """
    if not (set(wav_scp) == set(text) == set(utt2spk)):
        raise ValueError(f"{data_dir}: wav.scp, text and utt2spk have different utterance ids")
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    write_kaldi_map(data_dir / "wav.scp", wav_scp)
    write_kaldi_map(data_dir / "text", text)
    write_kaldi_map(data_dir / "utt2spk", utt2spk)
    write_spk2utt(data_dir / "spk2utt", utt2spk)


def write_dropped(data_dir: PathLike, reasons: Mapping[str, str], append: bool = False) -> None:
    """Write ``<utt><TAB><reason>`` lines sorted by id to ``data_dir/dropped`` (or append them)."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(data_dir) / "dropped", "a" if append else "w", encoding="utf-8") as f:
        f.writelines(f"{utt}\t{reasons[utt]}\n" for utt in sorted(reasons))


def drop_utterances(
    data_dir: PathLike,
    keep: Collection[str],
    reasons: Mapping[str, str],
    files: Sequence[str] = UTTERANCE_FILES,
) -> None:
    """Drop utterances from a data dir in place, for the stages that reject some: each of ``files``
    keeps only the ids in ``keep``, ``spk2utt`` follows ``utt2spk``, ``reasons`` are appended to ``dropped``."""
    keep = set(keep)  # a list's membership test would make this quadratic on a large corpus
    for path in [Path(data_dir) / name for name in files]:
        write_kaldi_map(path, {k: v for k, v in read_kaldi_map(path).items() if k in keep})
    write_spk2utt(Path(data_dir) / "spk2utt", read_kaldi_map(Path(data_dir) / "utt2spk"))
    write_dropped(data_dir, reasons, append=True)
