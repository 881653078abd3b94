"""Automatic naturalness score (predicted MOS) of a waveform, fully offline.

:class:`NaturalnessPredictor` wraps DistillMOS (Stahl and Gamper, "Distillation and
pruning for scalable self-supervised representation-based speech quality assessment",
ICASSP 2025; PyPI ``distillmos``, MIT, weights inside the wheel): an XLS-R based speech
quality model distilled to a small convolutional transformer that predicts the mean
opinion score (1-5) of listeners from 16 kHz audio. On this machine a clean LJSpeech
utterance scores about 4.35, the same with white noise 1.96.

It is the closest offline stand-in for the MUSHRA listening tests by which Kathaka (+13.2%)
and CAMP (+26% of the gap to the recordings) were judged, and what it cannot tell matters:
it was trained on ratings of overall quality (noise, distortion, vocoder artefacts, the
kind of degradation a telephone or codec adds) of one utterance at a time, so it hears a
blurred spectrogram or a Griffin-Lim phase far more than a flat or misplaced intonation.
It does not know the text, so it cannot judge whether a question sounds like a question
or whether the emphasis falls on the right word, and it does not compare renditions side by
side as MUSHRA listeners do. Report it next to the word-level prosody metrics, never
instead of them, and run a listening test for claims about prosody.
"""

from typing import Optional

import numpy as np
import torch

MODEL_RATE = 16000


class NaturalnessPredictor:
    """Predicted MOS (DistillMOS) of waveforms at any sampling rate.

    Args:
        device: Torch device of the model.
    """

    name = "distillmos"

    def __init__(self, device: str = "cpu"):
        try:
            import distillmos
        except ImportError as e:
            raise ImportError("the naturalness score needs DistillMOS: pip install distillmos") from e
        self.device = device
        self.model = distillmos.ConvTransformerSQAModel().to(device).eval()

    @torch.inference_mode()
    def __call__(self, wav: np.ndarray, fs: int, name: Optional[str] = None) -> float:
        """Predicted MOS of one mono waveform (T,) at ``fs`` Hz."""
        wav = np.asarray(wav, dtype=np.float32).reshape(-1)
        if wav.size == 0 or not np.isfinite(wav).all():
            raise ValueError(f"{name or 'waveform'}: empty or non-finite audio cannot be scored")
        if fs != MODEL_RATE:
            import librosa

            wav = librosa.resample(wav, orig_sr=fs, target_sr=MODEL_RATE)
        score = self.model(torch.from_numpy(np.ascontiguousarray(wav))[None].to(self.device))
        return float(score.reshape(-1)[0])


__all__ = ["NaturalnessPredictor"]
