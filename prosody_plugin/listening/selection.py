"""The material of a listening test: recordings (a Kaldi data dir), decoded systems (``NAME=DIR``) and which utterances."""

import re
from collections import OrderedDict
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

from prosody_plugin.data.kaldi_dir import read_kaldi_map
from prosody_plugin.evaluation.sentence_types import SENTENCE_TYPES, sentence_type
from prosody_plugin.systems import describe_decode


def describe(name: str) -> str:
    """A line saying what a system is: a decode of the recipe (the registry names them), else an extra baseline."""
    if name == "recording":
        return "the utterance's own recording"
    return describe_decode(name) or "extra baseline"


def safe_name(text: str) -> str:
    """``text`` as a file name and HTML id: letters, digits, ``_``, ``-`` and ``.`` only."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text) or "_"


class Recordings:
    """The recordings of a data dir: ``texts`` (shown text per utterance) and ``wavs``."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        for name in ("text", "wav.scp"):
            if not (self.data_dir / name).is_file():
                raise FileNotFoundError(
                    f"{self.data_dir / name} is missing (a Kaldi data dir of the recordings)"
                )
        text = self.data_dir / ("text.orig" if (self.data_dir / "text.orig").is_file() else "text")
        self.texts: Dict[str, str] = read_kaldi_map(text)
        self.wavs: Dict[str, str] = read_kaldi_map(self.data_dir / "wav.scp")
        for utt, path in self.wavs.items():
            if path.rstrip().endswith("|"):
                raise ValueError(
                    f"{self.data_dir / 'wav.scp'}: {utt}: piped wav.scp entries are not supported here"
                )

    def path(self, utt: str) -> Path:
        """The recording of ``utt``; FileNotFoundError naming it when it has none."""
        if utt not in self.wavs:
            raise FileNotFoundError(f"recording / {utt}: not in {self.data_dir / 'wav.scp'}")
        path = Path(self.wavs[utt])
        if not path.is_file():
            raise FileNotFoundError(f"recording / {utt}: {path} is missing")
        return path


class System:
    """One decode directory: its ``wav.scp`` (utterance -> wav path)."""

    def __init__(self, name: str, directory: Path):
        self.name, self.directory = name, Path(directory)
        scp = self.directory / "wav.scp"
        if not scp.is_file():
            raise FileNotFoundError(f"system {name}: {scp} is missing (decode it first)")
        self.wavs: Dict[str, str] = read_kaldi_map(scp)

    @property
    def description(self) -> str:
        return describe(self.name)

    def path(self, utt: str) -> Path:
        """The decode of ``utt``; FileNotFoundError naming the system and utterance when missing."""
        if utt not in self.wavs:
            raise FileNotFoundError(
                f"system {self.name} / {utt}: not decoded ({self.directory / 'wav.scp'} has no entry)"
            )
        path = Path(self.wavs[utt])
        if not path.is_file():
            raise FileNotFoundError(f"system {self.name} / {utt}: {path} is missing")
        return path


def parse_systems(values: Sequence[str]) -> "OrderedDict[str, System]":
    """``NAME=DIR`` arguments -> systems, in the order given; names must be unique."""
    systems: "OrderedDict[str, System]" = OrderedDict()
    for value in values:
        name, sep, directory = value.partition("=")
        if not sep or not name or not directory:
            raise ValueError(f"--system expects NAME=DECODE_DIR, got {value!r}")
        if name in systems or name in ("recording", "reference", "anchor"):
            raise ValueError(f"--system {value}: the name {name!r} is used twice or reserved")
        if safe_name(name) != name:
            raise ValueError(f"--system {value}: use letters, digits, '_', '-' and '.' in system names")
        systems[name] = System(name, Path(directory))
    return systems


def sentence_types(texts: Dict[str, str], spacy_model: Optional[str] = None) -> Dict[str, str]:
    """Each text's type (:data:`SENTENCE_TYPES`), from its punctuation and spaCy's POS tags."""
    import spacy

    from prosody_plugin.frontend.syntax import default_spacy_model

    nlp = spacy.load(spacy_model or default_spacy_model(), exclude=["ner", "lemmatizer", "parser"])
    keys = list(texts)
    return {
        k: sentence_type(texts[k], [t.pos_ for t in doc])
        for k, doc in zip(keys, nlp.pipe(texts[k] for k in keys))
    }


def spread_of_types(texts: Dict[str, str], types: Dict[str, str], num: int) -> List[str]:
    """Up to ``num`` utterances, taking the sentence types in turn; within a type the longest first (ties by id)."""
    queues = {
        kind: sorted((u for u in texts if types.get(u) == kind), key=lambda u: (-len(texts[u].split()), u))
        for kind in SENTENCE_TYPES
    }
    chosen: List[str] = []
    while len(chosen) < num and any(queues.values()):
        for kind in SENTENCE_TYPES:
            if queues[kind] and len(chosen) < num:
                chosen.append(queues[kind].pop(0))
    return chosen


def choose_utterances(
    recordings: Recordings,
    systems: Iterable[System],
    utts: Sequence[str] = (),
    num: int = 6,
    spacy_model: Optional[str] = None,
):
    """The utterances to present and their sentence types: ``(ids, {id: type})``.

    Args:
        utts: Explicit ids (each must have a recording). Empty: a spread of sentence types
            among the utterances every system decoded.
        num: How many when choosing.
    """
    systems = list(systems)
    if utts:
        unknown = [u for u in utts if u not in recordings.texts]
        if unknown:
            raise ValueError(
                f"unknown utterances {', '.join(unknown)}: not in {recordings.data_dir / 'text'}"
            )
        candidates = {u: recordings.texts[u] for u in utts}
    else:
        candidates = {
            u: t
            for u, t in recordings.texts.items()
            if u in recordings.wavs and all(u in s.wavs for s in systems)
        }
        if not candidates:
            raise ValueError("no utterance has a recording and a decode of every system")
    types = sentence_types(candidates, spacy_model)
    chosen = list(utts) if utts else spread_of_types(candidates, types, num)
    return chosen, {u: types[u] for u in chosen}


__all__ = [
    "Recordings",
    "System",
    "choose_utterances",
    "describe",
    "parse_systems",
    "safe_name",
    "sentence_types",
    "spread_of_types",
]
