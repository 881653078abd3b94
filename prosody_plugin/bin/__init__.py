"""Command-line tools of prosody_plugin (run them with ``python -m prosody_plugin.bin.NAME``)."""

import argparse
from pathlib import Path
from typing import Callable


def add_measurement_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a tool that measures a synthesiser with bootstrap intervals."""
    parser.add_argument("--num_resamples", type=int, default=1000, help="Bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output_dir", type=Path, required=True)


def measure_synthesizer(args: argparse.Namespace, measure: Callable[..., str], **tts_options) -> None:
    """Print what ``measure(tts)`` returns for the synthesiser of ``args``' model files
    (``--train_config``, ``--model_file`` and stage two's); a ValueError exits naming the model."""
    from prosody_plugin.inference import Text2SpeechProsody

    tts = Text2SpeechProsody(
        args.train_config, args.model_file, args.context_train_config, args.context_model_file, **tts_options
    )
    try:
        table = measure(tts)
    except ValueError as e:
        raise SystemExit(f"{args.model_file}: {e}") from None
    print(table)
