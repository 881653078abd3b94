"""CAMP's stage two: each word's prosody embedding predicted from BERT and word-level syntax
tags (BiLSTM over the words, L1 or L2 loss); docs/stage_two.md ("CAMP's predictor").
"""

from typing import Dict, Sequence, Tuple

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from prosody_plugin.context.abs_predictor import AbsProsodyPredictor, word_mask

CAMP_SYNTAX_COLUMNS = ("pos", "word_class", "noun_structure", "compound", "punct_structure", "position")


class CAMPPredictor(AbsProsodyPredictor):
    """BERT + syntax tags + BiLSTM predicting CAMP's word prosody embeddings.

    Args:
        input_size (int): Word embedding size H (BERT hidden size).
        word_embed_dim (int): CAMP's word embedding size D (the stage-one word_embed_dim).
        vocab_sizes (Dict[str, int]): Number of classes of each syntax column.
        hidden_size (int): LSTM size d (both directions together).
        num_layers (int): LSTM layers.
        syntax_columns (Sequence[str]): The syntax tags used.
        syntax_embed_dim (int): Embedding size per tag.
        dropout_rate (float): Dropout.
        loss_type (str): "l1" or "l2".

    """

    def __init__(
        self,
        input_size: int,
        word_embed_dim: int,
        vocab_sizes: Dict[str, int],
        hidden_size: int = 256,
        num_layers: int = 2,
        syntax_columns: Sequence[str] = CAMP_SYNTAX_COLUMNS,
        syntax_embed_dim: int = 16,
        dropout_rate: float = 0.1,
        loss_type: str = "l1",
    ):
        super().__init__()
        if loss_type not in ("l1", "l2"):
            raise ValueError(f"loss_type must be l1 or l2: {loss_type}")
        self.word_embed_dim = word_embed_dim
        self.loss_type = loss_type
        self.build_word_input(
            input_size, hidden_size, vocab_sizes, syntax_columns, syntax_embed_dim, dropout_rate
        )
        self.lstm = torch.nn.LSTM(
            hidden_size,
            hidden_size // 2,
            num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout_rate if num_layers > 1 else 0.0,
        )
        self.output_layer = torch.nn.Linear(hidden_size, word_embed_dim)

    def embeddings(self, bert: torch.Tensor, lengths: torch.Tensor, syntax: torch.Tensor) -> torch.Tensor:
        """Predicted word embeddings (B, W, D); padded words are zero."""
        xs = self.word_input(bert, syntax)
        if bool((lengths == xs.size(1)).all()):
            # no padding (e.g. one sentence): the same LSTM without packing, about 2x faster
            # at batch 1 on a CPU (float rounding differs by ~1e-7)
            hs = self.lstm(xs)[0]
        else:
            packed = pack_padded_sequence(xs, lengths.cpu(), batch_first=True, enforce_sorted=False)
            hs, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=xs.size(1))
        return self.output_layer(hs) * word_mask(lengths, xs.size(1)).unsqueeze(-1)

    def loss(
        self, bert, bert_lengths, syntax, target, target_lengths=None
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """L1/L2 between predicted and stage-one word embeddings (target: (B, W, D)), over real words."""
        if target_lengths is not None and not torch.equal(bert_lengths, target_lengths):
            raise ValueError("bert, syntax and target have different word counts in this batch")
        predicted = self.embeddings(bert, bert_lengths, syntax)
        mask = word_mask(bert_lengths, bert.size(1)).unsqueeze(-1)
        error = (predicted - target[:, : bert.size(1)]) * mask
        denominator = mask.sum() * self.word_embed_dim
        l1 = error.abs().sum() / denominator
        l2 = error.pow(2).sum() / denominator
        loss = l1 if self.loss_type == "l1" else l2
        return loss, dict(loss=loss.detach(), l1_loss=l1.detach(), l2_loss=l2.detach())

    @torch.no_grad()
    def predict(self, bert: torch.Tensor, syntax: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Word embeddings (W, D) for one sentence (deterministic: temperature is unused)."""
        return self.embeddings(bert[None], bert.new_tensor([len(bert)]).long(), syntax[None])[0]
