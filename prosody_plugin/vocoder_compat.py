"""Vocoder adjustments: ParallelWaveGAN on current SciPy, reproducible Griffin-Lim.

``parallel_wavegan`` imports ``scipy.signal.kaiser``, which SciPy 1.13 removed (numpy 2 needs
it); the alias of ``scipy.signal.windows.kaiser`` is restored before a vocoder is loaded.
"""

from functools import partial
from pathlib import Path
from typing import Dict

import scipy.signal
import scipy.signal.windows
from espnet2.utils.griffin_lim import Spectrogram2Waveform


def enable_parallel_wavegan() -> None:
    """Make ``parallel_wavegan`` importable on SciPy >= 1.13."""
    if not hasattr(scipy.signal, "kaiser"):
        scipy.signal.kaiser = scipy.signal.windows.kaiser


def download_vocoder(vocoder_tag: str) -> Dict[str, Path]:
    """``vocoder_file`` and ``vocoder_config`` of ``parallel_wavegan/<tag>``, as ESPnet's Text2Speech.from_pretrained."""
    if not vocoder_tag.startswith("parallel_wavegan/"):
        raise ValueError(f"vocoder_tag {vocoder_tag!r}: unsupported format (expected parallel_wavegan/<tag>)")
    enable_parallel_wavegan()
    from parallel_wavegan.utils import download_pretrained_model

    vocoder_file = Path(download_pretrained_model(vocoder_tag.replace("parallel_wavegan/", "", 1)))
    return dict(vocoder_file=vocoder_file, vocoder_config=vocoder_file.parent / "config.yml")


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


class SeededSpectrogram2Waveform(Spectrogram2Waveform):
    """ESPnet's Griffin-Lim vocoder whose random initial phases a seed reproduces.

    librosa draws them from a fresh generator no seed reaches; here they come from numpy's
    global one, which ``set_all_random_seed`` seeds.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        params = {k: self.params[k] for k in ("n_fft", "n_shift", "win_length", "window", "n_iter")}
        self.griffin_lim = partial(_seeded_griffin_lim, **params)

    @classmethod
    def like(cls, vocoder: Spectrogram2Waveform) -> "SeededSpectrogram2Waveform":
        """The same vocoder (same parameters), seeded."""
        p = vocoder.params
        return cls(
            n_fft=p["n_fft"],
            n_shift=p["n_shift"],
            fs=p.get("fs"),
            n_mels=p.get("n_mels"),
            win_length=p["win_length"],
            window=p["window"],
            fmin=p.get("fmin"),
            fmax=p.get("fmax"),
            griffin_lim_iters=p["n_iter"],
        )


def reproducible_vocoder(vocoder):
    """ESPnet's Griffin-Lim vocoder as a :class:`SeededSpectrogram2Waveform`; others as they are."""
    if type(vocoder) is Spectrogram2Waveform:
        return SeededSpectrogram2Waveform.like(vocoder)
    return vocoder
