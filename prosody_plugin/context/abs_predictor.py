"""Base of the stage-two predictors and the word-level syntax embedding they share.

Inputs per utterance: ``bert`` (W, H) (or ``wordpieces`` (T, 2) when the predictor
fine-tunes its BERT) and ``syntax`` (W, K) int64 in :data:`SYNTAX_COLUMNS` order.
"""

from abc import abstractmethod
from typing import Dict, Optional, Sequence, Tuple

import torch
from espnet2.train.abs_espnet_model import AbsESPnetModel

from prosody_plugin.frontend.syntax import SYNTAX_COLUMNS  # column order of ``syntax``


class SyntaxEmbedding(torch.nn.Module):
    """Embeds chosen categorical syntax columns and concatenates them: (B, W, K) -> (B, W, E).

    Padding (-1) and unseen ids map to the reserved index 0.
    """

    def __init__(self, columns: Sequence[str], vocab_sizes: Dict[str, int], embed_dim: int):
        super().__init__()
        unknown = [c for c in columns if c not in SYNTAX_COLUMNS or c == "head"]
        if unknown:
            raise ValueError(f"not categorical syntax columns: {unknown}; choose from {SYNTAX_COLUMNS[1:]}")
        self.columns = list(columns)
        self.indices = [SYNTAX_COLUMNS.index(c) for c in columns]
        self.embeddings = torch.nn.ModuleList(
            torch.nn.Embedding(vocab_sizes[c] + 1, embed_dim) for c in columns
        )
        self.output_size = embed_dim * len(columns)

    def forward(self, syntax: torch.Tensor) -> torch.Tensor:
        outs = []
        for index, embedding in zip(self.indices, self.embeddings):
            ids = syntax[..., index] + 1  # shift: 0 is padding / unknown
            ids = ids.clamp(min=0, max=embedding.num_embeddings - 1)
            outs.append(embedding(ids))
        return torch.cat(outs, dim=-1)


def word_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Bool mask (B, max_len), True on real words."""
    return torch.arange(max_len, device=lengths.device)[None] < lengths[:, None]


class AbsProsodyPredictor(AbsESPnetModel):
    """A model predicting a stage-one prosody representation from ``bert`` and ``syntax``."""

    def __init__(self):
        super().__init__()
        self.word_encoder = None  # a trainable WordEmbedder when BERT is fine-tuned

    def attach_word_encoder(self, word_encoder: torch.nn.Module) -> None:
        """Own a trainable BERT (``prosody_plugin.frontend.bert.WordEmbedder``): the word
        vectors are then computed from ``wordpieces`` in every forward, with gradient."""
        self.word_encoder = word_encoder

    def word_vectors(
        self,
        bert: Optional[torch.Tensor],
        bert_lengths: Optional[torch.Tensor],
        syntax_lengths: torch.Tensor,
        wordpieces: Optional[torch.Tensor] = None,
        wordpieces_lengths: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """The (B, W, H) word vectors and their lengths of a batch: the stored ``bert``, or
        the own encoder's on ``wordpieces`` (B, T, 2) when BERT is fine-tuned."""
        if self.word_encoder is not None:
            if wordpieces is None:
                raise ValueError(
                    "this predictor fine-tunes its BERT and reads `wordpieces` (stage 8's "
                    "wordpieces.scp), which the batch does not hold"
                )
            return self.word_encoder.embed_wordpieces(wordpieces, wordpieces_lengths, syntax_lengths), syntax_lengths
        if bert is None:
            raise ValueError("the batch holds no `bert` word vectors (stage 8's bert.scp)")
        if not torch.equal(bert_lengths, syntax_lengths):
            raise ValueError("bert and syntax have different word counts in this batch")
        return bert, bert_lengths

    @abstractmethod
    def forward(
        self,
        syntax: torch.Tensor,
        syntax_lengths: torch.Tensor,
        target: torch.Tensor,
        target_lengths: torch.Tensor,
        bert: Optional[torch.Tensor] = None,
        bert_lengths: Optional[torch.Tensor] = None,
        wordpieces: Optional[torch.Tensor] = None,
        wordpieces_lengths: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Loss, stats and weight of a batch (ESPnet trainer convention)."""

    @abstractmethod
    def predict(
        self, bert: torch.Tensor, syntax: torch.Tensor, temperature: float = 1.0
    ) -> torch.Tensor:
        """The prosody representation of one utterance: bert (W, H), syntax (W, K)."""

    def collect_feats(self, syntax: torch.Tensor, syntax_lengths: torch.Tensor, **kwargs):
        """For ESPnet's --collect_stats (shape files); the features are the inputs."""
        return dict(syntax=syntax, syntax_lengths=syntax_lengths)
