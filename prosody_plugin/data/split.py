"""A deterministic train/dev/eval split of any corpus (recipe stage 1).

The split only depends on the utterance ids and texts: candidates for dev/eval are ranked by
the MD5 of their id, full sentences of at least three words first, so it never changes
between runs and does not depend on file-system or set ordering.
"""

import hashlib
import logging
from typing import Dict, List, Tuple

logger = logging.getLogger(__name__)


def is_full_sentence(text: str, min_words: int = 3) -> bool:
    """A capitalised sentence of ``min_words`` or more words ending with ``.``, ``?`` or ``!``.

    Fragments ("...exactly...", "press 0", lower-case starts, text with ``[]#*``) make poor
    dev/eval decodes.
    """
    text = text.strip()
    return (
        len(text.split()) >= min_words
        and text[:1].isupper()
        and text[-1:] in ".?!"
        and not text.endswith("..")
        and not any(c in text for c in "[]#*")
    )


def stable_rank(utt_id: str) -> str:
    """A key that orders ids pseudo-randomly but identically on every run and machine."""
    return hashlib.md5(utt_id.encode("utf-8")).hexdigest()


def split_train_dev_eval(
    texts: Dict[str, str], dev_size: int, eval_size: int
) -> Tuple[List[str], List[str], List[str]]:
    """Deterministically split utterance ids into sorted (train, dev, eval) lists.

    Ids are ranked by MD5 with full sentences (see :func:`is_full_sentence`) first; the
    first ``eval_size`` go to eval, the next ``dev_size`` to dev, the rest to train.
    """
    ids = sorted(texts)
    if dev_size < 0 or eval_size < 0:
        raise ValueError("dev_size and eval_size must be >= 0")
    if dev_size + eval_size >= len(ids):
        raise ValueError(
            f"dev_size + eval_size = {dev_size + eval_size} leaves no training data "
            f"out of {len(ids)} utterances"
        )
    ranked = sorted(ids, key=lambda u: (not is_full_sentence(texts[u]), stable_rank(u), u))
    num_full = sum(is_full_sentence(texts[u]) for u in ids)
    if num_full < dev_size + eval_size:
        logger.warning(
            f"Only {num_full} full sentences for {dev_size + eval_size} dev/eval slots; "
            "filling up with fragments"
        )
    eval_ids = sorted(ranked[:eval_size])
    dev_ids = sorted(ranked[eval_size : eval_size + dev_size])
    held_out = set(eval_ids) | set(dev_ids)
    train_ids = [u for u in ids if u not in held_out]
    return train_ids, dev_ids, eval_ids
