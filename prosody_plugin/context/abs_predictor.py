"""Base of the stage-two predictors and the word-level syntax embedding they share.

Inputs per utterance: ``bert`` (W, H) (or ``wordpieces`` (T, 2) when the predictor
fine-tunes its BERT) and ``syntax`` (W, K) int64 in :data:`SYNTAX_COLUMNS` order.
"""

from abc import abstractmethod
from typing import Dict, Optional, Sequence, Tuple

import torch
from espnet2.torch_utils.device_funcs import force_gatherable
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
            return self.word_encoder.embed_wordpieces(
                wordpieces, wordpieces_lengths, syntax_lengths
            ), syntax_lengths
        if bert is None:
            raise ValueError("the batch holds no `bert` word vectors (stage 8's bert.scp)")
        if not torch.equal(bert_lengths, syntax_lengths):
            raise ValueError("bert and syntax have different word counts in this batch")
        return bert, bert_lengths

    def build_word_input(
        self,
        input_size: int,
        hidden_size: int,
        vocab_sizes: Dict[str, int],
        syntax_columns: Sequence[str],
        syntax_embed_dim: int,
        dropout_rate: float,
    ) -> None:
        """Create ``syntax_embedding`` and ``input_layer``, which :meth:`word_input` runs."""
        self.syntax_embedding = SyntaxEmbedding(syntax_columns, vocab_sizes, syntax_embed_dim)
        self.input_layer = torch.nn.Sequential(
            torch.nn.Linear(input_size + self.syntax_embedding.output_size, hidden_size),
            torch.nn.ReLU(),
            torch.nn.Dropout(dropout_rate),
        )

    def word_input(self, bert: torch.Tensor, syntax: torch.Tensor) -> torch.Tensor:
        """Each word's hidden input (B, W, hidden_size): its BERT vector and embedded syntax."""
        return self.input_layer(torch.cat([bert, self.syntax_embedding(syntax)], dim=-1))

    def forward(
        self,
        syntax: torch.Tensor,
        syntax_lengths: torch.Tensor,
        target: torch.Tensor,
        target_lengths: Optional[torch.Tensor] = None,
        bert: Optional[torch.Tensor] = None,
        bert_lengths: Optional[torch.Tensor] = None,
        wordpieces: Optional[torch.Tensor] = None,
        wordpieces_lengths: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        """Loss, stats and weight of a batch (ESPnet trainer convention).

        Args:
            syntax (LongTensor): (B, W, K). syntax_lengths (LongTensor): (B,).
            target (Tensor): Stage two's target (:meth:`loss`). target_lengths: (B,).
            bert (Tensor): (B, W, H). bert_lengths (LongTensor): (B,).
            wordpieces (LongTensor): (B, T, 2), instead of ``bert`` when BERT is fine-tuned.

        """
        bert, bert_lengths = self.word_vectors(
            bert, bert_lengths, syntax_lengths, wordpieces, wordpieces_lengths
        )
        loss, stats = self.loss(bert, bert_lengths, syntax, target, target_lengths)
        return force_gatherable((loss, stats, bert.size(0)), loss.device)

    @abstractmethod
    def loss(
        self, bert, bert_lengths, syntax, target, target_lengths=None
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """The loss and stats of a batch: word vectors ``bert`` (B, W, H) and their lengths
        (B,), ``syntax`` (B, W, K), stage two's ``target`` and its lengths (B,; or None)."""

    @abstractmethod
    def predict(self, bert: torch.Tensor, syntax: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """The prosody representation of one utterance: bert (W, H), syntax (W, K)."""

    def collect_feats(self, syntax: torch.Tensor, syntax_lengths: torch.Tensor, **kwargs):
        """For ESPnet's --collect_stats (shape files); the features are the inputs."""
        return dict(syntax=syntax, syntax_lengths=syntax_lengths)
