"""Text to speech with prosody from text context: Kathaka or CAMP plus their stage two.

The public API, in the spirit of ESPnet's ``Text2Speech``. Usage: docs/stage_two.md
(Inference API); batching: docs/architecture.md (Batched inference); controls, emphasis and
SSML: docs/prosody_control.md.
"""

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import soundfile as sf
import torch
import yaml
from espnet2.torch_utils.set_all_random_seed import set_all_random_seed
from torch.nn.utils.rnn import pad_sequence

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
        train_config, model_file: The stage-one model; an ESPnet FastSpeech2 baseline works
            too (no stage two).
        context_train_config, context_model_file: Its stage-two model. Optional for Kathaka
            (prior mean or ``reference_wav``), required for CAMP.
        vocoder_config, vocoder_file: A ParallelWaveGAN-family vocoder; Griffin-Lim if not given.
        bert_model, spacy_model: Override the front end models recorded at training.
        bert_runtime (str): "torch" or "onnxruntime" (CPU; the same vectors up to rounding).
        device (str): "cpu" or "cuda".
        speed_control_alpha (float): FastSpeech2's rate control (>1: slower), on top of the
            calibration.
        speed_calibration_file: Recipe stage 7's ``speed_calibration.yaml``: its
            ``speed_control_alpha`` makes the durations add up to the recordings'.
        sentence_pause (float): Seconds of silence between sentences of a long text.
        use_vocoder (bool): False stops at the mel-spectrogram (no ``wav`` in the output).
        emphasis_file: Emphasis direction of a per-word system (CAMP); default
            ``emphasis.npz`` beside ``model_file`` when there.
        warmup (bool): Run :meth:`warm_up` at load.
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
            if not isinstance(calibration, dict) or not isinstance(
                calibration.get("speed_control_alpha"), (int, float)
            ):
                raise ValueError(
                    f"speed_calibration_file: {speed_calibration_file} has no number speed_control_alpha"
                )
            speed_control_alpha *= float(calibration["speed_control_alpha"])
        self.text2speech = Text2Speech(
            train_config=train_config,
            model_file=model_file,
            vocoder_config=vocoder_config,
            vocoder_file=vocoder_file,
            device=device,
            speed_control_alpha=speed_control_alpha,
        )
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
            path = (
                Path(emphasis_file) if emphasis_file is not None else Path(model_file).parent / "emphasis.npz"
            )
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
            self.predictor, context_args = load_predictor(
                str(context_train_config), context_model_file, device
            )
            check_pair(dict(tts=self.system), dict(predictor=context_args.predictor))
            recorded = dict(getattr(context_args, "frontend_conf", None) or {})
            self.featurizer = ContextFeaturizer(
                bert_model or recorded.get("bert_model"),
                spacy_model or recorded.get("spacy_model"),
                # not recorded by a model of the bare-words front end
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
            raise ValueError(
                f"{self.system} speaks from text only with its stage-two predictor: pass context_train_config"
            )
        if warmup:
            self.warm_up()

    #: What :meth:`warm_up` says: two sentences, so that the batched paths run too.
    WARMUP_TEXT = "Please hold. Your call is important to us."

    def warm_up(self) -> None:
        """One untimed synthesis of :data:`WARMUP_TEXT`, paying the first call's one-off costs.

        The random states are restored, so seeded results do not change.
        """
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
            model_tag_or_zip: A local archive (unpacked beside it or under
                ``~/.cache/prosody_plugin``) or an ``espnet_model_zoo`` model tag.
            vocoder_tag: ``parallel_wavegan/<tag>``, downloaded by parallel_wavegan.
            vocoder_file: A local ParallelWaveGAN-family ``.pkl`` instead.
            **kwargs: Other arguments of :class:`Text2SpeechProsody`, except the packed files
                (``emphasis_file`` may replace the packed one).
        """
        from prosody_plugin.pack import (
            PACKED_FILES,
            PACKED_YAML_FILES,
            check_unpacked,
            default_unpack_dir,
            unpack_model,
        )

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
        arguments = {
            **paths,
            **{name: value for name, value in kwargs.items() if value is not None or name not in paths},
        }
        return cls(**arguments, vocoder_file=vocoder_file)

    @property
    def fs(self) -> Optional[int]:
        """Sampling rate of the output waveforms and of the references read (the frontend's without vocoder)."""
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
        """Stage two's representation of each ``Utterance`` (None: the model's default), on one batch.

        A ValueError names the utterance that cannot be encoded.
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
            text: One text (split into sentences) or a list of texts.
            temperature (float): Kathaka sampling temperature (0: the predicted mean).
            num_samples (int): Renditions of each text (a list per text when > 1).
            reference_wav: Take the prosody of this recording (path or waveform at ``fs``)
                instead of predicting it (Kathaka).
            seed (Optional[int]): Seed of the sampling, for reproducible renditions.
            batch_size (int): Sentences synthesised together.
            errors (str): "raise" on the first text that cannot be spoken, or "return" its
                ValueError in its place.
            rate, pitch_semitones, pitch_range, energy_db (float): Global variance controls
                (:mod:`prosody_plugin.tts.variance_controls`).
            word_controls: Word index (``words(text)``) -> controls of that word, composed with
                the global ones; per text for a list.
            emphasis: Word index -> level ("reduced", "none", "moderate", "strong"); CAMP moves
                the word along its emphasis direction, the others use
                :data:`prosody_plugin.control.emphasis.FALLBACK_CONTROLS`.
            word_prosody: Word index -> embedding (D,) replacing the predicted one (CAMP).
            ssml: "auto" (a text starting with markup is SSML), True or False
                (:mod:`prosody_plugin.text.ssml`).

        Returns:
            Per text, a dict with ``wav`` (T_wav,) (absent without vocoder), ``feat_gen``
            (T_feats, odim), ``duration``, ``pitch``, ``energy`` (T_text + 1 per sentence,
            concatenated) and ``prosody`` (per sentence when several; None for the baseline);
            a list of dicts when ``num_samples > 1``; a list of results for a list of texts.
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
        global_controls = dict(
            rate=rate, pitch_semitones=pitch_semitones, pitch_range=pitch_range, energy_db=energy_db
        )
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
                        sentences,
                        markup,
                        global_controls,
                        word_controls_per_text[i],
                        emphasis_per_text[i],
                        edits_per_text[i],
                    )
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
            for i in sorted(plans)
            if not isinstance(analysed[i], ValueError)
            for r in range(num_samples)
            for plan in plans[i]
        ]
        outputs: Dict[Tuple[int, int], List[Dict[str, torch.Tensor]]] = {}
        failed: Dict[int, ValueError] = {}
        for start in range(0, len(jobs), batch_size):
            chunk = jobs[start : start + batch_size]
            synthesized = self._synthesize_batch(
                [plan for _, _, plan in chunk], temperature, reference, single, [i for i, _, _ in chunk]
            )
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
        """One text's sentence utterances and SSML word markup (None for plain text), or a ValueError."""
        where = "" if single else f"item {index}: "
        if not isinstance(text, str) or not text.strip():
            return ValueError(f"{where}empty text: nothing to say")
        try:
            document = None
            if ssml is True or (ssml == "auto" and is_ssml(text)):
                document = parse_ssml(text)
                text = document.text
            sentences = [s for s in split_sentences(text) if s.strip()]
            utterances = [
                self.frontend.analyze(s, utt_id=f"{where}sentence {k + 1}") for k, s in enumerate(sentences)
            ]
            markup = (
                None
                if document is None
                else ssml_markup(document, sentences, utterances, self.frontend.normalize)
            )
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
        """Per sentence of a text, what to synthesise: controls, emphasis, breaks and edited words.

        The arguments' word controls compose after the SSML's.
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
                    raise ValueError(
                        f"{name}: word {word!r} is not one of the text's {total} words (0..{total - 1})"
                    )
        controls = sentence_controls(sentences, global_controls, words)
        plans, offset = [], 0
        for k, (utterance, sentence_controls_) in enumerate(zip(sentences, controls)):
            local = range(offset, offset + utterance.num_words)
            plans.append(
                SentencePlan(
                    utterance,
                    sentence_controls_,
                    {w - offset: level for w, level in levels.items() if w in local}
                    if self.emphasis is not None
                    else {},
                    {w - offset: s for w, s in markup.breaks.items() if w in local or (w == -1 and k == 0)},
                    {w - offset: row for w, row in edits.items() if w in local},
                )
            )
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
                    padded,
                    lengths,
                    None if self.system is None else [prosody[k] for k in todo],
                    alpha=self.text2speech.decode_conf.get("alpha", 1.0),
                    controls=[plans[k].controls for k in todo],
                )
            except ValueError as e:  # the model names the bad item of the batch ("item k: ...")
                bad = todo[_failed_item(e, len(todo))]
                results[bad] = self._item_error(e, indices[bad], single)
                todo.remove(bad)
                continue
            for k, out in zip(todo, batch):
                if plans[k].breaks:
                    out = insert_breaks(out, plans[k], self.fs, self.model.feats_extract.hop_length)
                if self.text2speech.vocoder is not None:
                    feat = (
                        out["feat_gen"]
                        if self.text2speech.prefer_normalized_feats
                        else out["feat_gen_denorm"]
                    )
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
    """One sentence to synthesise: analysis, per-token controls, emphasis and breaks (seconds; -1: before word 0)."""

    utterance: Utterance
    controls: Optional[Dict[str, torch.Tensor]]
    emphasis: Dict[int, str]
    breaks: Dict[int, float]
    word_prosody: Dict[int, torch.Tensor] = field(default_factory=dict)


def insert_breaks(
    out: Dict[str, torch.Tensor], plan: SentencePlan, fs: int, hop_length: int
) -> Dict[str, torch.Tensor]:
    """A sentence's outputs with the silence of its breaks inserted in the mel, before the vocoder.

    A break after word ``w`` goes after its tokens (trailing pauses included); its frames copy
    the sentence's quietest frame, and the preceding token's duration grows by as many frames.
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

    ``word_controls`` index the words of the whole text.
    """
    neutral = all(global_controls[name] == value for name, value in NEUTRAL.items())
    if neutral and not word_controls:
        return [None] * len(sentences)
    total = sum(u.num_words for u in sentences)
    by_sentence: List[Dict[int, Mapping[str, float]]] = [{} for _ in sentences]
    for word, values in (word_controls or {}).items():
        if not isinstance(word, (int, np.integer)) or not 0 <= word < total:
            raise ValueError(
                f"word_controls: word {word!r} is not one of the text's {total} words (0..{total - 1})"
            )
        k, offset = 0, int(word)
        while offset >= sentences[k].num_words:
            offset -= sentences[k].num_words
            k += 1
        by_sentence[k][offset] = values
    return [
        token_controls(
            len(u.tokens),
            global_controls,
            words,
            u.token_word_ids,
            [not is_boundary_token(t) and not is_punctuation_token(t) for t in u.tokens],
        )
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
