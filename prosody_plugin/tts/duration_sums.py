"""Duration losses on sums of phone durations: words and sentences that add up.

FastSpeech2's duration loss is an MSE on log phone durations, so the predictor learns each
phone's geometric mean, which lies below its arithmetic mean: summed over a sentence, the
predicted durations fall short of the recording's. These losses compare sums of the
predicted durations, taken in frames (the linear domain), with the recorded sums, per word
and per sentence; both are zero when the sums are exact.
"""

from typing import Optional, Tuple

import torch
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask


def duration_sum_losses(
    d_outs: torch.Tensor,
    durations: torch.Tensor,
    ilens: torch.Tensor,
    word_ids: Optional[torch.Tensor] = None,
    offset: float = 1.0,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Word- and sentence-level losses of a batch of predicted phone durations.

    Args:
        d_outs (Tensor): Predicted log durations (B, T_text + 1), ``log(d + offset)`` as
            ESPnet's ``DurationPredictor`` outputs them in training.
        durations (LongTensor): Recorded durations in frames (B, T_text + 1).
        ilens (LongTensor): Valid lengths (B,).
        word_ids (Optional[LongTensor]): Word index of each token (B, T_text + 1), every
            valid token in a word (pauses included), -1 for padding; None: no word loss.
        offset (float): The predictor's offset.

    Returns:
        Tensor: Word loss, the mean over words of ``(log(1 + S_pred) - log(1 + S_rec))**2``
            with S the word's summed frames (0 when ``word_ids`` is None).
        Tensor: Sentence loss, the same over the sentences' total frames.

    """
    mask = ~make_pad_mask(ilens, maxlen=d_outs.size(1)).to(d_outs.device)
    predicted = (torch.exp(d_outs) - offset).clamp(min=0.0) * mask
    recorded = durations.to(predicted.dtype) * mask

    def log_error(pred_sums: torch.Tensor, rec_sums: torch.Tensor) -> torch.Tensor:
        return (torch.log1p(pred_sums) - torch.log1p(rec_sums)) ** 2

    sentence_loss = log_error(predicted.sum(1), recorded.sum(1)).mean()
    if word_ids is None:
        return predicted.new_zeros(()), sentence_loss
    words = word_ids.to(d_outs.device)
    in_word = mask & (words >= 0)
    num_words = int(words.max()) + 1 if in_word.any() else 0
    if num_words == 0:
        return predicted.new_zeros(()), sentence_loss
    index = torch.where(in_word, words, torch.zeros_like(words))
    pred_words = predicted.new_zeros(d_outs.size(0), num_words).scatter_add(1, index, predicted * in_word)
    rec_words = predicted.new_zeros(d_outs.size(0), num_words).scatter_add(1, index, recorded * in_word)
    word_mask = (
        predicted.new_zeros(d_outs.size(0), num_words).scatter_add(1, index, in_word.to(predicted.dtype)) > 0
    )
    word_loss = log_error(pred_words, rec_words)[word_mask].mean()
    return word_loss, sentence_loss
