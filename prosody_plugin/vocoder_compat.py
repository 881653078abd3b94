"""Compatibility of ParallelWaveGAN-family vocoders with current SciPy.

ESPnet loads ``.pkl`` vocoders (``--vocoder_file``) through ``parallel_wavegan``, whose
last release (0.6.1) imports ``scipy.signal.kaiser``. SciPy 1.13 removed that alias of
``scipy.signal.windows.kaiser``, and numpy 2 needs SciPy >= 1.13, so the import fails. The
alias is restored before a vocoder is loaded; the function is the same one.
"""

import scipy.signal
import scipy.signal.windows


def enable_parallel_wavegan() -> None:
    """Make ``parallel_wavegan`` importable on SciPy >= 1.13."""
    if not hasattr(scipy.signal, "kaiser"):
        scipy.signal.kaiser = scipy.signal.windows.kaiser
