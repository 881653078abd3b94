"""Kathaka and CAMP prosody models for ESPnet TTS.

``import prosody_plugin`` registers the TTS classes ``kathaka``, ``camp`` and ``aligner`` in
ESPnet's ``tts_choices`` and the G2P types of :mod:`prosody_plugin.text.g2p`, lazily: when the
ESPnet module is imported, as that import is slow. docs/architecture.md (ESPnet integration).
"""

import importlib
import importlib.abc
import importlib.util
import sys

from prosody_plugin.systems import OTHER_TTS_CLASSES, SYSTEMS
from prosody_plugin.systems import load_class as _load
from prosody_plugin.version import __version__

_TTS_TASK_MODULE = "espnet2.tasks.tts"
_PHONEME_TOKENIZER_MODULE = "espnet2.text.phoneme_tokenizer"
_PLUGIN_TTS_CLASSES = {**SYSTEMS, **OTHER_TTS_CLASSES}


def _register(tts_task_module) -> None:
    for name, path in _PLUGIN_TTS_CLASSES.items():
        tts_task_module.tts_choices.classes.setdefault(name, _load(path))


def _register_g2p(phoneme_tokenizer_module) -> None:
    from prosody_plugin.text.g2p import register

    register(phoneme_tokenizer_module)


# ESPnet module -> what registers the plugin's parts in it
_REGISTRATIONS = {_TTS_TASK_MODULE: _register, _PHONEME_TOKENIZER_MODULE: _register_g2p}


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    """Finder that lets an ESPnet module load normally, then registers the plugin's parts."""

    def __init__(self, pending):
        self.pending = dict(pending)

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.pending:
            return None
        register = self.pending.pop(fullname)
        sys.meta_path.remove(self)  # the module's own spec, without this finder
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            if self.pending:
                sys.meta_path.insert(0, self)
        exec_module = spec.loader.exec_module

        def exec_module_and_register(module):
            exec_module(module)
            register(module)

        spec.loader.exec_module = exec_module_and_register
        return spec


_pending = {}
for _module, _registration in _REGISTRATIONS.items():
    if _module in sys.modules:
        _registration(sys.modules[_module])
    else:
        _pending[_module] = _registration
if _pending and not any(isinstance(f, _RegisterOnImport) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterOnImport(_pending))


def __getattr__(name):
    """Lazy access to the model classes: ``prosody_plugin.Kathaka`` etc."""
    classes = {path.split(":")[1]: path for path in _PLUGIN_TTS_CLASSES.values()}
    if name in classes:
        return _load(classes[name])
    raise AttributeError(f"module 'prosody_plugin' has no attribute {name!r}")


__all__ = ["CAMP", "ForwardSumAligner", "Kathaka", "__version__"]
