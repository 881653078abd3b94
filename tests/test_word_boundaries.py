"""Word segmentation of phoneme tokens and per-word pooling, against hand-computed values."""

import pytest
import torch
from conftest import TOKENS, ids

from prosody_plugin.text.word_boundaries import is_punctuation_token, token_classes, word_ids
from prosody_plugin.tts.word_pooling import broadcast_words_to_tokens, pool_frames_by_word

IS_BOUNDARY, IS_PUNCT = token_classes(TOKENS)


def segment(tokens: str):
    x = ids(tokens)[None]
    wids, num_words = word_ids(x, torch.tensor([x.size(1)]), IS_BOUNDARY, IS_PUNCT)
    return wids[0].tolist(), int(num_words[0])


def test_token_classes():
    assert IS_BOUNDARY.nonzero().flatten().tolist() == [TOKENS.index("<space>")]
    # punctuation, eos and the padding token join the preceding word
    attached = [TOKENS[i] for i in token_classes(TOKENS)[1].nonzero().flatten()]
    assert attached == ["<blank>", ".", ",", "?", "!", "<sos/eos>"]
    assert is_punctuation_token("…") and is_punctuation_token("?!")
    assert not is_punctuation_token("ˈ") and not is_punctuation_token("<space>")


@pytest.mark.parametrize(
    "tokens, expected_ids, expected_words",
    [
        # punctuation and <space> belong to the preceding word; eos to the last word
        (
            "h ə l ˈ o ʊ , <space> w ˈ ɜ ː l d . <sos/eos>",
            [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1],
            2,
        ),
        # leading punctuation joins the first word
        (", h ɪ <space> d o", [0, 0, 0, 0, 1, 1], 2),
        # a punctuation-only stretch between boundaries is not a word
        ("h ɪ <space> , <space> d o", [0, 0, 0, 0, 0, 1, 1], 2),
        # repeated boundaries do not create empty words
        ("h ɪ <space> <space> d o ? !", [0, 0, 0, 0, 1, 1, 1, 1], 2),
        # stress marks are pronounceable tokens of their word
        ("ˈ h o <space> ˈ d o", [0, 0, 0, 0, 1, 1, 1], 2),
        # nothing pronounceable: no word (the data stage drops such utterances)
        (". . .", [0, 0, 0], 0),
    ],
)
def test_word_ids(tokens, expected_ids, expected_words):
    word_ids, num_words = segment(tokens)
    assert word_ids == expected_ids
    assert num_words == expected_words


def test_word_ids_of_padded_batch_match_single_sequences():
    a, b = ids("h ə <space> w ɜ . <sos/eos>"), ids("d o <sos/eos>")
    batch = torch.zeros(2, len(a), dtype=torch.long)
    batch[0], batch[1, : len(b)] = a, b
    wids, num_words = word_ids(batch, torch.tensor([len(a), len(b)]), IS_BOUNDARY, IS_PUNCT)
    assert wids[0].tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert wids[1].tolist() == [0, 0, 0, -1, -1, -1, -1]  # padding is -1
    assert num_words.tolist() == [2, 1]


def test_pool_frames_by_word_matches_hand_computed_means():
    # tokens:   h  ə  <space>  w  ɜ  .  eos   -> words 0 0 0 1 1 1 1
    # durations 2  1  1        3  0  1  2     -> word 0 = frames 0-3, word 1 = frames 4-9
    word_ids = torch.tensor([[0, 0, 0, 1, 1, 1, 1]])
    durations = torch.tensor([[2, 1, 1, 3, 0, 1, 2]])
    frames = torch.arange(10, dtype=torch.float).reshape(1, 10, 1).repeat(1, 1, 2)
    frames[..., 1] *= 10
    pooled = pool_frames_by_word(frames, durations, word_ids, torch.tensor([2]))
    expected = torch.tensor([[[1.5, 15.0], [6.5, 65.0]]])  # mean(0..3), mean(4..9)
    assert torch.allclose(pooled, expected)


def test_pool_frames_by_word_ignores_padding_and_batch_neighbours():
    word_ids = torch.tensor([[0, 1, 1], [0, 0, -1]])
    durations = torch.tensor([[1, 2, 1], [3, 1, 0]])
    frames = torch.tensor([[1.0, 2.0, 4.0, 6.0, 99.0], [3.0, 3.0, 3.0, 7.0, 99.0]]).unsqueeze(-1)
    pooled = pool_frames_by_word(frames, durations, word_ids, torch.tensor([2, 1]))
    assert pooled[..., 0].tolist() == [[1.0, 4.0], [4.0, 0.0]]  # padded word stays 0


def test_pool_frames_rejects_durations_longer_than_frames():
    with pytest.raises(ValueError, match="sum to 5 frames"):
        pool_frames_by_word(
            torch.zeros(1, 4, 1), torch.tensor([[2, 3]]), torch.tensor([[0, 0]]), torch.tensor([1])
        )


def test_broadcast_words_to_tokens():
    words = torch.tensor([[[1.0], [2.0]]])
    out = broadcast_words_to_tokens(words, torch.tensor([[0, 0, 1, -1]]))
    assert out[0, :, 0].tolist() == [1.0, 1.0, 2.0, 0.0]


def test_speech_only_word_spans_leave_the_pauses_out():
    x = ids("h ə <space> , w ɜ . <sos/eos>")[None]
    wids, num_words = word_ids(x, torch.tensor([x.size(1)]), IS_BOUNDARY, IS_PUNCT, pauses_in_words=False)
    assert wids[0].tolist() == [0, 0, -1, -1, 1, 1, -1, -1]
    assert int(num_words[0]) == 2


def test_eos_joins_the_last_word_even_after_a_space():
    # the eos rule is the token list's, for every caller (CAMP, scoring, front end)
    assert segment("h ə <space> <sos/eos>") == ([0, 0, 0, 0], 1)
