#!/usr/bin/env python3
"""Synthesise lines of text (or SSML) with Kathaka or CAMP, prosody predicted from the text.

The command line of :class:`prosody_plugin.inference.Text2SpeechProsody` (a packed model or
its files; the ESPnet baseline too). docs/stage_two.md (Inference API),
docs/prosody_control.md.
"""

import argparse
import logging
import sys
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from prosody_plugin.cli import DefaultsHelpFormatter
from prosody_plugin.frontend.bert import RUNTIMES
from prosody_plugin.inference import Text2SpeechProsody
from prosody_plugin.vocoder_compat import download_vocoder

MODEL_FILES = ("train_config", "model_file", "context_train_config", "context_model_file")


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Synthesise text with Kathaka/CAMP and their stage-two prosody predictors",
        formatter_class=DefaultsHelpFormatter,
    )
    parser.add_argument("text", nargs="*", help="Utterances to synthesise")
    parser.add_argument("--text_file", type=Path, help="One utterance per line")
    parser.add_argument("--kaldi_text", action="store_true", help="--text_file lines are 'utt_id text'")
    group = parser.add_argument_group(
        "Model: --model_tag, or --train_config and --model_file (and stage two's)"
    )
    group.add_argument(
        "--model_tag", help="A packed model: an archive of prosody_plugin.bin.pack or an espnet_model_zoo tag"
    )
    group.add_argument("--train_config", type=Path, help="Stage-one config.yaml")
    group.add_argument("--model_file", type=Path, help="Stage-one checkpoint")
    group.add_argument("--context_train_config", type=Path, help="Stage-two config.yaml")
    group.add_argument("--context_model_file", type=Path, help="Stage-two checkpoint")
    group.add_argument(
        "--speed_calibration_file",
        type=Path,
        help="The model's calibrated speed (recipe stage 7's speed_calibration.yaml; a packed model brings its own)",
    )
    group = parser.add_argument_group("Vocoder: --vocoder_tag, or --vocoder_file (default: Griffin-Lim)")
    group.add_argument("--vocoder_tag", help="A pretrained vocoder, parallel_wavegan/<tag>")
    group.add_argument("--vocoder_file", type=Path, help="A ParallelWaveGAN-family .pkl")
    group.add_argument("--vocoder_config", type=Path, help="Its config.yml")
    parser.add_argument("--reference_wav", type=Path, help="Borrow the prosody of this recording (Kathaka)")
    parser.add_argument("--temperature", type=float, default=1.0, help="Sampling temperature (Kathaka)")
    parser.add_argument("--num_samples", type=int, default=1, help="Renditions of each text")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the run")
    parser.add_argument("--batch_size", type=int, default=16, help="Sentences synthesised together")
    parser.add_argument("--device", default="cpu", help="Torch device")
    parser.add_argument(
        "--bert_runtime",
        choices=RUNTIMES,
        default="torch",
        help="Runtime of the frozen BERT on the CPU (onnxruntime: faster, same vectors up to rounding)",
    )
    group = parser.add_argument_group("Prosody controls (every system; per word: SSML)")
    group.add_argument("--rate", type=float, default=1.0, help="Speaking rate (0.8: 1.25x longer)")
    group.add_argument("--pitch_semitones", type=float, default=0.0, help="Pitch shift in semitones")
    group.add_argument(
        "--pitch_range", type=float, default=1.0, help="Scaling of the pitch excursions (0: monotone)"
    )
    group.add_argument("--energy_db", type=float, default=0.0, help="Energy change in dB")
    group.add_argument(
        "--ssml",
        choices=["auto", "true", "false"],
        default="auto",
        help="auto: a text starting with markup (<speak, <?xml, <!--, <!DOCTYPE) is SSML (emphasis, prosody, "
        "break, s, p; a DOCTYPE is refused); true: every text must be; false: never parsed",
    )
    group.add_argument(
        "--emphasis_file",
        type=Path,
        help="CAMP's emphasis direction (default: emphasis.npz beside the model)",
    )
    parser.add_argument("--output_dir", type=Path, required=True, help="Where <id>.wav go")
    return parser


