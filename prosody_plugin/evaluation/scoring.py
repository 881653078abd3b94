"""Objective prosody scores of decoded systems against the recordings (recipe stage 12;
``prosody_plugin.bin.score_prosody`` is its command line): :func:`score` writes
``scores.md``, ``scores.csv``, ``utterances.csv`` and ``words.csv``. The metrics are
:mod:`prosody_plugin.evaluation.metrics`; docs/recipes.md ("Stage 12") says what each means.
"""

import csv
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf
import torch
from tqdm import tqdm

import prosody_plugin  # noqa: F401  (registers the plugin's TTS classes)
from prosody_plugin.data.kaldi_dir import read_kaldi_map
from prosody_plugin.evaluation.metrics import (
    WORD_FEATURES,
    WavScores,
    WordProsody,
    score_world_features,
    word_prosody,
    world_analysis,
)
from prosody_plugin.evaluation.statistics import Bootstrap, Comparison, format_estimate, sufficient_stats
from prosody_plugin.tasks.tts import ProsodyTTSTask
from prosody_plugin.text.word_boundaries import token_classes, word_ids
from prosody_plugin.tts.espnet_model import load_trained_model
from prosody_plugin.vocoder_compat import enable_parallel_wavegan, reproducible_vocoder

# (key, column title, kind, scale for the table, digits)
WAV_METRICS = [
    ("mcd_db", "MCD (dB)", "mean", 1.0, 2),
    ("log_f0_rmse_cents", "log-F0 RMSE (cents)", "mean", 1.0, 0),
    ("f0_pearson", "F0 corr", "mean", 1.0, 3),
    ("vde", "VDE (%)", "mean", 100.0, 1),
]
RECORDINGS_ROW = "(recordings)"  # scores.csv's row of the recordings' own scores; no --system may take it
NATURALNESS_METRIC = ("distillmos", "distillMOS", "mean", 1.0, 2)
# The recordings through mel -> vocoder, measured as the systems' audio: the noise floor.
VOCODED_ROW = "(recordings, vocoded)"
# Word features measured again on the audio (durations are the model's own by construction).
AUDIO_WORD_FEATURES = WORD_FEATURES[1:]
# Metrics where a larger value is better (gap closure's sign handles both directions).
HIGHER_IS_BETTER = {"f0_pearson", "distillmos"} | {
    f"{prefix}word_{k}_corr" for k, _, _ in WORD_FEATURES for prefix in ("", "audio_")
}


