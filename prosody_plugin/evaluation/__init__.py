"""Objective evaluation of synthesized speech: spectral, pitch and word-level prosody metrics."""
