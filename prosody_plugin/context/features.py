"""Stage two's inputs (recipe stage 8): BERT vectors and syntax rows per word of a data dir's text.

Every utterance goes through the front end and :class:`~prosody_plugin.frontend.context.ContextFeaturizer`,
so every feature has one row per phoneme word. docs/stage_two.md (Recipe stages 8-11).
"""

import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
from tqdm import tqdm

from prosody_plugin.data.kaldi_dir import read_kaldi_map, write_kaldi_map


def select_keys(keys: Sequence[str], key_file: Optional[Path] = None, nj: int = 1, job: int = 1) -> List[str]:
    """Sorted ids, restricted to ``key_file`` and to the ``job``-th (1-based) of ``nj`` contiguous shards."""
    keys = sorted(keys)
    if key_file is not None:
        wanted = set(read_kaldi_map(key_file))
        missing = wanted.difference(keys)
        if missing:
            logging.warning(f"{len(missing)} ids of {key_file} are not in text, e.g. {sorted(missing)[0]}")
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
    """Write the features of ``texts`` (sorted ids) to ``out_dir``; returns {failed utt: reason}.

    Writes ``bert.scp`` (W, H) float32, ``wordpieces.scp`` (T, 2) int64, ``syntax.scp``
    (W, 9) int64 (and ``syntax_columns``), ``words``, ``num_words`` and ``failed``.
    ``batch_size`` utterances go through ``featurizer`` at once; a failing batch is retried
    one utterance at a time, and a failing utterance is logged and listed, nothing else written.
    """
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
    with (
        NpyScpWriter(out_dir / "bert", out_dir / "bert.scp") as bert_writer,
        NpyScpWriter(out_dir / "syntax", out_dir / "syntax.scp") as syntax_writer,
        NpyScpWriter(out_dir / "wordpieces", out_dir / "wordpieces.scp") as piece_writer,
    ):
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
