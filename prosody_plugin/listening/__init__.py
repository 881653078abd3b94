"""Listening: a samples page and a MUSHRA test from a recipe's decodes, and their scoring.

* :mod:`~prosody_plugin.listening.audio`: stimulus preparation (resampling, the 3.5 kHz
  low-pass anchor, level alignment, padding);
* :mod:`~prosody_plugin.listening.selection`: the systems' decode dirs and the choice of
  utterances (a spread of sentence types);
* :mod:`~prosody_plugin.listening.samples`: the static samples page;
* :mod:`~prosody_plugin.listening.mushra`: the MUSHRA test (ITU-R BS.1534 shape) as a
  self-contained HTML/JavaScript page and as a webMUSHRA configuration;
* :mod:`~prosody_plugin.listening.analysis`: listeners' results -> post-screening, means
  with confidence intervals, Wilcoxon tests, the papers' relative improvement and gap closure.

``docs/listening_tests.md`` describes how to run a test with listeners.
"""
