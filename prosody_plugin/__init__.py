"""Kathaka and CAMP prosody models for ESPnet TTS.

``import prosody_plugin`` registers the TTS classes ``kathaka``, ``camp`` and ``aligner``
in ESPnet's ``espnet2.tasks.tts.tts_choices``, next to ESPnet's own (fastspeech2, ...),
so that ``--tts kathaka`` works in every ESPnet TTS parser and loader.

Importing ``espnet2.tasks.tts`` takes about 10 s, which the data-preparation tools of this
package never need; so registration happens right away when ESPnet's TTS task is already
loaded, and otherwise the moment it is imported.
"""

import importlib
import importlib.abc
import importlib.util
import sys

from prosody_plugin.version import __version__

_TTS_TASK_MODULE = "espnet2.tasks.tts"
_PLUGIN_TTS_CLASSES = {
    "kathaka": "prosody_plugin.tts.kathaka:Kathaka",
    "camp": "prosody_plugin.tts.camp:CAMP",
    "aligner": "prosody_plugin.tts.aligner:ForwardSumAligner",
}


def _load(path: str):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def _register(tts_task_module) -> None:
    for name, path in _PLUGIN_TTS_CLASSES.items():
        tts_task_module.tts_choices.classes.setdefault(name, _load(path))


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    """Finder that lets ``espnet2.tasks.tts`` load normally, then registers the classes."""

    def find_spec(self, fullname, path, target=None):
        if fullname != _TTS_TASK_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        exec_module = spec.loader.exec_module

        def exec_module_and_register(module):
            exec_module(module)
            _register(module)

        spec.loader.exec_module = exec_module_and_register
        return spec


if _TTS_TASK_MODULE in sys.modules:
    _register(sys.modules[_TTS_TASK_MODULE])
elif not any(isinstance(f, _RegisterOnImport) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterOnImport())


def __getattr__(name):
    """Lazy access to the model classes: ``prosody_plugin.Kathaka`` etc."""
    classes = {"Kathaka": "kathaka", "CAMP": "camp", "ForwardSumAligner": "aligner"}
    if name in classes:
        return _load(_PLUGIN_TTS_CLASSES[classes[name]])
    raise AttributeError(f"module 'prosody_plugin' has no attribute {name!r}")


__all__ = ["CAMP", "ForwardSumAligner", "Kathaka", "__version__"]
