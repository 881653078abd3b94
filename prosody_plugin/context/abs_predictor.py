"""Base of the stage-two predictors and the word-level syntax features they share.

Inputs of every predictor, per utterance, for the same W words (the front end guarantees
that phonemes, BERT rows and spaCy tokens agree):

* ``bert`` (W, H): contextual word embeddings (wordpieces mean-pooled to words);
* ``syntax`` (W, K) int64: columns in :data:`SYNTAX_COLUMNS` order (dependency head index,
  dependency label, part of speech, fine tag, and CAMP's word-level tags).
"""

from abc import abstractmethod
from typing import Dict, Sequence, Tuple

import torch
from espnet2.train.abs_espnet_model import AbsESPnetModel

from prosody_plugin.frontend.syntax import SYNTAX_COLUMNS  # column order of ``syntax``


class SyntaxEmbedding(torch.nn.Module):
    """Embeds chosen categorical syntax columns and concatenates them: (B, W, K) -> (B, W, E).

    Padding (-1, the collate pad value) and unseen ids map to a reserved index 0.
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

    @abstractmethod
    def forward(
        self,
        bert: torch.Tensor,
        bert_lengths: torch.Tensor,
        syntax: torch.Tensor,
        syntax_lengths: torch.Tensor,
        target: torch.Tensor,
        target_lengths: torch.Tensor,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Loss, stats and weight of a batch (ESPnet trainer convention)."""

    @abstractmethod
    def predict(
        self, bert: torch.Tensor, syntax: torch.Tensor, temperature: float = 1.0
    ) -> torch.Tensor:
        """The prosody representation of one utterance: bert (W, H), syntax (W, K)."""

    def collect_feats(self, bert: torch.Tensor, bert_lengths: torch.Tensor, **kwargs):
        """For ESPnet's --collect_stats (shape files); the features are the inputs."""
        return dict(bert=bert, bert_lengths=bert_lengths)
