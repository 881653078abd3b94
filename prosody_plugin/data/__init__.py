"""Corpus preparation and Kaldi-style data directory helpers."""
