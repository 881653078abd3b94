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

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import soundfile as sf
import torch
import yaml
from torch.nn.utils.rnn import pad_sequence
from espnet2.torch_utils.set_all_random_seed import set_all_random_seed

from prosody_plugin.control.emphasis import FALLBACK_CONTROLS, EmphasisDirection, check_level
from prosody_plugin.control.ssml_controls import WordMarkup, ssml_markup
from prosody_plugin.decode import Text2Speech
from prosody_plugin.frontend.bert import RUNTIMES
from prosody_plugin.frontend.words import TextFrontend, Utterance, split_sentences
from prosody_plugin.systems import check_pair, system_of_model
from prosody_plugin.tasks.prosody_context import load_predictor
from prosody_plugin.text.ssml import is_ssml, parse_ssml
from prosody_plugin.text.word_boundaries import is_boundary_token, is_punctuation_token
from prosody_plugin.tts.variance_controls import NEUTRAL, compose_controls, token_controls

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
        bert_runtime (str): "torch", or "onnxruntime" to run the frozen BERT with ONNX Runtime
            on the CPU (the same vectors up to float rounding, faster; docs/RESULTS.md).
        device (str): "cpu" or "cuda".
        speed_control_alpha (float): FastSpeech2's speaking-rate control (>1: slower), on
            top of the calibration when there is one.
        speed_calibration_file: The model's calibrated speed (recipe stage 7's
            ``speed_calibration.yaml``, packed with the model): its ``speed_control_alpha``
            makes the model's durations add up to the recordings'.
        sentence_pause (float): Seconds of silence between sentences of a long text.
        use_vocoder (bool): False stops at the mel-spectrogram (no ``wav`` in the output):
            text-to-mel only, e.g. for scoring the model's own prosody or benchmarking.
        emphasis_file: The emphasis direction of a per-word system (CAMP;
            :mod:`prosody_plugin.control.emphasis`), default ``emphasis.npz`` beside
            ``model_file`` when it is there (recipe stage 9 writes it, pack packs it).
        warmup (bool): Synthesise one short sentence at load (:meth:`warm_up`), so that a
            server's first request does not pay the one-off costs of the first call.

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
        emphasis_file: Optional[PathLike] = None,
        speed_calibration_file: Optional[PathLike] = None,
        bert_runtime: str = "torch",
        warmup: bool = False,
    ):
        if bert_runtime not in RUNTIMES:
            raise ValueError(f"bert_runtime must be one of {RUNTIMES}, got {bert_runtime!r}")
        if speed_calibration_file is not None:
            with open(speed_calibration_file, encoding="utf-8") as f:
                calibration = yaml.safe_load(f)
            if not isinstance(calibration, dict) or not isinstance(calibration.get("speed_control_alpha"), (int, float)):
                raise ValueError(f"speed_calibration_file: {speed_calibration_file} has no number speed_control_alpha")
            speed_control_alpha *= float(calibration["speed_control_alpha"])
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
        self.emphasis: Optional[EmphasisDirection] = None  # None: emphasis by the variance fallback
        if self.system is not None and self.tts.per_word:
            path = Path(emphasis_file) if emphasis_file is not None else Path(model_file).parent / "emphasis.npz"
            if path.is_file():
                self.emphasis = EmphasisDirection.load(path)
            elif emphasis_file is not None:
                raise FileNotFoundError(f"emphasis_file: no such file: {emphasis_file}")
        elif emphasis_file is not None:
            raise ValueError(
                f"emphasis_file: {self.system or 'the baseline'} has no per-word representation to move "
                "(its emphasis uses per-word variance controls)"
            )

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
                runtime=bert_runtime,
            )
            if self.featurizer.hidden_size != context_args.input_size:
                raise ValueError(
                    f"the BERT model gives {self.featurizer.hidden_size}-dim vectors, the stage-two "
                    f"model was trained on {context_args.input_size}: pass the same bert_model"
                )
        elif self.system is not None and not self.tts.has_default_prosody:
            raise ValueError(f"{self.system} speaks from text only with its stage-two predictor: pass context_train_config")
        if warmup:
            self.warm_up()

    #: What :meth:`warm_up` says: two sentences, so that the batched paths run too.
    WARMUP_TEXT = "Please hold. Your call is important to us."

    def warm_up(self) -> None:
        """One untimed synthesis of :data:`WARMUP_TEXT`: the first call of a loaded model pays
        one-off costs (spaCy's and the tokenizer's caches, the kernels' first runs, the
        vocoder's buffers). Random draws do not move: the seeded results stay the same."""
        device = torch.device(self.device)
        numpy_state, python_state = np.random.get_state(), random.getstate()  # Griffin-Lim's phases
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            self(self.WARMUP_TEXT, temperature=0.0)
        np.random.set_state(numpy_state)
        random.setstate(python_state)

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
            **kwargs: The other arguments of :class:`Text2SpeechProsody`; ``emphasis_file``
                (not None) replaces the packed one, the packed model and config files
                cannot be given.

        """
        from prosody_plugin.pack import PACKED_FILES, PACKED_YAML_FILES, check_unpacked, default_unpack_dir, unpack_model

        packed = [name for name in PACKED_YAML_FILES + PACKED_FILES if kwargs.get(name) is not None]
        if packed:
            raise ValueError(f"{', '.join(packed)}: the packed model {model_tag_or_zip} brings its own")
        if Path(model_tag_or_zip).is_file():
            paths = unpack_model(model_tag_or_zip, default_unpack_dir(model_tag_or_zip))
        elif str(model_tag_or_zip).endswith((".zip", ".tar", ".tgz", ".tar.gz", ".tar.bz2")):
            raise FileNotFoundError(f"no such archive: {model_tag_or_zip}")
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
            if kwargs.get("vocoder_config") is None:
                kwargs["vocoder_config"] = vocoder["vocoder_config"]
        arguments = {**paths, **{name: value for name, value in kwargs.items() if value is not None or name not in paths}}
        return cls(**arguments, vocoder_file=vocoder_file)

    @property
    def fs(self) -> Optional[int]:
        """Sampling rate of the model's audio: its output waveforms and the references it reads
        (the frontend's when there is no vocoder)."""
        if self.text2speech.fs is not None:
            return self.text2speech.fs
        return getattr(self.model.feats_extract, "fs", None)

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
        analysed = self._analyse(text, 0, True)
        if isinstance(analysed, ValueError):
            raise analysed
        return [word for utterance in analysed[0] for word in utterance.words]

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
        emphasis: Union[Mapping[int, str], Sequence[Optional[Mapping[int, str]]], None] = None,
        word_prosody: Union[Mapping[int, Any], Sequence[Optional[Mapping[int, Any]]], None] = None,
        ssml: Union[str, bool] = "auto",
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
            emphasis: Word index -> level ("reduced", "none", "moderate", "strong"); per text
                for a list. CAMP moves the word along its learnt emphasis direction
                (``emphasis_file``); Kathaka and the baseline have no word-level
                representation and apply the per-word variance controls of
                :data:`prosody_plugin.control.emphasis.FALLBACK_CONTROLS` instead.
            word_prosody: Per-word editing of a per-word representation (CAMP): word index ->
                the embedding (D,) it takes instead of the predicted one, e.g. the same
                word's row of another rendition's ``prosody`` (a result's (W, D) matrix), or
                ``(1 - t) * a + t * b`` to interpolate between two. Emphasis then moves the
                edited embedding. Per text for a list.
            ssml: "auto": a text that starts with markup (``<speak``, ``<?xml``, ``<!--``,
                ``<!DOCTYPE``) is SSML (:mod:`prosody_plugin.text.ssml`: emphasis, prosody
                rate/pitch/range/volume, break, s, p; a DOCTYPE is refused); True: every text
                must be SSML; False: never parsed. SSML controls compose with the arguments.

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
        if ssml not in ("auto", True, False):
            raise ValueError(f"ssml must be 'auto', True or False, got {ssml!r}")
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        global_controls = dict(rate=rate, pitch_semitones=pitch_semitones, pitch_range=pitch_range, energy_db=energy_db)
        if not rate > 0 or not pitch_range >= 0:
            raise ValueError(f"rate must be > 0 and pitch_range >= 0, got {rate} and {pitch_range}")
        word_controls_per_text = _per_text(word_controls, len(texts), single, "word_controls")
        emphasis_per_text = _per_text(emphasis, len(texts), single, "emphasis")
        edits_per_text = _per_text(word_prosody, len(texts), single, "word_prosody")
        if word_prosody is not None and (self.system is None or not self.tts.per_word):
            raise ValueError(
                f"word_prosody: {self.system or 'the baseline'} has no per-word representation to edit "
                "(use word_controls)"
            )
        analysed = [self._analyse(t, i, single, ssml) for i, t in enumerate(texts)]
        plans: Dict[int, List[SentencePlan]] = {}
        for i, item in enumerate(analysed):
            if not isinstance(item, ValueError):
                sentences, markup = item
                try:
                    plans[i] = self._plan(
                        sentences, markup, global_controls, word_controls_per_text[i], emphasis_per_text[i],
                        edits_per_text[i],
                    )  # fmt: skip
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
            (i, r, plan)
            for i in sorted(plans) if not isinstance(analysed[i], ValueError)
            for r in range(num_samples) for plan in plans[i]
        ]  # fmt: skip
        outputs: Dict[Tuple[int, int], List[Dict[str, torch.Tensor]]] = {}
        failed: Dict[int, ValueError] = {}
        for start in range(0, len(jobs), batch_size):
            chunk = jobs[start : start + batch_size]
            synthesized = self._synthesize_batch(
                [plan for _, _, plan in chunk], temperature, reference, single, [i for i, _, _ in chunk]
            )  # fmt: skip
            for (i, r, _), out in zip(chunk, synthesized):
                if isinstance(out, ValueError):
                    failed.setdefault(i, out)
                else:
                    outputs.setdefault((i, r), []).append(out)
        if failed and (errors == "raise" or single):
            raise failed[min(failed)]
        results: List[Any] = []
        for i, item in enumerate(analysed):
            if isinstance(item, ValueError) or i in failed:
                results.append(item if isinstance(item, ValueError) else failed[i])
                continue
            renditions = [self._join(outputs[i, r]) for r in range(num_samples)]
            results.append(renditions[0] if num_samples == 1 else renditions)
        return results[0] if single else results

    def _analyse(
        self, text: Any, index: int, single: bool, ssml: Union[str, bool] = "auto"
    ) -> Union[Tuple[List[Utterance], Optional[WordMarkup]], ValueError]:
        """The front end's utterances of one text's sentences and the SSML's word markup
        (None for plain text), or the ValueError saying why not."""
        where = "" if single else f"item {index}: "
        if not isinstance(text, str) or not text.strip():
            return ValueError(f"{where}empty text: nothing to say")
        try:
            document = None
            if ssml is True or (ssml == "auto" and is_ssml(text)):
                document = parse_ssml(text)
                text = document.text
            sentences = [s for s in split_sentences(text) if s.strip()]
            utterances = [self.frontend.analyze(s, utt_id=f"{where}sentence {k + 1}") for k, s in enumerate(sentences)]
            markup = None if document is None else ssml_markup(document, sentences, utterances, self.frontend.normalize)
            return utterances, markup
        except ValueError as e:
            return ValueError(f"{where}{e}") if where and not str(e).startswith(where) else e

    def _plan(
        self,
        sentences: List[Utterance],
        markup: Optional[WordMarkup],
        global_controls: Mapping[str, float],
        word_controls: Optional[WordControls],
        emphasis: Optional[Mapping[int, str]],
        word_prosody: Optional[Mapping[int, Any]] = None,
    ) -> List["SentencePlan"]:
        """What to synthesise for each sentence of a text: its controls, emphasis and breaks.

        The SSML's markup and the arguments compose (the arguments' word controls after
        the SSML's). Emphasis moves CAMP's word embedding along :attr:`emphasis`; without
        a direction (Kathaka, the baseline) it becomes the word's fallback variance controls.
        """
        total = sum(u.num_words for u in sentences)
        markup = markup or WordMarkup()
        words: Dict[int, Dict[str, float]] = {}
        for source in (markup.word_controls, word_controls or {}):
            for word, values in source.items():
                words[word] = compose_controls(words.get(word, {}), values)
        levels = {**markup.emphasis, **(emphasis or {})}
        for word, level in levels.items():
            check_level(level)
            if self.system is not None and self.tts.per_word and self.emphasis is None:
                raise ValueError(
                    f"emphasis: {self.system} moves words along its emphasis direction, and none was found beside "
                    "the model: pass emphasis_file (recipe stage 9 writes emphasis.npz)"
                )
            if self.emphasis is None:
                words[word] = compose_controls(words.get(word, {}), FALLBACK_CONTROLS[level])
        edits = {}
        for word, row in (word_prosody or {}).items():
            row = torch.as_tensor(row, dtype=torch.float32).reshape(-1)
            if row.numel() != self.tts.representation_size:
                raise ValueError(
                    f"word_prosody: word {word}: a {self.tts.representation_size}-dim embedding expected, got {row.numel()}"
                )
            edits[word] = row
        for name, mapping in (("word_controls", words), ("emphasis", levels), ("word_prosody", edits)):
            for word in mapping:
                if not isinstance(word, (int, np.integer)) or not 0 <= word < total:
                    raise ValueError(f"{name}: word {word!r} is not one of the text's {total} words (0..{total - 1})")
        controls = sentence_controls(sentences, global_controls, words)
        plans, offset = [], 0
        for k, (utterance, sentence_controls_) in enumerate(zip(sentences, controls)):
            local = range(offset, offset + utterance.num_words)
            plans.append(SentencePlan(
                utterance, sentence_controls_,
                {w - offset: level for w, level in levels.items() if w in local} if self.emphasis is not None else {},
                {w - offset: s for w, s in markup.breaks.items() if w in local or (w == -1 and k == 0)},
                {w - offset: row for w, row in edits.items() if w in local},
            ))  # fmt: skip
            offset += utterance.num_words
        return plans

    def _synthesize_batch(
        self,
        plans: List["SentencePlan"],
        temperature: float,
        reference: Optional[torch.Tensor],
        single: bool,
        indices: List[int],
    ) -> List[Union[Dict[str, torch.Tensor], ValueError]]:
        """Synthesise a batch of sentences; an item that fails gives its ValueError."""
        utterances = [plan.utterance for plan in plans]
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
        for k, plan in enumerate(plans):  # edited words, then emphasis along the model's direction
            if (plan.word_prosody or plan.emphasis) and prosody[k] is not None:
                moved = prosody[k].clone()
                for word, row in plan.word_prosody.items():
                    moved[word] = row.to(moved.device)
                for word, level in plan.emphasis.items():
                    moved[word] = self.emphasis.emphasize(moved[word], level)
                prosody[k] = moved
        todo = [k for k in range(len(utterances)) if results[k] is None]
        while todo:
            tokens = [torch.from_numpy(utterances[k].token_ids) for k in todo]
            lengths = torch.tensor([len(t) for t in tokens], device=self.device)
            padded = pad_sequence(tokens, batch_first=True, padding_value=0).to(self.device)
            try:
                batch = self.model.batch_inference(
                    padded, lengths, None if self.system is None else [prosody[k] for k in todo],
                    alpha=self.text2speech.decode_conf.get("alpha", 1.0),
                    controls=[plans[k].controls for k in todo],
                )  # fmt: skip
            except ValueError as e:  # the model names the bad item of the batch ("item k: ...")
                bad = todo[_failed_item(e, len(todo))]
                results[bad] = self._item_error(e, indices[bad], single)
                todo.remove(bad)
                continue
            for k, out in zip(todo, batch):
                if plans[k].breaks:
                    out = insert_breaks(out, plans[k], self.fs, self.model.feats_extract.hop_length)
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


@dataclass
class SentencePlan:
    """One sentence to synthesise: its front-end analysis, per-token controls (None: none),
    emphasis levels of its words (moved in the representation) and breaks after its words
    (seconds; word -1: before the first word)."""

    utterance: Utterance
    controls: Optional[Dict[str, torch.Tensor]]
    emphasis: Dict[int, str]
    breaks: Dict[int, float]
    word_prosody: Dict[int, torch.Tensor] = field(default_factory=dict)


def insert_breaks(out: Dict[str, torch.Tensor], plan: SentencePlan, fs: int, hop_length: int) -> Dict[str, torch.Tensor]:
    """A sentence's outputs with the silence of its breaks inserted in the mel, before the vocoder.

    A break after word ``w`` goes after the tokens of ``w`` (its pause tokens included: the
    word boundary and punctuation that follow it), before word ``w + 1``; its frames are
    copies of the sentence's quietest frame, and the duration of the token before them
    (the first token for a break before the first word) grows by as many frames, so that
    the durations still add up to the mel's length.
    """
    word_ids = torch.as_tensor(plan.utterance.token_word_ids)
    duration = out["duration"].clone()
    quietest = int(out["feat_gen_denorm"].mean(dim=1).argmin())
    inserts = []  # (frame, number of frames)
    for word, seconds in sorted(plan.breaks.items()):
        frames = int(round(seconds * fs / hop_length))
        if frames <= 0:
            continue
        if word < 0:
            token = 0
            at = 0
        else:
            token = int((word_ids <= word).nonzero().max())
            at = int(duration[: token + 1].sum())
        inserts.append((at, frames))
        duration[token] += frames
    for key in ("feat_gen", "feat_gen_denorm"):
        feat, pieces, previous = out[key], [], 0
        for at, frames in inserts:  # frames of the original mel, in order
            pieces += [feat[previous:at], feat[quietest : quietest + 1].expand(frames, -1)]
            previous = at
        out[key] = torch.cat(pieces + [feat[previous:]])
    out["duration"] = duration
    return out


def _per_text(value: Any, num_texts: int, single: bool, name: str) -> List[Any]:
    """A per-word argument for each text: one mapping for one text, a list for a list."""
    if value is None:
        return [None] * num_texts
    if single:
        if not isinstance(value, Mapping):
            raise ValueError(f"{name}: a mapping word index -> value for one text")
        return [value]
    if isinstance(value, Mapping):
        raise ValueError(f"{name}: give a list with one mapping (or None) per text for a list of texts")
    value = list(value)
    if len(value) != num_texts:
        raise ValueError(f"{name}: {len(value)} mappings for {num_texts} texts")
    return value


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
