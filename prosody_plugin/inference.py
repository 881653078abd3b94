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
    >>> outs = tts(["Thank you.", "Goodbye!"], batch_size=16)   # a list of texts: batched
    >>> outs = tts("Thank you.", num_samples=3, temperature=0.8)  # three renditions (Kathaka)
    >>> out = tts("Thank you.", reference_wav="recording.wav")    # prosody transfer (Kathaka)
    >>> tts = Text2SpeechProsody.from_pretrained("exp/packed/tts_train_kathaka_cpu.zip")  # packed

The data path is one straight line::

    text -> sentences -> words and phoneme tokens (TextFrontend)
         -> BERT + syntax per word (ContextFeaturizer, on the batch)
         -> prosody representation (stage two's predictor, or a reference recording)
         -> mel (one masked batched forward of the acoustic model) -> wav (vocoder)

Text goes through the same front end as training. Long text is split into sentences; the
sentences of every text (and every rendition) are synthesised together in batches of
``batch_size`` and each text's sentences are joined with short pauses. Batching changes
nothing: each sentence gives the same mel and durations as alone (the padding is masked).
The ESPnet FastSpeech2 baseline works through the same class (no stage two).
Input that cannot be spoken (empty, punctuation or emoji only, ...) raises ValueError
naming the item; with ``errors="return"`` the bad items' errors are returned in their
place and the good items are synthesised.
"""

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import soundfile as sf
import torch
from torch.nn.utils.rnn import pad_sequence
from espnet2.torch_utils.set_all_random_seed import set_all_random_seed

from prosody_plugin.decode import Text2Speech
from prosody_plugin.frontend.words import TextFrontend, Utterance, split_sentences
from prosody_plugin.systems import check_pair, system_of_model
from prosody_plugin.tasks.prosody_context import load_predictor
from prosody_plugin.text.word_boundaries import is_boundary_token, is_punctuation_token
from prosody_plugin.tts.variance_controls import NEUTRAL, token_controls

PathLike = Union[str, Path]
#: Word index -> prosody controls of that word (``rate``, ``pitch_semitones``, ``pitch_range``, ``energy_db``).
WordControls = Mapping[int, Mapping[str, float]]


class Text2SpeechProsody:
    """Kathaka / CAMP synthesis with prosody predicted from text (or taken from a recording).

    Call it with one text (returns a dict) or a list of texts (returns a list, batched).

    Args:
        train_config, model_file: The stage-one model (config.yaml and checkpoint); an
            ESPnet FastSpeech2 baseline works too (no stage two).
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
        self.system = system_of_model(self.tts)  # None: the baseline
        self.device = device
        self.sentence_pause = sentence_pause
        args = self.text2speech.train_args
        self.frontend = TextFrontend(cleaner=args.cleaner, g2p=args.g2p, token_list=args.token_list)

        self.predictor = None
        if context_train_config is not None:
            from prosody_plugin.frontend.context import ContextFeaturizer

            if self.system is None:
                raise ValueError(f"{model_file} holds a {type(self.tts).__name__}, which has no stage two")
            self.predictor, context_args = load_predictor(str(context_train_config), context_model_file, device)
            check_pair(dict(tts=self.system), dict(predictor=context_args.predictor))
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
        elif self.system is not None and not self.tts.has_default_prosody:
            raise ValueError(f"{self.system} speaks from text only with its stage-two predictor: pass context_train_config")

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
            from prosody_plugin.vocoder_compat import download_vocoder

            vocoder = download_vocoder(vocoder_tag)
            vocoder_file = vocoder["vocoder_file"]
            kwargs.setdefault("vocoder_config", vocoder["vocoder_config"])
        return cls(**paths, vocoder_file=vocoder_file, **kwargs)

    @property
    def fs(self) -> Optional[int]:
        """Sampling rate of the output waveforms."""
        return self.text2speech.fs

    def _reference_prosody(self, reference_wav: Union[PathLike, np.ndarray]) -> torch.Tensor:
        if self.system is None or self.tts.per_word:
            raise ValueError(
                f"reference_wav: {self.system or 'the baseline'} cannot take a whole recording's prosody "
                "for another text (CAMP transfers word by word with the reference's phone durations: use "
                "prosody_plugin.bin.tts_inference --use_reference_prosody with the data's durations)"
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

    @torch.no_grad()
    def predict_prosody(
        self, utterances: Sequence[Utterance], temperature: float = 1.0
    ) -> List[Optional[torch.Tensor]]:
        """Stage two's representation of each front-end ``Utterance`` (None: the model's default).

        BERT and the parser read the utterances as one batch. A ValueError names the
        utterance (its ``utt_id``) that cannot be encoded.
        """
        if self.predictor is None:  # the baseline (None), or the model's default (Kathaka's prior mean)
            return [None if self.system is None else self.tts.default_prosody() for _ in utterances]
        try:
            bert, syntax = self.featurizer(utterances)
        except ValueError:  # find the culprit, one by one
            for u in utterances:
                self.featurizer([u])
            raise
        return [
            self.predictor.predict(b.to(self.device), torch.from_numpy(s).to(self.device), temperature)
            for b, s in zip(bert, syntax)
        ]

    def words(self, text: str) -> List[str]:
        """The words of a text as the front end sees them: what ``word_controls`` indexes."""
        sentences = self._analyse(text, 0, True)
        if isinstance(sentences, ValueError):
            raise sentences
        return [word for utterance in sentences for word in utterance.words]

    @torch.no_grad()
    def __call__(
        self,
        text: Union[str, Sequence[str]],
        temperature: float = 1.0,
        num_samples: int = 1,
        reference_wav: Union[PathLike, np.ndarray, None] = None,
        seed: Optional[int] = None,
        batch_size: int = 16,
        errors: str = "raise",
        rate: float = 1.0,
        pitch_semitones: float = 0.0,
        pitch_range: float = 1.0,
        energy_db: float = 0.0,
        word_controls: Union[WordControls, Sequence[Optional[WordControls]], None] = None,
    ) -> Any:
        """Synthesise one text or a list of texts.

        Args:
            text: One text (any length; split into sentences) or a list of texts.
            temperature (float): Kathaka sampling temperature (0: the predicted mean).
            num_samples (int): Renditions of each text (a list per text when > 1); the
                renditions are items of the batches too.
            reference_wav: Take the prosody of this recording (path or waveform at ``fs``)
                instead of predicting it (Kathaka), for every text.
            seed (Optional[int]): Seed of the sampling, for reproducible renditions (the
                draws follow the order of the texts, renditions and sentences).
            batch_size (int): Sentences synthesised together (front end and acoustic model).
            errors (str): "raise": the first text that cannot be spoken raises ValueError
                naming its index; "return": its ValueError is returned in its place and the
                other texts are synthesised.
            rate (float): Speaking rate (0.8: durations 1.25x), on top of ``speed_control_alpha``.
            pitch_semitones (float): Pitch shift (+12: one octave up).
            pitch_range (float): Scaling of the pitch's excursions around the utterance's
                mean (0: monotone, 2: twice as wide).
            energy_db (float): Energy change in dB.
            word_controls: Word index (the front end's words of the whole text, from 0) ->
                controls of that word's phones (names as the four above), composed with
                the global ones; for a list of texts, a list with one mapping (or None) per
                text. The four controls act on the variance adaptor's predictions
                (:mod:`prosody_plugin.tts.variance_controls`), for every system and the
                baseline; ``words(text)`` shows the word indices.

        Returns:
            Per text, a dict with ESPnet Text2Speech's keys ``wav`` (T_wav,; absent without
            vocoder), ``feat_gen`` (T_feats, odim), ``duration``, ``pitch`` and ``energy``
            (the predicted token-level values, denormalised; T_text + 1 per sentence,
            concatenated) and ``prosody`` (the representation; a list of one per sentence
            when the text has several; None for the baseline); a list of such dicts when
            ``num_samples > 1``. One text gives its result, a list of texts a list.

        """
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if errors not in ("raise", "return"):
            raise ValueError(f"errors must be 'raise' or 'return', got {errors!r}")
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        global_controls = dict(rate=rate, pitch_semitones=pitch_semitones, pitch_range=pitch_range, energy_db=energy_db)
        if not rate > 0 or not pitch_range >= 0:
            raise ValueError(f"rate must be > 0 and pitch_range >= 0, got {rate} and {pitch_range}")
        if single or word_controls is None or isinstance(word_controls, Mapping):
            per_text = [word_controls] * len(texts) if single or word_controls is None else None
            if per_text is None:
                raise ValueError("word_controls: give a list with one mapping (or None) per text for a list of texts")
        else:
            per_text = list(word_controls)
            if len(per_text) != len(texts):
                raise ValueError(f"word_controls: {len(per_text)} mappings for {len(texts)} texts")
        analysed: List[Union[List[Utterance], ValueError]] = [self._analyse(t, i, single) for i, t in enumerate(texts)]
        controls: Dict[int, List[Optional[Dict[str, torch.Tensor]]]] = {}
        for i, sentences in enumerate(analysed):
            if not isinstance(sentences, ValueError):
                try:
                    controls[i] = sentence_controls(sentences, global_controls, per_text[i])
                except ValueError as e:
                    analysed[i] = e if single else ValueError(f"item {i}: {e}")
        bad = [a for a in analysed if isinstance(a, ValueError)]
        if bad and (errors == "raise" or single):
            raise bad[0]
        if seed is not None:  # the sampler draws from torch, Griffin-Lim's phases from numpy
            set_all_random_seed(seed)
        reference = None if reference_wav is None else self._reference_prosody(reference_wav)
        # every sentence of every rendition of every text is one item of the batches
        jobs = [
            (i, r, utterance, controls[i][k])
            for i, sentences in enumerate(analysed) if not isinstance(sentences, ValueError)
            for r in range(num_samples) for k, utterance in enumerate(sentences)
        ]  # fmt: skip
        outputs: Dict[Tuple[int, int], List[Dict[str, torch.Tensor]]] = {}
        failed: Dict[int, ValueError] = {}
        for start in range(0, len(jobs), batch_size):
            chunk = jobs[start : start + batch_size]
            synthesized = self._synthesize_batch(
                [job[2] for job in chunk], temperature, reference, single, [job[0] for job in chunk], [job[3] for job in chunk]
            )  # fmt: skip
            for (i, r, _, _), out in zip(chunk, synthesized):
                if isinstance(out, ValueError):
                    failed.setdefault(i, out)
                else:
                    outputs.setdefault((i, r), []).append(out)
        if failed and (errors == "raise" or single):
            raise failed[min(failed)]
        results: List[Any] = []
        for i, sentences in enumerate(analysed):
            if isinstance(sentences, ValueError) or i in failed:
                results.append(sentences if isinstance(sentences, ValueError) else failed[i])
                continue
            renditions = [self._join(outputs[i, r]) for r in range(num_samples)]
            results.append(renditions[0] if num_samples == 1 else renditions)
        return results[0] if single else results

    def _analyse(self, text: Any, index: int, single: bool) -> Union[List[Utterance], ValueError]:
        """The front end's utterances of one text's sentences, or the ValueError saying why not."""
        where = "" if single else f"item {index}: "
        if not isinstance(text, str) or not text.strip():
            return ValueError(f"{where}empty text: nothing to say")
        try:
            sentences = [s for s in split_sentences(text) if s.strip()]
            return [self.frontend.analyze(s, utt_id=f"{where}sentence {k + 1}") for k, s in enumerate(sentences)]
        except ValueError as e:
            return ValueError(f"{where}{e}") if where and not str(e).startswith(where) else e

    def _synthesize_batch(
        self,
        utterances: List[Utterance],
        temperature: float,
        reference: Optional[torch.Tensor],
        single: bool,
        indices: List[int],
        controls: Optional[List[Optional[Dict[str, torch.Tensor]]]] = None,
    ) -> List[Union[Dict[str, torch.Tensor], ValueError]]:
        """Synthesise a batch of sentences; an item that fails gives its ValueError."""
        results: List[Union[Dict[str, torch.Tensor], ValueError]] = [None] * len(utterances)  # type: ignore[list-item]
        prosody: List[Optional[torch.Tensor]] = [reference] * len(utterances)
        if reference is None:
            try:
                prosody = self.predict_prosody(utterances, temperature)
            except ValueError:  # name the item(s): one by one
                prosody = []
                for k, u in enumerate(utterances):
                    try:
                        prosody.extend(self.predict_prosody([u], temperature))
                    except ValueError as e:
                        results[k] = self._item_error(e, indices[k], single)
                        prosody.append(None)
        todo = [k for k in range(len(utterances)) if results[k] is None]
        while todo:
            tokens = [torch.from_numpy(utterances[k].token_ids) for k in todo]
            lengths = torch.tensor([len(t) for t in tokens], device=self.device)
            padded = pad_sequence(tokens, batch_first=True, padding_value=0).to(self.device)
            try:
                batch = self.model.batch_inference(
                    padded, lengths, None if self.system is None else [prosody[k] for k in todo],
                    alpha=self.text2speech.decode_conf.get("alpha", 1.0),
                    controls=None if controls is None else [controls[k] for k in todo],
                )  # fmt: skip
            except ValueError as e:  # the model names the bad item of the batch ("item k: ...")
                bad = todo[_failed_item(e, len(todo))]
                results[bad] = self._item_error(e, indices[bad], single)
                todo.remove(bad)
                continue
            for k, out in zip(todo, batch):
                if self.text2speech.vocoder is not None:
                    feat = out["feat_gen"] if self.text2speech.prefer_normalized_feats else out["feat_gen_denorm"]
                    out["wav"] = self.text2speech.vocoder(feat)
                results[k] = out
            todo = []
        return results

    @staticmethod
    def _item_error(error: ValueError, index: int, single: bool) -> ValueError:
        message = str(error)
        if message.startswith("item "):  # the model's index within the batch: drop it
            message = message.split(": ", 1)[-1]
        return ValueError(message if single else f"item {index}: {message}")

    def _join(self, outputs: List[Dict[str, torch.Tensor]]) -> Dict[str, Any]:
        """One text's result from its sentences' outputs (joined with ``sentence_pause``)."""
        prosody = [o["prosody"].cpu() if o.get("prosody") is not None else None for o in outputs]
        result: Dict[str, Any] = dict(
            feat_gen=torch.cat([o["feat_gen"].cpu() for o in outputs]),
            duration=torch.cat([o["duration"].cpu() for o in outputs]),
            pitch=torch.cat([o["pitch_denorm"].cpu() for o in outputs]),
            energy=torch.cat([o["energy_denorm"].cpu() for o in outputs]),
            prosody=prosody if len(prosody) > 1 else prosody[0],
        )
        if self.text2speech.vocoder is not None:
            pause = torch.zeros(int(self.sentence_pause * (self.fs or 0)))
            wavs = []
            for k, out in enumerate(outputs):
                wavs.append(out["wav"].view(-1).cpu())
                if k < len(outputs) - 1:
                    wavs.append(pause)
            result["wav"] = torch.cat(wavs)
        return result


def sentence_controls(
    sentences: Sequence[Utterance],
    global_controls: Mapping[str, float],
    word_controls: Optional[WordControls] = None,
) -> List[Optional[Dict[str, torch.Tensor]]]:
    """Per sentence of one text, its per-token controls (None where all are neutral).

    ``word_controls`` index the words of the whole text (the sentences' words in order).
    """
    neutral = all(global_controls[name] == value for name, value in NEUTRAL.items())
    if neutral and not word_controls:
        return [None] * len(sentences)
    total = sum(u.num_words for u in sentences)
    by_sentence: List[Dict[int, Mapping[str, float]]] = [{} for _ in sentences]
    for word, values in (word_controls or {}).items():
        if not isinstance(word, (int, np.integer)) or not 0 <= word < total:
            raise ValueError(f"word_controls: word {word!r} is not one of the text's {total} words (0..{total - 1})")
        k, offset = 0, int(word)
        while offset >= sentences[k].num_words:
            offset -= sentences[k].num_words
            k += 1
        by_sentence[k][offset] = values
    return [
        token_controls(
            len(u.tokens), global_controls, words, u.token_word_ids,
            [not is_boundary_token(t) and not is_punctuation_token(t) for t in u.tokens],
        )  # fmt: skip
        for u, words in zip(sentences, by_sentence)
    ]


def _failed_item(error: ValueError, batch_size: int) -> int:
    """The batch index a model's ValueError names ("item k: ..."); 0 when it names none."""
    message = str(error)
    if message.startswith("item "):
        index = message[5:].split(":", 1)[0]
        if index.isdigit() and int(index) < batch_size:
            return int(index)
    return 0
