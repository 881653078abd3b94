#!/usr/bin/env python3
"""Prepare (and upload) a Hugging Face model repo from a packed model, as ESPnet's recipes do.

:mod:`prosody_plugin.upload`; docs/recipes.md (Stages 15-16).
"""

import argparse
import logging
import sys
from pathlib import Path

from prosody_plugin.upload import CORPORA, prepare_folder, upload


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Prepare and upload a Hugging Face model repo from a packed model",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--packed", type=Path, required=True, help="The archive of prosody_plugin.bin.pack")
    parser.add_argument("--outdir", type=Path, required=True, help="The model repo folder to write")
    parser.add_argument(
        "--corpus",
        required=True,
        help=f"Training corpus named in the card (licenses known: {', '.join(CORPORA)}; others: --license)",
    )
    parser.add_argument("--license", default=None, help="License of the model card (default: the corpus's)")
    parser.add_argument("--scores", type=Path, default=None, help="A RESULTS.md with the scoring table")
    parser.add_argument(
        "--listening_scores", type=Path, default=None, help="MUSHRA scores (stage 14's MUSHRA.md)"
    )
    parser.add_argument(
        "--samples", type=Path, default=None, help="The samples page folder (stage 13), copied into the repo"
    )
    parser.add_argument("--hf_repo", default=None, help="Hugging Face repo (user/name) to upload to")
    parser.add_argument(
        "--dry_run", action="store_true", help="Only write the folder (the default without --hf_repo)"
    )
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    if args.hf_repo and not args.dry_run and args.license is None and args.corpus not in CORPORA:
        logging.error(
            f"not uploading to {args.hf_repo}: corpus {args.corpus!r} has no known license and --license "
            "(the recipe's --corpus_license) is not given"
        )
        sys.exit(1)
    try:
        folder = prepare_folder(
            args.packed,
            args.outdir,
            args.corpus,
            license=args.license,
            scores=args.scores,
            hf_repo=args.hf_repo,
            listening_scores=args.listening_scores,
            samples=args.samples,
        )
    except (FileNotFoundError, ValueError) as e:
        logging.error(str(e))
        sys.exit(1)
    logging.info(f"Wrote the model repo folder {folder}")
    if args.hf_repo and not args.dry_run:
        upload(folder, args.hf_repo)
        logging.info(f"Uploaded {folder} to https://huggingface.co/{args.hf_repo}")
    elif args.hf_repo:
        logging.info(f"--dry_run: not uploaded to {args.hf_repo}")


if __name__ == "__main__":
    main()
