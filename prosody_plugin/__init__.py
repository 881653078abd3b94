"""Kathaka and CAMP prosody models for ESPnet TTS.

Importing the package registers the TTS classes ``kathaka``, ``camp`` and ``aligner`` in
ESPnet's ``espnet2.tasks.tts.tts_choices``, next to ESPnet's own (fastspeech2, ...).
"""

from espnet2.tasks.tts import tts_choices

from prosody_plugin.tts import CAMP, ForwardSumAligner, Kathaka
from prosody_plugin.version import __version__

PLUGIN_TTS_CLASSES = {"kathaka": Kathaka, "camp": CAMP, "aligner": ForwardSumAligner}
for _name, _cls in PLUGIN_TTS_CLASSES.items():
    tts_choices.classes.setdefault(_name, _cls)

__all__ = ["CAMP", "ForwardSumAligner", "Kathaka", "PLUGIN_TTS_CLASSES", "__version__"]
