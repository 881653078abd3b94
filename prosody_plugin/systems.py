"""The registry of prosody systems: system name -> stage-one class, and what follows from it.

A *system* is a stage-one model class (a :class:`~prosody_plugin.tts.prosody_fastspeech2.ProsodyFastSpeech2`)
together with what the class declares about its representation: the stage-two predictor
that learns it from text (``predictor_name``), the config key of its size (``size_key``),
whether the model speaks without one (``has_default_prosody``), whether it has a row per
word (``per_word``), whether stage two samples it (``one_to_many``), and what its decodes
are called (``decodes``). ESPnet's FastSpeech2 is the baseline: no representation.

Every tool asks here instead of switching on types or names: ESPnet's model registration
(``import prosody_plugin``), stage 7 (which prosody sources to decode), stage 9 (targets),
stage 10 (the predictor's size), stages 12-13 (decode names, oracles, the one-to-many
spread and renditions), pack, inference, the listening pages and the benchmark. The shell recipe asks
through :mod:`prosody_plugin.recipe`. Adding a system is one class and one line in :data:`SYSTEMS`.

The classes are imported lazily: this module itself needs neither torch nor ESPnet.
"""

import importlib
from typing import Any, Dict, List, Mapping, Optional, Tuple

#: The ESPnet baseline's ``tts`` name.
BASELINE = "fastspeech2"

#: System name (the ``tts`` value of a training config) -> its stage-one class.
SYSTEMS: Dict[str, str] = {
    "kathaka": "prosody_plugin.tts.kathaka:Kathaka",
    "camp": "prosody_plugin.tts.camp:CAMP",
}

#: The plugin's other TTS classes that ESPnet's TTS task must know (no prosody system).
OTHER_TTS_CLASSES: Dict[str, str] = {"aligner": "prosody_plugin.tts.aligner:ForwardSumAligner"}

#: Decoding sources: "default" (the model's own prosody: the baseline, Kathaka's prior
#: mean) and "reference" (the utterance's own recording: the oracle) in stage 7,
#: "predicted" (stage two's, from text) in stage 11.
DEFAULT, REFERENCE, PREDICTED = "default", "reference", "predicted"

#: The baseline's one decode, as the classes' ``decodes``: (name suffix, description).
BASELINE_DECODES = {DEFAULT: ("", "FastSpeech2 (ESPnet), the baseline")}


def load_class(path: str) -> Any:
    """Import ``"module:Name"``."""
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def system_class(name: str) -> Any:
    """The stage-one class of a system name; ValueError naming the known ones."""
    if name not in SYSTEMS:
        raise ValueError(f"unknown prosody system {name!r}; known: {', '.join(SYSTEMS)}")
    return load_class(SYSTEMS[name])


def system_of_model(tts: Any) -> Optional[str]:
    """The system name of a TTS module, None for the baseline or any other model."""
    for name in SYSTEMS:
        if isinstance(tts, system_class(name)):
            return name
    return None


def system_of_predictor(predictor: str) -> str:
    """The system whose representation a stage-two predictor (its config name) learns."""
    for name in SYSTEMS:
        if system_class(name).predictor_name == predictor:
            return name
    known = ", ".join(system_class(n).predictor_name for n in SYSTEMS)
    raise ValueError(f"unknown predictor {predictor!r}; known: {known}")


def check_pair(train_config: Mapping[str, Any], context_config: Mapping[str, Any]) -> str:
    """Check that a stage-two config belongs to a stage-one config; return the system name."""
    name = train_config.get("tts")
    if name not in SYSTEMS:
        raise ValueError(f"tts is {name!r}, not a prosody system ({', '.join(SYSTEMS)})")
    expected = system_class(name).predictor_name
    if context_config.get("predictor") != expected:
        raise ValueError(
            f"predictor {context_config.get('predictor')!r} does not go with {name}; expected {expected}"
        )
    return name


def decodes(name: str) -> Dict[str, Tuple[str, str]]:
    """A system's decodes by prosody source: (decode name, description), as stage 12 names them.

    ``name`` may be the baseline; the decode name is ``<system>_<suffix>`` (the baseline's
    is its system name).
    """
    declared = BASELINE_DECODES if name == BASELINE else system_class(name).decodes
    return {
        source: (f"{name}_{suffix}" if suffix else name, description)
        for source, (suffix, description) in declared.items()
    }


def describe_decode(decode_name: str) -> Optional[str]:
    """What a decode name of stage 12 is (e.g. ``kathaka_sampled``), None for other names."""
    for name in [BASELINE, *SYSTEMS]:
        for label, description in decodes(name).values():
            if label == decode_name:
                return description
    return None


def prosody_sources(name: str) -> List[str]:
    """Stage 7's decoding sources of a system (``name`` may be the baseline)."""
    return [source for source in decodes(name) if source != PREDICTED]


def representation_size(name: str, tts_conf: Mapping[str, Any]) -> int:
    """The representation size of a system from its ``tts_conf`` (or the class default)."""
    import inspect

    cls = system_class(name)
    if cls.size_key in tts_conf:
        return int(tts_conf[cls.size_key])
    return int(inspect.signature(cls.__init__).parameters[cls.size_key].default)


__all__ = [
    "BASELINE",
    "BASELINE_DECODES",
    "DEFAULT",
    "PREDICTED",
    "REFERENCE",
    "SYSTEMS",
    "check_pair",
    "decodes",
    "describe_decode",
    "load_class",
    "prosody_sources",
    "representation_size",
    "system_class",
    "system_of_model",
    "system_of_predictor",
]
