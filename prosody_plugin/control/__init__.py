"""Prosody control: word emphasis; the variance controls are in :mod:`prosody_plugin.tts.variance_controls`."""