class Reference:
    """The recordings' side: token ids, word map, phone durations, pitch and energy."""

    def __init__(
        self,
        train_config: Path,
        model_file: Path,
        data_dir: Path,
        durations: Path,
        words: Optional[Path],
        f0min: Optional[float] = None,
        f0max: Optional[float] = None,
        vocoder_file: Optional[Path] = None,
        vocoder_config: Optional[Path] = None,
    ):
        self.model, self.train_args, self.preprocess = load_trained_model(train_config, model_file)
        self.is_boundary, self.is_punct = token_classes(self.train_args.token_list)
        conf = self.train_args.feats_extract_conf or {}
        self.fs = int(conf.get("fs", 22050))
        self.frame_shift_s = int(conf.get("hop_length", 256)) / self.fs
        # the F0 range of the wav-level analysis: the model's pitch extraction's (the voice's)
        pitch_conf = self.train_args.pitch_extract_conf or {}
        self.f0_floor = float(f0min if f0min is not None else pitch_conf.get("f0min", 0) or 0)
        self.f0_ceil = float(f0max if f0max is not None else pitch_conf.get("f0max", 0) or 0)
        if not 0 < self.f0_floor < self.f0_ceil:
            raise SystemExit(
                f"{train_config}: no F0 range (pitch_extract_conf f0min / f0max: {pitch_conf.get('f0min')} / "
                f"{pitch_conf.get('f0max')}): pass --f0min and --f0max"
            )
        self.texts = read_kaldi_map(data_dir / "text")
        self.wavs = read_kaldi_map(data_dir / "wav.scp")
        self.durations = {
            k: np.array(v.split(), dtype=np.int64) for k, v in read_kaldi_map(durations).items()
        }
        if vocoder_file is not None:
            enable_parallel_wavegan()
        # the decodes' vocoder (Griffin-Lim from the model's frontend unless a file is given),
        # seeded as the decodes' is
        self.vocoder = reproducible_vocoder(
            ProsodyTTSTask.build_vocoder_from_file(vocoder_config, vocoder_file, self.model, "cpu")
        )
        self.words = {}
        if words is not None and words.exists():
            self.words = {k: v.split() for k, v in read_kaldi_map(words).items()}

    def token_word_ids(self, utt: str) -> Tuple[np.ndarray, int]:
        """Word index of every token with FastSpeech2's eos (T_text + 1,), and the word count.

        Speech-only word spans: the word-boundary tokens (``<space>``, punctuation, eos), which
        carry the pauses, get -1 (in no word).
        """
        ids = torch.as_tensor(self.preprocess(utt, {"text": self.texts[utt]})["text"], dtype=torch.long)
        xs = torch.cat([ids, ids.new_tensor([self.model.tts.eos])])[None]
        ids, num_words = word_ids(
            xs, torch.tensor([xs.size(1)]), self.is_boundary, self.is_punct, pauses_in_words=False
        )
        return ids[0].numpy(), int(num_words[0])

    def world(self, wav: np.ndarray, name: str) -> Tuple[np.ndarray, np.ndarray]:
        """WORLD F0 and mel-cepstrum of a waveform at the reference's rate and F0 range."""
        return world_analysis(wav, self.fs, f0_floor=self.f0_floor, f0_ceil=self.f0_ceil, name=name)

    def load_wav(self, utt: str) -> np.ndarray:
        try:
            wav, rate = sf.read(self.wavs[utt], dtype="float64", always_2d=True)
        except (RuntimeError, OSError) as e:  # soundfile's LibsndfileError is a RuntimeError
            raise SystemExit(f"{utt}: cannot read the recording {self.wavs[utt]}: {e}") from e
        if rate != self.fs:
            raise ValueError(f"{utt}: the recording is at {rate} Hz, the models at {self.fs} Hz")
        return wav[:, 0]

    @torch.no_grad()
    def vocoded(self, wav: np.ndarray, seed: int = 0) -> np.ndarray:
        """A recording through the model's mel-spectrogram and the decodes' vocoder
        (``seed``: Griffin-Lim's initial phases)."""
        np.random.seed(seed)
        speech = torch.from_numpy(wav.astype(np.float32))[None]
        feats, _ = self.model.feats_extract(speech, torch.tensor([speech.size(1)]))
        return self.vocoder(feats[0]).reshape(-1).numpy().astype(np.float64)

    @torch.no_grad()
    def token_pitch_energy(
        self, utt: str, wav: np.ndarray, durations: Optional[np.ndarray] = None
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Token-level log-F0 and energy of a wav of the utterance, extracted as for training,
        over the recording's phone durations or the given ones (a synthesis's own)."""
        durations = self.durations[utt] if durations is None else durations
        durations = torch.from_numpy(np.asarray(durations, dtype=np.int64))[None]
        speech = torch.from_numpy(wav.astype(np.float32))[None]
        lengths = torch.tensor([speech.size(1)])
        kwargs = dict(
            feats_lengths=durations.sum(1),
            durations=durations,
            durations_lengths=torch.tensor([durations.size(1)]),
        )
        pitch, _ = self.model.pitch_extract(speech, lengths, **kwargs)
        energy, _ = self.model.energy_extract(speech, lengths, **kwargs)
        return pitch.reshape(-1).numpy(), energy.reshape(-1).numpy()


class DecodedSystem:
    """One decode directory: wavs and (for FastSpeech2-family models) predicted variances."""

    def __init__(self, name: str, directory: Path):
        self.name, self.directory = name, directory
        if not (directory / "wav.scp").exists():
            raise FileNotFoundError(f"system {name}: {directory}/wav.scp is missing (decode it first)")
        self.wavs = read_kaldi_map(directory / "wav.scp")
        self.variances: Dict[str, Dict[str, np.ndarray]] = {}
        files = {k: directory / k / k for k in ("durations", "pitch", "energy")}
        if all(f.exists() for f in files.values()):
            for key, f in files.items():
                self.variances[key] = {
                    u: np.array(v.split(), dtype=np.float64) for u, v in read_kaldi_map(f).items()
                }
        else:
            logging.warning(
                f"system {name}: no predicted durations/pitch/energy in {directory}: wav-level scores only"
            )

    def load_wav(self, utt: str, fs: int) -> np.ndarray:
        wav, rate = sf.read(self.wavs[utt], dtype="float64", always_2d=True)
        wav = wav[:, 0]
        if rate != fs:  # e.g. a model-zoo baseline at another rate
            import librosa

            wav = librosa.resample(wav, orig_sr=rate, target_sr=fs)
        return wav

    def durations(self, utt: str, num_tokens: int) -> Optional[np.ndarray]:
        """The model's own token durations, None without them or for another token set."""
        if not self.variances or utt not in self.variances["durations"]:
            return None
        durations = self.variances["durations"][utt].astype(np.int64)
        if len(durations) != num_tokens:
            logging.warning(
                f"{self.name} / {utt}: {len(durations)} predicted durations for {num_tokens} tokens "
                "(another token set?): no word-level scores"
            )
            return None
        return durations

    def word_prosody(
        self, utt: str, word_ids: np.ndarray, num_words: int, frame_shift_s: float
    ) -> Optional[WordProsody]:
        durations = self.durations(utt, len(word_ids))
        if durations is None:
            return None
        return word_prosody(
            durations,
            self.variances["pitch"][utt],
            self.variances["energy"][utt],
            word_ids,
            num_words,
            frame_shift_s,
        )


