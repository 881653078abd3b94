#!/usr/bin/env python3
"""Prosody plots of a recipe run (stage 12): F0 contours, Kathaka's latent space, training curves.

Each group runs when its inputs are given; :mod:`prosody_plugin.evaluation.plots`.
"""

import argparse
import logging
import sys
from pathlib import Path

from prosody_plugin.evaluation.plots import plot_f0_contours, plot_latent_space, plot_training_curves


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="F0 contour, latent space and training-curve plots of a prosody1 recipe run",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--output_dir", type=Path, required=True)
    group = parser.add_argument_group("F0 contours")
    group.add_argument("--data_dir", type=Path, help="Data dir of the recordings")
    group.add_argument("--durations", type=Path, help="The recordings' phone durations")
    group.add_argument("--words", type=Path, default=None, help="Word labels (the context dir's words)")
    group.add_argument("--train_config", type=Path, help="A stage-one config.yaml (token list, frame shift)")
    group.add_argument("--model_file", type=Path, help="Its checkpoint")
    group.add_argument("--system", action="append", default=[], help="NAME=DECODE_DIR; repeat")
    group.add_argument("--f0_utts", nargs="*", default=[], help="Utterances to plot (default: the longest)")
    group.add_argument("--num_f0_utts", type=int, default=3)
    group.add_argument(
        "--f0_floor",
        type=float,
        default=None,
        help="Lowest F0 (Hz); default: the model's pitch_extract_conf f0min",
    )
    group.add_argument("--f0_ceil", type=float, default=None, help="Highest F0 (Hz); default: its f0max")
    group = parser.add_argument_group("Latent space")
    group.add_argument(
        "--latents", type=Path, action="append", default=[], help="Kathaka target.scp (stage 9); repeat"
    )
    group.add_argument(
        "--latent_text", type=Path, action="append", default=[], help="Kaldi text files of those utterances"
    )
    group.add_argument(
        "--latent_dim", type=int, default=None, help="Kathaka latent_dim (default: half the target)"
    )
    group.add_argument("--spacy_model", default=None)
    group = parser.add_argument_group("Training curves")
    group.add_argument("--exp", type=Path, action="append", default=[], help="An experiment dir; repeat")
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if args.system:
        missing = [
            n for n in ("data_dir", "durations", "train_config", "model_file") if getattr(args, n) is None
        ]
        if missing:
            raise SystemExit(f"F0 contours need --{', --'.join(missing)}")
        from prosody_plugin.evaluation.scoring import parse_pairs  # ESPnet's TTS task: only for F0 contours

        written += plot_f0_contours(
            args.data_dir,
            args.durations,
            args.train_config,
            args.model_file,
            {name: Path(d) for name, d in parse_pairs(args.system, "system").items()},
            args.output_dir,
            words=args.words,
            utts=args.f0_utts,
            num_utts=args.num_f0_utts,
            f0_floor=args.f0_floor,
            f0_ceil=args.f0_ceil,
        )
    if args.latents:
        if not args.latent_text:
            raise SystemExit("--latents needs --latent_text (the sentences, for their types)")
        written.append(
            plot_latent_space(
                args.latents,
                args.latent_text,
                args.latent_dim,
                args.spacy_model,
                args.output_dir / "latent_space.png",
            )
        )
    if args.exp:
        written.append(plot_training_curves(args.exp, args.output_dir / "training_curves.png"))
    if not written:
        raise SystemExit("nothing to plot: give --system, --latents or --exp")
    for path in written:
        logging.info(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
