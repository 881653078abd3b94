#!/usr/bin/env python3
"""Validate a Kaldi-style data dir and write a clean copy that training can rely on.

Every utterance of ``IN_DIR`` is checked (audio, text, G2P, alignability), leading and
trailing silence is trimmed (``--trim_silence``), and the ones that pass are written to
``OUT_DIR`` with ``utt2num_samples``; the others are listed in ``OUT_DIR/dropped``. The
checks, the trimming and the warnings are described in :mod:`prosody_plugin.data.validation`.

Example::

    python -m prosody_plugin.bin.format_data --fs 16000 --g2p espeak_ng_english_us_vits \\
        --cleaner tacotron --token_type phn --hop_length 256 --max_duration 20 \\
        --on_error drop --nj 2 --trim_silence true --trim_threshold_db 35 \\
        --trim_margin_ms 50 data/train dump/raw/train
"""

import argparse
import logging
from pathlib import Path

from espnet2.utils.types import str2bool

from prosody_plugin.data.silence import TrimConfig
from prosody_plugin.data.validation import ValidationConfig, format_data_dir


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Validate a Kaldi-style data dir (audio, text, G2P, alignability), trim "
        "leading and trailing silence, and write a clean copy with utt2num_samples and a list "
        "of dropped utterances.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("in_dir", type=Path, help="Input data dir (wav.scp, text, utt2spk).")
    parser.add_argument("out_dir", type=Path, help="Output data dir.")
    parser.add_argument("--fs", type=int, required=True, help="Expected sampling rate (Hz).")
    parser.add_argument(
        "--g2p", default="espeak_ng_english_us_vits", help="ESPnet g2p type (for phn tokens)."
    )
    parser.add_argument("--cleaner", default="tacotron", help="ESPnet text cleaner ('none' for no cleaning).")
    parser.add_argument("--token_type", default="phn", choices=["phn", "char"], help="ESPnet token type.")
    parser.add_argument("--hop_length", type=int, default=256, help="Hop length of the acoustic features.")
    parser.add_argument(
        "--max_duration",
        type=float,
        default=None,
        help="Drop utterances longer than this (seconds, after trimming); default: no limit.",
    )
    parser.add_argument(
        "--on_error",
        default="drop",
        choices=["drop", "stop"],
        help="drop: log and skip bad utterances; stop: fail at the first one.",
    )
    parser.add_argument(
        "--extra_characters",
        default="",
        help="Characters to accept in transcripts besides letters, digits and ordinary punctuation (e.g. '%%&').",
    )
    group = parser.add_argument_group("silence")
    group.add_argument(
        "--trim_silence",
        type=str2bool,
        default=True,
        help="Trim leading and trailing silence (trimmed copies in OUT_DIR/data).",
    )
    group.add_argument(
        "--trim_threshold_db",
        type=float,
        default=TrimConfig.threshold_db,
        help="Frames this many dB below the loudest frame are silence.",
    )
    group.add_argument(
        "--trim_margin_ms",
        type=float,
        default=TrimConfig.margin_ms,
        help="Silence kept before and after the speech (ms).",
    )
    group.add_argument(
        "--max_silence_share",
        type=float,
        default=0.4,
        help="Warn about utterances with more silence than this share after trimming (0-1; >= 1: never).",
    )
    parser.add_argument("--nj", type=int, default=1, help="Number of parallel workers.")
    parser.add_argument("--verbose", type=int, default=1, help="0: warnings, 1: info, 2: debug.")
    return parser


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(max(args.verbose, 0), 2)],
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )
    try:
        trim = (
            TrimConfig(threshold_db=args.trim_threshold_db, margin_ms=args.trim_margin_ms)
            if args.trim_silence
            else None
        )
    except ValueError as e:
        raise SystemExit(f"format_data: {e}") from None
    config = ValidationConfig(
        fs=args.fs,
        hop_length=args.hop_length,
        max_duration=args.max_duration if args.max_duration and args.max_duration > 0 else None,
        g2p=None if args.g2p in ("none", "None", "") else args.g2p,
        cleaner=None if args.cleaner in ("none", "None", "") else args.cleaner,
        token_type=args.token_type,
        trim=trim,
        max_silence_share=args.max_silence_share if args.max_silence_share < 1 else None,
        extra_characters=args.extra_characters,
    )
    format_data_dir(args.in_dir, args.out_dir, config, on_error=args.on_error, nj=args.nj)


if __name__ == "__main__":
    main()
