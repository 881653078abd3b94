"""Prosody TTS models: Kathaka, CAMP, and the forward-sum aligner for durations."""

from prosody_plugin.tts.aligner import ForwardSumAligner
from prosody_plugin.tts.camp import CAMP
from prosody_plugin.tts.kathaka import Kathaka

__all__ = ["CAMP", "ForwardSumAligner", "Kathaka"]