def parse_pairs(values: Sequence[str], what: str) -> Dict[str, str]:
    """``NAME=VALUE`` strings (of the option ``--<what>``) -> {NAME: VALUE}, in order."""
    pairs = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name or not rest:
            raise SystemExit(f"--{what} expects NAME=VALUE, got {value!r}")
        pairs[name] = rest
    return pairs


def score(
    data_dir: Path,
    durations: Path,
    train_config: Path,
    model_file: Path,
    systems: Mapping[str, Path],
    baseline: str,
    output_dir: Path,
    words: Optional[Path] = None,
    oracles: Optional[Mapping[str, str]] = None,
    movements: Optional[Mapping[str, str]] = None,
    f0min: Optional[float] = None,
    f0max: Optional[float] = None,
    naturalness: bool = True,
    num_resamples: int = 1000,
    seed: int = 0,
    vocoder_file: Optional[Path] = None,
    vocoder_config: Optional[Path] = None,
) -> Dict[str, Dict[str, Comparison]]:
    """Score every system against the recordings and write the tables to ``output_dir``.

    Args:
        data_dir: Data dir of the recordings (``text``, ``wav.scp``).
        durations: The recordings' phone durations (T_text + 1 per line).
        train_config: A stage-one ``config.yaml``: its token list, pitch and energy
            extractors define the recordings' side.
        model_file: Its checkpoint (the statistics of its extractors).
        systems: Name -> decode dir, in table order.
        baseline: The name of the baseline among ``systems``.
        output_dir: Where ``scores.md``, ``scores.csv``, ``utterances.csv`` and
            ``words.csv`` go.
        words: Word labels for ``words.csv`` (the context dir's ``words`` file).
        oracles: System -> its oracle system, for gap closure.
        movements: System -> another system: RMS difference of their word prosody.
        f0min: Lowest F0 of the wav-level analysis (Hz); default: the model's
            ``pitch_extract_conf`` f0min.
        f0max: Highest F0 (Hz); default: its f0max.
        naturalness: Score every wav (and the recordings) with DistillMOS.
        num_resamples: Bootstrap resamples.
        seed: Seed of the bootstrap.
        vocoder_file, vocoder_config: The decodes' vocoder (default Griffin-Lim, as they),
            for the noise floor of the audio-level word scores.

    Returns:
        System -> metric -> its comparison with the baseline (and oracle).

    """
    output_dir = Path(output_dir)
    systems = {name: DecodedSystem(name, Path(d)) for name, d in systems.items()}
    if RECORDINGS_ROW in systems:
        raise SystemExit(f"--system {RECORDINGS_ROW}=...: that name is the recordings' own row in scores.csv")
    oracles = dict(oracles or {})
    for name, oracle in oracles.items():
        if name not in systems or oracle not in systems:
            raise SystemExit(f"--oracle {name}={oracle}: both must be among --system ({', '.join(systems)})")
    movements = dict(movements or {})
    for name, other in movements.items():
        if name not in systems or other not in systems:
            raise SystemExit(f"--movement {name}={other}: both must be among --system ({', '.join(systems)})")
    if baseline not in systems:
        raise SystemExit(f"--baseline {baseline} is not among --system ({', '.join(systems)})")
    reference = Reference(
        train_config, model_file, data_dir, durations, words, f0min, f0max, vocoder_file, vocoder_config
    )
    logging.info(f"wav-level F0 analysis over {reference.f0_floor:g}-{reference.f0_ceil:g} Hz")

    utts = sorted(reference.texts)
    missing = {u: [s.name for s in systems.values() if u not in s.wavs] for u in utts}
    missing.update({u: ["durations"] for u in utts if u not in reference.durations})
    missing = {u: names for u, names in missing.items() if names}
    for utt, names in missing.items():
        logging.warning(f"{utt}: not scored, missing in {', '.join(names)}")
    utts = [u for u in utts if u not in missing]
    if not utts:
        raise SystemExit("no utterance is decoded by every system")

    output_dir.mkdir(parents=True, exist_ok=True)
    predictor = None
    if naturalness:
        from prosody_plugin.evaluation.naturalness import NaturalnessPredictor

        predictor = NaturalnessPredictor()
    mos: Dict[str, List[float]] = {name: [] for name in systems}
    recordings_mos: List[float] = []  # apart from mos: a system may itself be called "recording"
    wav_scores: Dict[str, List[WavScores]] = {name: [] for name in systems}
    word_values: Dict[str, List[Optional[WordProsody]]] = {name: [] for name in systems}
    audio_values: Dict[str, List[Optional[WordProsody]]] = {name: [] for name in [*systems, VOCODED_ROW]}
    duration_ratios: Dict[str, List[Optional[float]]] = {name: [] for name in systems}
    recording_words: List[WordProsody] = []
    with open(output_dir / "words.csv", "w", newline="") as f:
        word_writer = csv.writer(f)
        word_writer.writerow(["utt", "word_index", "word", "source"] + [k for k, _, _ in WORD_FEATURES])
        for utt in tqdm(utts, desc="scoring"):
            ref_wav = reference.load_wav(utt)
            word_ids, num_words = reference.token_word_ids(utt)
            if len(word_ids) != len(reference.durations[utt]):
                raise SystemExit(
                    f"{utt}: {len(reference.durations[utt])} durations for {len(word_ids)} tokens: "
                    "the durations and the model's token list disagree"
                )
            pitch, energy = reference.token_pitch_energy(utt, ref_wav)
            ref_words = word_prosody(
                reference.durations[utt], pitch, energy, word_ids, num_words, reference.frame_shift_s
            )
            recording_words.append(ref_words)
            labels = reference.words.get(utt, [])
            labels = labels if len(labels) == num_words else [f"w{i}" for i in range(num_words)]
            rows = [("recording", ref_words)]
            ref_world = reference.world(ref_wav, name=f"{utt} (recording)")  # once for all systems

            def heard(wav: np.ndarray, token_durations: np.ndarray) -> WordProsody:
                """Word pitch and energy measured on a wav over the given token durations."""
                wav_pitch, wav_energy = reference.token_pitch_energy(utt, wav, token_durations)
                return word_prosody(
                    token_durations, wav_pitch, wav_energy, word_ids, num_words, reference.frame_shift_s
                )

            audio_values[VOCODED_ROW].append(
                heard(reference.vocoded(ref_wav, seed), reference.durations[utt])
            )
            if predictor is not None:
                recordings_mos.append(predictor(ref_wav, reference.fs, name=f"{utt} (recording)"))
            for name, system in systems.items():
                try:
                    syn_wav = system.load_wav(utt, reference.fs)
                    syn_world = reference.world(syn_wav, name="synthesized")
                    wav_scores[name].append(score_world_features(ref_world, syn_world))
                    if predictor is not None:
                        mos[name].append(predictor(syn_wav, reference.fs, name=f"{name} / {utt}"))
                except (ValueError, RuntimeError) as e:  # e.g. a silent synthesis: no score would flatter it
                    raise SystemExit(f"{name} / {utt}: cannot score {system.wavs[utt]}: {e}") from e
                values = system.word_prosody(utt, word_ids, num_words, reference.frame_shift_s)
                word_values[name].append(values)
                if values is not None:
                    rows.append((name, values))
                own_durations = system.durations(utt, len(word_ids))
                audio_values[name].append(None if own_durations is None else heard(syn_wav, own_durations))
                duration_ratios[name].append(
                    None if own_durations is None else own_durations.sum() / reference.durations[utt].sum()
                )
            for source, values in rows:
                for i in range(num_words):
                    word_writer.writerow(
                        [utt, i, labels[i], source]
                        + [f"{getattr(values, k)[i]:.3f}" for k, _, _ in WORD_FEATURES]
                    )

    with open(output_dir / "utterances.csv", "w", newline="") as f:
        writer = csv.writer(f)
        keys = list(asdict(wav_scores[baseline][0]))
        writer.writerow(["utt", "system"] + keys + (["distillmos"] if predictor else []))
        for name in systems:
            for i, (utt, s) in enumerate(zip(utts, wav_scores[name])):
                extra = [f"{mos[name][i]:.5f}"] if predictor else []
                writer.writerow(
                    [utt, name]
                    + [f"{v:.5f}" if isinstance(v, float) else v for v in asdict(s).values()]
                    + extra
                )

    # per-utterance sufficient statistics of every metric and system
    stats: Dict[str, Dict[str, Tuple[str, np.ndarray]]] = {name: {} for name in systems}
    for name in systems:
        for key, _, kind, _, _ in WAV_METRICS:
            stats[name][key] = (
                kind,
                np.stack([sufficient_stats(kind, getattr(s, key)) for s in wav_scores[name]]),
            )
        if predictor is not None:
            stats[name]["distillmos"] = ("mean", np.stack([sufficient_stats("mean", v) for v in mos[name]]))
        stats[name].update(word_stats(word_values[name], recording_words, WORD_FEATURES))
        stats[name].update(word_stats(audio_values[name], recording_words, AUDIO_WORD_FEATURES, "audio_"))
        if all(r is not None for r in duration_ratios[name]):
            stats[name]["duration_ratio"] = (
                "mean",
                np.stack([sufficient_stats("mean", r) for r in duration_ratios[name]]),
            )

    bootstrap = Bootstrap(len(utts), num_resamples, seed)
    results: Dict[str, Dict[str, Comparison]] = {}
    for name in systems:
        results[name] = {}
        oracle = oracles.get(name)
        for metric, (kind, system_stats) in stats[name].items():
            baseline_stats = None if name == baseline else stats[baseline].get(metric, (None, None))[1]
            oracle_stats = None if oracle is None else stats[oracle].get(metric, (None, None))[1]
            results[name][metric] = bootstrap.compare(
                kind, system_stats, baseline_stats, oracle_stats, higher_is_better=metric in HIGHER_IS_BETTER
            )
    # how far one system's word prosody lies from another's (e.g. Kathaka's oracle latent
    # against its prior mean): RMS difference of their word values, with intervals
    movement: Dict[str, Dict[str, Comparison]] = {}
    for name, other in movements.items():
        if all(v is not None for v in word_values[name] + word_values[other]):
            movement[f"{name} vs {other}"] = {
                key: bootstrap.compare(
                    "rmse",
                    np.stack(
                        [
                            sufficient_stats("rmse", getattr(a, key), getattr(b, key))
                            for a, b in zip(word_values[name], word_values[other])
                        ]
                    ),
                )
                for key, _, _ in WORD_FEATURES
            }
    recording = {  # the noise floor of the audio-level scores
        metric: bootstrap.compare(kind, values)
        for metric, (kind, values) in word_stats(
            audio_values[VOCODED_ROW], recording_words, AUDIO_WORD_FEATURES, "audio_"
        ).items()
    }
    if predictor is not None:  # the recordings' own naturalness: the ceiling of the systems'
        recording["distillmos"] = bootstrap.compare(
            "mean", np.stack([sufficient_stats("mean", v) for v in recordings_mos])
        )
    write_tables(
        output_dir,
        results,
        oracles,
        utts,
        missing,
        sum(len(r.duration_ms) for r in recording_words),
        recording,
        movement,
        data_dir=data_dir,
        baseline=baseline,
        num_resamples=num_resamples,
        seed=seed,
    )
    return results


