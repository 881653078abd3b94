"""Prosody control: word emphasis (learnt in CAMP's word space, variance fallback elsewhere).

The variance controls themselves (rate, pitch, pitch range, energy) act inside the
acoustic model: :mod:`prosody_plugin.tts.variance_controls`.
"""
