"""Text to speech with prosody from text context: Kathaka or CAMP plus their stage two.

In the spirit of ESPnet's :class:`espnet2.bin.tts_inference.Text2Speech`::

    >>> from prosody_plugin.inference import Text2SpeechProsody
    >>> tts = Text2SpeechProsody(
    ...     train_config="exp/tts_train_kathaka_cpu/config.yaml",
    ...     model_file="exp/tts_train_kathaka_cpu/valid.loss.ave.pth",
    ...     context_train_config="exp/context_train_kathaka_sampler_cpu/config.yaml",
    ...     context_model_file="exp/context_train_kathaka_sampler_cpu/valid.loss.ave.pth",
    ... )
    >>> out = tts("Please enter your agent number.")           # wav, feat_gen, duration, prosody
    >>> outs = tts("Thank you.", num_samples=3, temperature=0.8)  # three renditions (Kathaka)
    >>> out = tts("Thank you.", reference_wav="recording.wav")    # prosody transfer (Kathaka)
    >>> tts = Text2SpeechProsody.from_pretrained("exp/packed/tts_train_kathaka_cpu.zip")  # packed

Text goes through the same front end as training (cleaner, G2P, token list, words, BERT,
spaCy); the stage-two model predicts the prosody representation, which replaces the
reference encoder's; ESPnet's Text2Speech synthesises (Griffin-Lim, or ``vocoder_file``).
Long text is split into sentences, synthesised one by one and joined with short pauses.
Input that cannot be spoken (empty, punctuation or emoji only, ...) raises ValueError.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np
import soundfile as sf
import torch
from espnet2.torch_utils.set_all_random_seed import set_all_random_seed

from prosody_plugin.bin.tts_inference import Text2Speech
from prosody_plugin.frontend.words import TextFrontend, split_sentences
from prosody_plugin.tasks.prosody_context import load_predictor
from prosody_plugin.tts.camp import CAMP
from prosody_plugin.tts.kathaka import Kathaka

PathLike = Union[str, Path]


class Text2SpeechProsody:
    """Kathaka / CAMP synthesis with prosody predicted from text (or taken from a recording).

    Args:
        train_config, model_file: The stage-one model (config.yaml and checkpoint).
        context_train_config, context_model_file: Its stage-two model (Kathaka's sampler or
            CAMP's predictor). Optional for Kathaka, which then uses its prior mean or a
            ``reference_wav``; required for CAMP.
        vocoder_config, vocoder_file: A ParallelWaveGAN-family vocoder (``.pkl``);
            Griffin-Lim from the training frontend when not given.
        bert_model, spacy_model: Override the front end models recorded at training.
        device (str): "cpu" or "cuda".
        speed_control_alpha (float): FastSpeech2's speaking-rate control (>1: slower).
        sentence_pause (float): Seconds of silence between sentences of a long text.
        use_vocoder (bool): False stops at the mel-spectrogram (no ``wav`` in the output):
            text-to-mel only, e.g. for scoring the model's own prosody or benchmarking.

    """

    def __init__(
        self,
        train_config: PathLike,
        model_file: PathLike,
        context_train_config: Optional[PathLike] = None,
        context_model_file: Optional[PathLike] = None,
        vocoder_config: Optional[PathLike] = None,
        vocoder_file: Optional[PathLike] = None,
        bert_model: Optional[str] = None,
        spacy_model: Optional[str] = None,
        device: str = "cpu",
        speed_control_alpha: float = 1.0,
        sentence_pause: float = 0.2,
        use_vocoder: bool = True,
    ):
        self.text2speech = Text2Speech(
            train_config=train_config, model_file=model_file, vocoder_config=vocoder_config,
            vocoder_file=vocoder_file, device=device, speed_control_alpha=speed_control_alpha,
        )  # fmt: skip
        if not use_vocoder:
            self.text2speech.vocoder = None
        self.model = self.text2speech.model
        self.tts = self.model.tts
        if not isinstance(self.tts, (Kathaka, CAMP)):
            raise ValueError(f"{model_file} holds a {type(self.tts).__name__}, not Kathaka or CAMP")
        self.device = device
        self.sentence_pause = sentence_pause
        args = self.text2speech.train_args
        self.frontend = TextFrontend(cleaner=args.cleaner, g2p=args.g2p, token_list=args.token_list)

        self.predictor = None
        if context_train_config is not None:
            from prosody_plugin.frontend.context import ContextFeaturizer

            self.predictor, context_args = load_predictor(str(context_train_config), context_model_file, device)
            recorded = dict(getattr(context_args, "frontend_conf", None) or {})
            self.featurizer = ContextFeaturizer(
                bert_model or recorded.get("bert_model"),
                spacy_model or recorded.get("spacy_model"),
                # models trained before the front end read punctuation did not record it
                punctuation=recorded.get("punctuation", False),
                device=device,
                embedder=self.predictor.word_encoder,  # a fine-tuned BERT lives in the predictor
            )
            if self.featurizer.hidden_size != context_args.input_size:
                raise ValueError(
                    f"the BERT model gives {self.featurizer.hidden_size}-dim vectors, the stage-two "
                    f"model was trained on {context_args.input_size}: pass the same bert_model"
                )
        elif isinstance(self.tts, CAMP):
            raise ValueError("CAMP speaks from text only with its stage-two predictor: pass context_train_config")

    @classmethod
    def from_pretrained(
        cls,
        model_tag_or_zip: PathLike,
        vocoder_tag: Optional[str] = None,
        vocoder_file: Optional[PathLike] = None,
        **kwargs,
    ) -> "Text2SpeechProsody":
        """Build from a packed model (``prosody_plugin.bin.pack``), as ESPnet's Text2Speech.

        Args:
            model_tag_or_zip: A local archive (unpacked, with checks, into
                ``<its dir>/<its stem>`` or ``~/.cache/prosody_plugin/<stem>``), or a model
                tag of ``espnet_model_zoo`` (e.g. a Hugging Face repo ``user/name``).
            vocoder_tag: ``parallel_wavegan/<tag>``, downloaded by parallel_wavegan (as ESPnet).
            vocoder_file: A local ParallelWaveGAN-family ``.pkl`` instead.
            **kwargs: The other arguments of :class:`Text2SpeechProsody`.

        """
        from prosody_plugin.pack import check_unpacked, default_unpack_dir, unpack_model

        if Path(model_tag_or_zip).is_file():
            paths = unpack_model(model_tag_or_zip, default_unpack_dir(model_tag_or_zip))
        else:
            try:
                from espnet_model_zoo.downloader import ModelDownloader
            except ImportError as e:
                raise ImportError(
                    f"{model_tag_or_zip} is no local file, and downloading a model tag needs "
                    "espnet_model_zoo: pip install espnet_model_zoo"
                ) from e
            paths = ModelDownloader().download_and_unpack(str(model_tag_or_zip))
            check_unpacked(paths)
        if vocoder_tag is not None:
            if not vocoder_tag.startswith("parallel_wavegan/"):
                raise ValueError(f"{vocoder_tag} is unsupported format (expected parallel_wavegan/<tag>)")
            from prosody_plugin.vocoder_compat import enable_parallel_wavegan

            enable_parallel_wavegan()
            from parallel_wavegan.utils import download_pretrained_model

            vocoder_file = download_pretrained_model(vocoder_tag.replace("parallel_wavegan/", "", 1))
            kwargs.setdefault("vocoder_config", Path(vocoder_file).parent / "config.yml")
        return cls(**paths, vocoder_file=vocoder_file, **kwargs)

    @property
    def fs(self) -> Optional[int]:
        """Sampling rate of the output waveforms."""
        return self.text2speech.fs

    def _reference_prosody(self, reference_wav: Union[PathLike, np.ndarray]) -> torch.Tensor:
        if isinstance(self.tts, CAMP):
            raise ValueError(
                "CAMP transfers prosody word by word and needs the reference's phone durations: "
                "use prosody_plugin.bin.tts_inference --use_reference_prosody with the data's durations"
            )
        if isinstance(reference_wav, (str, Path)):
            speech, rate = sf.read(reference_wav, dtype="float32", always_2d=True)
            speech = speech[:, 0]
            if rate != self.fs:
                import librosa

                speech = librosa.resample(speech, orig_sr=rate, target_sr=self.fs)
        else:
            speech = np.asarray(reference_wav, dtype=np.float32)
        if speech.size == 0 or not np.abs(speech).max() > 0:
            raise ValueError("reference_wav is empty or silent")
        feats = self.model.reference_feats(torch.from_numpy(speech).to(self.device))[None]
        mu, _ = self.tts.encode_prosody(feats, torch.tensor([feats.size(1)], device=self.device))
        return mu[0]

    def predict_prosody(self, utterance, temperature: float = 1.0) -> torch.Tensor:
        """Stage two's prosody representation of one front-end ``Utterance`` (see ``frontend``)."""
        if self.predictor is None:  # Kathaka without stage two: the prior mean
            return torch.zeros(self.tts.latent_dim, device=self.device)
        bert, syntax = self.featurizer([utterance])
        return self.predictor.predict(bert[0].to(self.device), torch.from_numpy(syntax[0]).to(self.device), temperature)

    @torch.no_grad()
    def __call__(
        self,
        text: str,
        temperature: float = 1.0,
        num_samples: int = 1,
        reference_wav: Union[PathLike, np.ndarray, None] = None,
        seed: Optional[int] = None,
    ) -> Union[Dict[str, Any], List[Dict[str, Any]]]:
        """Synthesise ``text``.

        Args:
            text (str): Any length; split into sentences.
            temperature (float): Kathaka sampling temperature (0: the predicted mean).
            num_samples (int): Renditions to return (a list when > 1).
            reference_wav: Take the prosody of this recording (path or waveform at ``fs``)
                instead of predicting it (Kathaka).
            seed (Optional[int]): Seed of the sampling, for reproducible renditions.

        Returns:
            Dict with ESPnet Text2Speech's keys ``wav`` (T_wav,; absent without vocoder),
            ``feat_gen`` (T_feats, odim), ``duration``, ``pitch`` and ``energy`` (the
            predicted token-level values, denormalised; T_text + 1 per sentence,
            concatenated) and ``prosody`` (one representation per sentence); a list of
            them when ``num_samples > 1``.

        """
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("empty text: nothing to say")
        sentences = [s for s in split_sentences(text) if s.strip()]
        utterances = [self.frontend.analyze(s, utt_id=f"sentence {i + 1}") for i, s in enumerate(sentences)]
        if seed is not None:  # the sampler draws from torch, Griffin-Lim's phases from numpy
            set_all_random_seed(seed)
        reference = None if reference_wav is None else self._reference_prosody(reference_wav)
        renditions = [self._synthesize(utterances, temperature, reference) for _ in range(num_samples)]
        return renditions[0] if num_samples == 1 else renditions

    def _synthesize(self, utterances, temperature: float, reference: Optional[torch.Tensor]) -> Dict[str, Any]:
        outputs = []
        for utterance in utterances:
            prosody = reference if reference is not None else self.predict_prosody(utterance, temperature)
            out = self.text2speech(torch.from_numpy(utterance.token_ids).to(self.device), prosody=prosody)
            outputs.append(out)
        result = dict(
            feat_gen=torch.cat([o["feat_gen"].cpu() for o in outputs]),
            duration=torch.cat([o["duration"].cpu() for o in outputs]),
            pitch=torch.cat([o["pitch_denorm"].cpu() for o in outputs]),
            energy=torch.cat([o["energy_denorm"].cpu() for o in outputs]),
            prosody=[o["prosody"].cpu() for o in outputs] if len(outputs) > 1 else outputs[0]["prosody"].cpu(),
        )
        if self.text2speech.vocoder is not None:
            pause = torch.zeros(int(self.sentence_pause * (self.fs or 0)))
            wavs = []
            for i, out in enumerate(outputs):
                wavs.append(out["wav"].view(-1).cpu())
                if i < len(outputs) - 1:
                    wavs.append(pause)
            result["wav"] = torch.cat(wavs)
        return result
