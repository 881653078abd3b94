"""Text context of stage two: analysed utterances -> BERT vectors (W, H) and syntax rows (W, K) per word.

:class:`ContextFeaturizer` is the one place that makes the stage-two inputs, for stage 8,
inference and the benchmark alike. docs/stage_two.md (The front end).
"""

from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from prosody_plugin.frontend.bert import RUNTIMES, WordEmbedder
from prosody_plugin.frontend.syntax import SyntaxAnalyzer
from prosody_plugin.frontend.words import Utterance


class ContextFeaturizer:
    """BERT vectors and syntax ids per word of a batch of analysed utterances.

    Args:
        bert_model: Hugging Face model name or folder; None: the packaged all-MiniLM-L6-v2.
        spacy_model: spaCy pipeline; None: :func:`~prosody_plugin.frontend.syntax.default_spacy_model`.
        punctuation: BERT and spaCy read the text's punctuation (False: bare words, the ablation).
        bert_layer: Hidden layer of the encoder to pool.
        device: Torch device of the encoder.
        embedder: Use this WordEmbedder (a stage-two model's fine-tuned BERT) instead of loading one.
        quantize, runtime: Inference settings of the encoder, not recorded by ``conf``
            (:class:`~prosody_plugin.frontend.bert.WordEmbedder`).
        parallel: Parse with spaCy in a worker thread while BERT runs (same features).
    """

    def __init__(
        self,
        bert_model: Optional[str] = None,
        spacy_model: Optional[str] = None,
        punctuation: bool = True,
        bert_layer: int = -1,
        device: str = "cpu",
        embedder: Optional[WordEmbedder] = None,
        quantize: bool = False,
        parallel: bool = False,
        runtime: str = "torch",
    ):
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
        self.punctuation = bool(punctuation)
        self.parallel = bool(parallel)
        self._worker = None  # the spaCy thread (parallel), started on first use
        self.embedder = embedder or WordEmbedder(bert_model, layer=bert_layer, device=device)
        if quantize:
            self.embedder.quantize_()
        if runtime == "onnxruntime":
            self.embedder.use_onnxruntime_()
        self.syntax = SyntaxAnalyzer(spacy_model, parse_punctuation=self.punctuation)

    @property
    def hidden_size(self) -> int:
        return self.embedder.hidden_size

    def conf(self) -> dict:
        """The settings a stage-two model records (``--frontend_conf``)."""
        return dict(
            bert_model=self.embedder.model_name_or_path,
            spacy_model=self.syntax.model,
            punctuation=self.punctuation,
        )

    def bert_words(self, utterance: Utterance) -> List[str]:
        """The word strings BERT reads for one utterance (one per word)."""
        return utterance.punctuated_words() if self.punctuation else list(utterance.words)

    def wordpieces(self, utterances: Sequence[Utterance]) -> List[np.ndarray]:
        """BERT's input of each utterance, (T, 2) int64: wordpiece ids and word index."""
        return self.embedder.wordpieces(
            [self.bert_words(u) for u in utterances], [u.utt_id for u in utterances]
        )

    def __call__(self, utterances: Sequence[Utterance]) -> Tuple[List[torch.Tensor], List[np.ndarray]]:
        """BERT vectors (W, H) float and syntax rows (W, K) int64 of each utterance.

        A ValueError covers the whole batch; callers retry one by one to name the utterance.
        """
        utterances = list(utterances)
        syntax_args = (
            [u.words for u in utterances],
            [u.word_punctuation for u in utterances],
            [u.leading_punctuation for u in utterances],
        )
        future = None
        if self.parallel and utterances:
            if self._worker is None:
                from concurrent.futures import ThreadPoolExecutor

                self._worker = ThreadPoolExecutor(1, thread_name_prefix="spacy")
            future = self._worker.submit(self.syntax.analyze_batch, *syntax_args)
        try:
            vectors = self.embedder.embed(
                [self.bert_words(u) for u in utterances], utt_ids=[u.utt_id for u in utterances]
            )
        finally:
            if future is not None:
                future.exception()  # waits: the parse ends before this call returns or raises
        parses = future.result() if future is not None else self.syntax.analyze_batch(*syntax_args)
        syntax = []
        for u, vec, parse in zip(utterances, vectors, parses):
            if vec.shape[0] != u.num_words or parse.num_words != u.num_words:
                raise AssertionError(f"{u.utt_id}: feature rows differ from W={u.num_words}")
            syntax.append(parse.as_matrix())
        return vectors, syntax
