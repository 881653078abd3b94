"""Vocoder adjustments: ParallelWaveGAN on current SciPy, reproducible Griffin-Lim.

ParallelWaveGAN-family vocoders and current SciPy:

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


def _seeded_griffin_lim(spc, n_fft, n_shift, win_length=None, window="hann", n_iter=100):
    """ESPnet's griffin_lim with the initial phases drawn from numpy's global generator."""
    import librosa
    import numpy as np

    spc = np.abs(spc.T)
    return librosa.griffinlim(
        S=spc,
        n_iter=n_iter,
        hop_length=n_shift,
        win_length=win_length,
        window=window,
        center=spc.shape[1] > 1,
        random_state=np.random.randint(2**31 - 1),
    )


def make_griffin_lim_reproducible(vocoder) -> None:
    """Let a seed reproduce ESPnet's Griffin-Lim waveforms.

    librosa draws Griffin-Lim's random initial phases from a fresh ``np.random.default_rng()``
    on every call, which no seed reaches; ESPnet's ``Spectrogram2Waveform`` passes no
    ``random_state``. Here the phases come from numpy's global generator, which
    ``set_all_random_seed`` seeds. Other vocoders are left as they are.
    """
    from functools import partial

    from espnet2.utils.griffin_lim import Spectrogram2Waveform

    if isinstance(vocoder, Spectrogram2Waveform):
        params = {k: vocoder.params[k] for k in ("n_fft", "n_shift", "win_length", "window", "n_iter")}
        vocoder.griffin_lim = partial(_seeded_griffin_lim, **params)