def check_model_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--model_tag or the model files, --vocoder_tag or the vocoder files: one of each pair."""
    given = [f"--{name}" for name in MODEL_FILES if getattr(args, name) is not None]
    if args.model_tag is not None and given:
        parser.error(f"--model_tag brings its own model files: not with {', '.join(given)}")
    if args.model_tag is None and (args.train_config is None or args.model_file is None):
        parser.error("give --model_tag, or --train_config and --model_file")
    vocoder = [f"--{name}" for name in ("vocoder_file", "vocoder_config") if getattr(args, name) is not None]
    if args.vocoder_tag is not None and vocoder:
        parser.error(f"--vocoder_tag brings its own vocoder files: not with {', '.join(vocoder)}")


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    parser = get_parser()
    args = parser.parse_args(argv)
    check_model_arguments(parser, args)
    items = [(f"utt{i + 1:04d}", t) for i, t in enumerate(args.text)]
    if args.text_file:
        for i, line in enumerate(args.text_file.read_text(encoding="utf-8").splitlines()):
            if args.kaldi_text:
                utt, _, text = line.partition(" ")
                items.append((utt, text))
            elif line.strip():
                items.append((f"line{i + 1:04d}", line))
    if not items:
        raise SystemExit("no text: give utterances as arguments or --text_file")
    common = dict(
        vocoder_config=args.vocoder_config,
        vocoder_file=args.vocoder_file,
        device=args.device,
        emphasis_file=args.emphasis_file,
        speed_calibration_file=args.speed_calibration_file,
        bert_runtime=args.bert_runtime,
    )
    try:
        if args.vocoder_tag is not None:
            common.update(download_vocoder(args.vocoder_tag))
        if args.model_tag is not None:
            tts = Text2SpeechProsody.from_pretrained(args.model_tag, **common)
        else:
            tts = Text2SpeechProsody(**{name: getattr(args, name) for name in MODEL_FILES}, **common)
    except (FileNotFoundError, ValueError, ImportError) as e:
        source = (
            f"--model_tag {args.model_tag}"
            if args.model_tag is not None
            else f"--model_file {args.model_file}"
        )
        raise SystemExit(f"cannot load the model ({source}): {e}")
    controls = dict(
        rate=args.rate,
        pitch_semitones=args.pitch_semitones,
        pitch_range=args.pitch_range,
        energy_db=args.energy_db,
        ssml={"auto": "auto", "true": True, "false": False}[args.ssml],
    )
    args.output_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    with tqdm(total=len(items), desc="synthesize", unit="text") as progress:
        for start in range(0, len(items), args.batch_size):
            chunk = items[start : start + args.batch_size]
            outs = tts(
                [t for _, t in chunk],
                temperature=args.temperature,
                num_samples=args.num_samples,
                reference_wav=args.reference_wav,
                seed=args.seed if start == 0 else None,
                batch_size=args.batch_size,
                errors="return",
                **controls,
            )
            for (utt, _), out in zip(chunk, outs):
                if isinstance(out, ValueError):
                    logging.error(f"{utt}: skipped: {str(out).split(': ', 1)[-1]}")
                    failed += 1
                    continue
                renditions = out if isinstance(out, list) else [out]
                for n, o in enumerate(renditions, 1):
                    name = utt if len(renditions) == 1 else f"{utt}_sample{n}"
                    sf.write(args.output_dir / f"{name}.wav", o["wav"].numpy(), tts.fs, "PCM_16")
            progress.update(len(chunk))
    if failed:
        raise SystemExit(f"{failed} of {len(items)} utterances could not be synthesised")


if __name__ == "__main__":
    main(sys.argv[1:])
