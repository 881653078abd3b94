"""One-to-many: how much a system's word-level prosody varies over samples of the same text.

Renditions of each sentence from stage two's sampler, the stage-one prior and real
recordings' representations are compared word by word (standard deviation over renditions;
near zero: a collapsed sampler). docs/recipes.md (Stage 12).
"""

import csv
import logging
import warnings
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch
from espnet2.fileio.npy_scp import NpyScpReader
from espnet2.torch_utils.set_all_random_seed import set_all_random_seed
from tqdm import tqdm

from prosody_plugin.evaluation.metrics import WORD_FEATURES, word_prosody
from prosody_plugin.evaluation.statistics import Bootstrap, format_estimate, sufficient_stats
from prosody_plugin.inference import Text2SpeechProsody
from prosody_plugin.text.word_boundaries import token_classes
from prosody_plugin.text.word_boundaries import word_ids as word_ids_of
from prosody_plugin.tts.word_pooling import append_eos

# spreads are small: at least one decimal
FEATURES = [(key, title, max(digits, 1)) for key, title, digits in WORD_FEATURES]


def word_spread(renditions: List) -> Dict[str, float]:
    """Mean over words of the std over renditions, per feature (nan-aware)."""
    spread = {}
    for key, _, _ in FEATURES:
        values = np.stack([getattr(r, key) for r in renditions])  # (N, W)
        with warnings.catch_warnings():  # words unvoiced in every rendition: nan, left out
            warnings.simplefilter("ignore", RuntimeWarning)
            per_word = np.nanstd(values, axis=0, ddof=1)
        spread[key] = float(np.nanmean(per_word)) if np.isfinite(per_word).any() else float("nan")
    return spread


def measure_spread(
    tts: Text2SpeechProsody,
    texts: Dict[str, str],
    output_dir: Path,
    latents: Optional[Path] = None,
    num_samples: int = 10,
    temperature: float = 1.0,
    max_utterances: int = 0,
    num_resamples: int = 1000,
    seed: int = 0,
) -> str:
    """Measure the one-to-many spread of each source; write spread.{csv,md}, return the table."""
    if num_samples < 2:
        raise ValueError("num_samples must be >= 2 to measure a spread")
    if tts.system is None or not tts.tts.one_to_many:
        raise ValueError(
            f"the model is {tts.system or 'the baseline'}, whose stage two does not sample: the spread is measured "
            "over the samples of a one-to-many system (Kathaka)"
        )
    train_args = tts.text2speech.train_args
    frame_shift_s = train_args.feats_extract_conf["hop_length"] / train_args.feats_extract_conf["fs"]
    model = tts.tts
    classes = token_classes(train_args.token_list)
    set_all_random_seed(seed)

    # a prior and other recordings' representations fit any text only at the sentence level
    sources = ["sampler"] if model.per_word else ["sampler", "prior"]
    recorded = None
    if latents is not None and not model.per_word:
        reader = NpyScpReader(str(latents))
        recorded = [
            model.representation_of_target(torch.from_numpy(reader[k]).float()) for k in reader.keys()
        ]
        sources.append("recordings")
        logging.info(f"{len(recorded)} recorded representations from {latents}")
    rng = np.random.default_rng(seed)

    def draw(source: str, utterance) -> torch.Tensor:
        if source == "sampler":
            return tts.predict_prosody([utterance], temperature)[0]
        if source == "prior":
            return model.sample_prior()
        return recorded[rng.integers(len(recorded))]

    per_utt: Dict[str, List[Dict[str, float]]] = {s: [] for s in sources}
    utts = []
    for utt, text in tqdm(list(texts.items())[: max_utterances or None], desc="one-to-many"):
        try:
            utterance = tts.frontend.analyze(text, utt_id=utt)
        except ValueError as e:
            logging.warning(f"{utt}: skipped: {e}")
            continue
        tokens = torch.from_numpy(utterance.token_ids)
        xs, ilens = append_eos(tokens[None], torch.tensor([len(tokens)]), model.eos, model.padding_idx)
        word_ids = word_ids_of(xs, ilens, *classes)[0][0].numpy()
        utts.append(utt)
        for source in sources:
            prosody = [draw(source, utterance) for _ in range(num_samples)]
            outs = tts.model.batch_inference(
                tokens.expand(num_samples, -1).to(tts.device),
                torch.full((num_samples,), len(tokens), device=tts.device),
                prosody,
            )
            renditions = [
                word_prosody(
                    out["duration"].cpu().numpy().astype(np.int64),
                    out["pitch_denorm"].cpu().numpy(),
                    out["energy_denorm"].cpu().numpy(),
                    word_ids,
                    utterance.num_words,
                    frame_shift_s,
                )
                for out in outs
            ]
            per_utt[source].append(word_spread(renditions))
    if not utts:
        raise ValueError("no sentence of the text could be analysed")

    bootstrap = Bootstrap(len(utts), num_resamples, seed)
    output_dir.mkdir(parents=True, exist_ok=True)
    estimates = {}
    with open(output_dir / "spread.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "source",
                "feature",
                "mean_std",
                "ci_low",
                "ci_high",
                "num_utterances",
                "num_samples",
                "temperature",
            ]
        )
        for source in sources:
            for key, _, _ in FEATURES:
                stats = np.stack([sufficient_stats("mean", s[key]) for s in per_utt[source]])
                estimates[source, key] = est = bootstrap.compare("mean", stats).estimate
                writer.writerow(
                    [source, key, est.value, est.low, est.high, len(utts), num_samples, temperature]
                )
    lines = [
        f"# One-to-many: {model.title} renditions of the same text",
        "",
        f"{len(utts)} sentences x {num_samples} renditions per source; sampler temperature "
        f"{temperature}. Mean over sentences of the per-word standard deviation across renditions "
        "(95% bootstrap intervals). `recordings`: representations of real training recordings, the range "
        "the representation covers; `prior`: the stage-one prior.",
        "",
        "| source | " + " | ".join(t for _, t, _ in FEATURES) + " |",
        "|---" * (len(FEATURES) + 1) + "|",
    ]
    for source in sources:
        lines.append(
            f"| {source} | "
            + " | ".join(format_estimate(estimates[source, k], 1.0, d) for k, _, d in FEATURES)
            + " |"
        )
    if recorded is not None:
        ratios = [estimates["sampler", k].value / estimates["recordings", k].value for k, _, _ in FEATURES]
        lines += [
            "",
            "Sampler spread relative to the recordings' latents: "
            + ", ".join(f"{t} {r:.0%}" for (_, t, _), r in zip(FEATURES, ratios))
            + ".",
        ]
    (output_dir / "spread.md").write_text("\n".join(lines) + "\n")
    return "\n".join(lines)