def word_stats(
    values: Sequence[Optional[WordProsody]], recordings: Sequence[WordProsody], features, prefix: str = ""
) -> Dict[str, Tuple[str, np.ndarray]]:
    """Per-utterance sufficient statistics of word RMSE and correlation against the recordings,
    ``{prefix}word_{feature}_{rmse|corr}``; none when an utterance has no values."""
    if not values or any(v is None for v in values):
        return {}
    stats = {}
    for key, _, _ in features:
        for kind, suffix in (("rmse", "rmse"), ("pearson", "corr")):
            stats[f"{prefix}word_{key}_{suffix}"] = (
                kind,
                np.stack(
                    [
                        sufficient_stats(kind, getattr(v, key), getattr(r, key))
                        for v, r in zip(values, recordings)
                    ]
                ),
            )
    return stats


def oracle_improves(oracle: Optional[Comparison], metric: str) -> bool:
    """Whether the oracle is significantly better than the baseline on ``metric``."""
    if oracle is None or oracle.difference is None or not oracle.significant:
        return False
    return oracle.difference.value > 0 if metric in HIGHER_IS_BETTER else oracle.difference.value < 0


def table_section(title: str, text: str, columns: Sequence[str]) -> List[str]:
    """The Markdown lines that open a section of ``scores.md``: heading, text, table header."""
    return ["", f"## {title}", "", text, "", "| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]


def write_tables(
    output_dir: Path,
    results: Dict[str, Dict[str, Comparison]],
    oracles: Mapping[str, str],
    utts: Sequence[str],
    missing: Mapping[str, List[str]],
    num_words_total: int,
    recording: Optional[Dict[str, Comparison]] = None,
    movement: Optional[Dict[str, Dict[str, Comparison]]] = None,
    *,
    data_dir: Path,
    baseline: str,
    num_resamples: int,
    seed: int,
) -> None:
    """Write ``scores.csv`` and ``scores.md`` to ``output_dir`` and print the tables.

    ``data_dir``, ``baseline``, ``num_resamples`` and ``seed`` are named in the tables' text.
    """
    output_dir = Path(output_dir)
    recording, movement = recording or {}, movement or {}
    wav_metrics = WAV_METRICS + ([NATURALNESS_METRIC] if "distillmos" in recording else [])
    with open(output_dir / "scores.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "system",
                "metric",
                "value",
                "ci_low",
                "ci_high",
                "diff_vs_baseline",
                "diff_ci_low",
                "diff_ci_high",
                "p_value",
                "significant",
                "oracle",
                "gap_closure",
                "gap_ci_low",
                "gap_ci_high",
                "relative_improvement",
                "relative_ci_low",
                "relative_ci_high",
                "num_utterances",
            ]
        )
        rows = [(name, metric, c) for name, metrics in results.items() for metric, c in metrics.items()]
        rows += [
            (VOCODED_ROW if metric.startswith("audio_") else RECORDINGS_ROW, metric, c)
            for metric, c in recording.items()
        ]
        rows += [
            (pair, f"word_{key}_rms_difference", c)
            for pair, values in movement.items()
            for key, c in values.items()
        ]
        for name, metric, c in rows:
            d, g, r = c.difference, c.gap_closure, c.relative_improvement
            writer.writerow(
                [
                    name,
                    metric,
                    c.estimate.value,
                    c.estimate.low,
                    c.estimate.high,
                    *(("", "", "") if d is None else (d.value, d.low, d.high)),
                    "" if d is None else c.p_value,
                    "" if d is None else c.significant,
                    oracles.get(name, ""),
                    *(("", "", "") if g is None else (g.value, g.low, g.high)),
                    *(("", "", "") if r is None else (r.value, r.low, r.high)),
                    len(utts),
                ]
            )

    def cell(c: Optional[Comparison], scale: float, digits: int) -> str:
        if c is None:
            return "n/a"
        text = format_estimate(c.estimate, scale, digits)
        return text + (" *" if c.difference is not None and c.significant else "")

    lines = [
        f"# Prosody scores: {data_dir}",
        "",
        f"{len(utts)} utterances ({num_words_total} words); 95% bootstrap intervals over utterances "
        f"({num_resamples} resamples, seed {seed}); `*`: differs from the baseline "
        f"`{baseline}` with paired bootstrap p < 0.05.",
    ]
    if missing:
        lines.append(f"Not scored (missing outputs): {', '.join(sorted(missing))}.")
    lines += table_section(
        "Waveform level (through the vocoder)",
        "MCD: mel-cepstral distortion over the DTW path, c0 (energy) excluded; log-F0 RMSE, F0 "
        "correlation: frames voiced in both after DTW; VDE: voicing decision error."
        + (
            " distillMOS: DistillMOS's predicted MOS (1-5), an offline stand-in for a listening "
            "test that hears overall quality (vocoder, blur), not whether the prosody fits the text."
            if "distillmos" in recording
            else ""
        ),
        ["system", *(t for _, t, _, _, _ in wav_metrics)],
    )
    for name, metrics in results.items():
        lines.append(
            f"| {name} | " + " | ".join(cell(metrics.get(k), s, d) for k, _, _, s, d in wav_metrics) + " |"
        )
    if "distillmos" in recording:
        lines.append(
            "| recordings | "
            + " | ".join(["—"] * len(WAV_METRICS))
            + f" | {format_estimate(recording['distillmos'].estimate, 1.0, 2)} |"
        )
    lines += table_section(
        "Word level (the model's own durations, pitch and energy; vocoder-independent)",
        "RMSE (lower is better) and Pearson correlation (higher is better) against the recording, "
        "pooled over words; a word is its phones (speech only: the pauses on the word-boundary tokens "
        "after it are not part of it).",
        [
            "system",
            *(f"{t.removeprefix('word ')} {m}" for _, t, _ in WORD_FEATURES for m in ("RMSE", "corr")),
        ],
    )
    for name, metrics in results.items():
        cells = []
        for key, _, digits in WORD_FEATURES:
            cells += [
                cell(metrics.get(f"word_{key}_rmse"), 1.0, digits),
                cell(metrics.get(f"word_{key}_corr"), 1.0, 3),
            ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    audio_metrics = [(f"audio_word_{k}", t.removeprefix("word "), d) for k, t, d in AUDIO_WORD_FEATURES]
    lines += table_section(
        "Word level on the audio (what a listener hears)",
        "The same word pitch and energy, measured again on each synthesised wav over the model's own "
        f"durations. `{VOCODED_ROW}`: the recordings through mel-spectrogram and the same vocoder, "
        "measured the same way: the measurement's noise floor, the best a system can score.",
        ["system", *(f"{t} {m}" for _, t, _ in audio_metrics for m in ("RMSE", "corr"))],
    )
    for name, metrics in [*results.items(), (VOCODED_ROW, recording)]:
        cells = []
        for key, _, digits in audio_metrics:
            cells += [cell(metrics.get(f"{key}_rmse"), 1.0, digits), cell(metrics.get(f"{key}_corr"), 1.0, 3)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += table_section(
        "Speaking time",
        "Each utterance's total duration (the model's own, pauses included) over the recording's, averaged.",
        ["system", "duration ratio"],
    )
    for name, metrics in results.items():
        lines.append(f"| {name} | {cell(metrics.get('duration_ratio'), 100.0, 1)} |")
    if oracles:
        gap_metrics = [(f"word_{k}_rmse", f"{t} RMSE") for k, t, _ in WORD_FEATURES]
        gap_metrics += [(f"audio_word_{k}_rmse", f"{t} RMSE, audio") for k, t, _ in AUDIO_WORD_FEATURES[:1]]
        gap_metrics += [(f"word_{k}_corr", f"{t} corr") for k, t, _ in WORD_FEATURES[:2]]
        gap_metrics += [(k, t) for k, t, _, _, _ in WAV_METRICS[:2]]
        lines += table_section(
            "Gap closure",
            f"(baseline - system) / (baseline - oracle): 0% = `{baseline}`, 100% = the system's oracle "
            "(same stage-one model, prosody from the recording itself). `†`: the oracle is not "
            "significantly better than the baseline on that metric, so there is no gap to close and "
            "the ratio is not meaningful.",
            ["system", "oracle", *(t for _, t in gap_metrics)],
        )
        for name, oracle in oracles.items():
            cells = []
            for key, _ in gap_metrics:
                comparison = results[name].get(key)
                text = format_estimate(getattr(comparison, "gap_closure", None), 1.0, 0, percent=True)
                if comparison is not None and not oracle_improves(results[oracle].get(key), key):
                    text += " †"
                cells.append(text)
            lines.append(f"| {name} | {oracle} | " + " | ".join(cells) + " |")
    relative_metrics = [(f"word_{k}_rmse", f"{t} RMSE") for k, t, _ in WORD_FEATURES]
    relative_metrics += [(f"audio_word_{k}_rmse", f"{t} RMSE, audio") for k, t, _ in AUDIO_WORD_FEATURES]
    relative_metrics += [(k, t) for k, t, _, _, _ in wav_metrics[:2]]
    relative_metrics += [(k, t) for k, t, _, _, _ in wav_metrics[4:]]
    lines += table_section(
        "Relative to the baseline",
        f"The papers' framing: (baseline - system) / baseline, the fraction of `{baseline}`'s "
        "error the system removes (for distillMOS, where higher is better, the relative gain); "
        "`*`: the difference from the baseline has paired bootstrap p < 0.05.",
        ["system", *(t for _, t in relative_metrics)],
    )
    for name, metrics in results.items():
        if name == baseline:
            continue
        cells = []
        for key, _ in relative_metrics:
            c = metrics.get(key)
            text = format_estimate(getattr(c, "relative_improvement", None), 1.0, 0, percent=True)
            cells.append(
                text + (" *" if c is not None and c.difference is not None and c.significant else "")
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if movement:
        lines += table_section(
            "Movement",
            "How far the first system's word prosody lies from the second's: RMS difference of "
            "their word values (e.g. Kathaka's oracle, the recording's own latent, against its prior "
            "mean: how much the latent moves the prosody). An interval clear of 0 is a significant move.",
            ["systems", *(t for _, t, _ in WORD_FEATURES)],
        )
        for pair, values in movement.items():
            lines.append(
                f"| {pair} | "
                + " | ".join(format_estimate(values[k].estimate, 1.0, d) for k, _, d in WORD_FEATURES)
                + " |"
            )
    (output_dir / "scores.md").write_text("\n".join(lines) + "\n")
    logging.info(f"wrote {output_dir}/scores.md and scores.csv")
    print("\n".join(lines))
