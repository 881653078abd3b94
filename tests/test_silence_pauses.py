"""Silence trimming, pauses on word boundaries, the voice's F0 range, transcript checks.

Real audio where it matters: espeak-ng speech at a low pitch (about 77 Hz median), padded
with a second of noise 50 dB below the speech, with known speech spans and pauses
(tests/spoken_corpus.py).
"""

import numpy as np
import pytest
import soundfile as sf

from prosody_plugin.data.f0_range import (
    estimate_f0_range,
    f0_range_from_frames,
    read_f0_range,
    write_f0_range,
)
from prosody_plugin.data.pauses import (
    PauseConfig,
    boundary_groups,
    last_word_end,
    place_pauses,
    refine_durations,
    silent_runs,
)
from prosody_plugin.data.silence import TrimConfig, silent_share, speech_span, trim_span
from prosody_plugin.data.transcripts import lacks_final_punctuation, unusual_characters

# ---------------------------------------------------------------------------------- silence


def test_speech_span_finds_the_known_speech(synthetic_corpus):
    """Within 20 ms of the truth, never cutting speech by more than 10 ms (frame: 32 ms)."""
    _, corpus = synthetic_corpus
    for u in corpus.values():
        wav, fs = sf.read(u.wav)
        start, end = speech_span(wav, fs, TrimConfig())
        assert -0.020 <= start / fs - u.speech_start <= 0.010, (u.utt, start / fs, u.speech_start)
        assert -0.010 <= end / fs - u.speech_end <= 0.025, (u.utt, end / fs, u.speech_end)


def test_trim_span_keeps_the_margins_and_trimmed_audio_is_mostly_speech(synthetic_corpus):
    _, corpus = synthetic_corpus
    config = TrimConfig(margin_ms=50)
    for u in list(corpus.values())[:6]:
        wav, fs = sf.read(u.wav)
        start, end = trim_span(wav, fs, config)
        assert (
            abs(start / fs - (u.speech_start - 0.05)) <= 0.025
            and abs(end / fs - (u.speech_end + 0.05)) <= 0.03
        )
        assert silent_share(wav, fs, config) > 0.35  # a second of noise on each side
        assert silent_share(wav[start:end], fs, config) < 0.3  # inner pauses and the margins only
    silent = np.zeros(16000)
    assert trim_span(silent, 16000, config) == (0, 16000) and silent_share(silent, 16000, config) == 1.0
    with pytest.raises(ValueError, match="threshold_db"):
        TrimConfig(threshold_db=0)


# ----------------------------------------------------------------------------------- pauses

TOKENS = "h ə l ˈ o ʊ <space> w ɜ l d , <space> b a <space> k a . <sos/eos>".split()


def test_boundary_groups_and_carriers():
    groups = boundary_groups(TOKENS)
    assert [(g.start, g.end, g.carrier, g.final) for g in groups] == [
        (6, 7, 6, False),
        (11, 13, 12, False),
        (15, 16, 15, False),
        (18, 20, 18, True),
    ]
    # stress and length marks are inside words; leading punctuation forms no group
    assert len(boundary_groups('" ˈ a <space> b <sos/eos>'.split())) == 2
    assert silent_runs(np.array([0, 1, 1, 1, 0, 1, 0, 1, 1], bool), 3) == [(1, 4), (7, 9)]


def test_a_pause_smeared_over_phones_moves_onto_the_space():
    durations = np.full(len(TOKENS), 3)  # 60 frames; token k spans [3k, 3k + 3)
    silent = np.zeros(60, bool)
    silent[16:26] = True  # a pause over ʊ, <space>, w, ɜ and part of l
    silent[55:] = True  # trailing silence over the last phone, '.' and eos
    result = place_pauses(durations, TOKENS, silent, min_pause_frames=6)
    d = result.durations
    assert d.sum() == 60 and d.min() >= 1
    bounds = np.concatenate([[0], np.cumsum(d)])
    assert (bounds[6], bounds[7]) == (16, 26)  # <space> spans exactly the pause
    assert bounds[18] == 55 and d[19] == 1  # '.' takes the trailing silence, eos one frame
    assert last_word_end(d, TOKENS) == 55
    assert list(d[:5]) == [3, 3, 3, 3, 3]  # the tokens away from the pauses keep their durations
    assert list(d[13:17]) == [3, 3, 3, 3]
    assert result.placed == [(16, 26), (55, 60)] and result.moved_frames > 0


def test_pauses_that_cannot_move_stay_and_short_silences_are_not_pauses():
    durations = np.full(len(TOKENS), 3)
    silent = np.zeros(60, bool)
    silent[30:33] = True  # 3 frames: shorter than a pause
    silent[:4] = True  # leading silence: no token before the first word
    result = place_pauses(durations, TOKENS, silent, min_pause_frames=6)
    np.testing.assert_array_equal(result.durations, durations)
    # a pause too early for the first boundary to take without squeezing "h ə l ˈ o ʊ" below a frame each
    silent = np.zeros(60, bool)
    silent[2:12] = True
    result = place_pauses(durations, TOKENS, silent, min_pause_frames=6)
    np.testing.assert_array_equal(result.durations, durations)
    assert result.pauses == [(2, 12)] and result.placed == []
    with pytest.raises(ValueError, match="sum to"):
        place_pauses(durations[:-1].tolist() + [4], TOKENS, np.zeros(60, bool), 6)


def test_refine_durations_on_real_speech(synthetic_corpus):
    """Uniform durations (no aligner): the known pause ends up on the boundary tokens."""
    _, corpus = synthetic_corpus
    u = corpus["spk1_001"]  # "The quick brown fox | jumps over the lazy dog."
    from espnet2.text.build_tokenizer import build_tokenizer
    from espnet2.text.cleaner import TextCleaner

    tokens = build_tokenizer(
        token_type="phn", g2p_type="espeak_ng_english_us_vits", space_symbol="<space>"
    ).text2tokens(TextCleaner("tacotron")(u.text)) + ["<sos/eos>"]
    wav, fs = sf.read(u.wav)
    frames = len(wav) // 256 + 1
    durations = np.full(len(tokens), frames // len(tokens))
    durations[-3] += frames - durations.sum()  # as an aligner does: the trailing silence in the last phone
    result = refine_durations(durations, tokens, wav, fs, 256, PauseConfig())
    bounds = np.concatenate([[0], np.cumsum(result.durations)]) * 256 / fs
    ((pause_start, pause_end),) = u.pauses
    middle = (pause_start + pause_end) / 2
    k = int(np.searchsorted(bounds, middle, side="right") - 1)
    assert tokens[k] == "<space>" and tokens[k - 1] == "s"  # "fox" | "jumps"
    assert abs(bounds[k] - pause_start) < 0.04 and abs(bounds[k + 1] - pause_end) < 0.04
    # the untrimmed recording's trailing second goes to '.' and eos: the last word ends with the speech
    assert result.late_before_ms > 500 and abs(result.late_after_ms) < 40


# ---------------------------------------------------------------------------------- F0 range


def test_f0_range_of_a_low_voice_covers_it(synthetic_corpus, tmp_path):
    """The measured range holds the voice; the fixed 80-400 Hz range does not.

    Reference: WORLD's Harvest (another estimator than the first pass's DIO, robust on low
    voices) over 40-600 Hz, on the speech of three utterances.
    """
    import pyworld

    _, corpus = synthetic_corpus
    result = estimate_f0_range({u.utt: str(u.wav) for u in corpus.values()}, max_utts=12)
    reference = []
    for u in list(corpus.values())[:3]:
        wav, fs = sf.read(u.wav)
        speech = wav[int((u.speech_start - 0.05) * fs) : int((u.speech_end + 0.05) * fs)]
        f0, _ = pyworld.harvest(speech, fs, f0_floor=40.0, f0_ceil=600.0, frame_period=10.0)
        reference.append(f0[f0 > 0])
    reference = np.concatenate(reference)
    inside = np.mean((reference >= result.f0min) & (reference <= result.f0max))
    fixed = np.mean((reference >= 80) & (reference <= 400))
    assert inside > 0.9 and fixed < 0.5, (result, inside, fixed, np.percentile(reference, [1, 5, 50, 95, 99]))
    assert result.f0min < np.median(reference) < result.f0max
    assert 40 < result.f0min < 70 and 90 < result.f0max < 200 and result.coverage > 0.95
    write_f0_range(tmp_path / "f0_range.yaml", result, source="test")
    assert read_f0_range(tmp_path / "f0_range.yaml") == (result.f0min, result.f0max)
    with pytest.raises(ValueError, match="--f0min and --f0max"):
        f0_range_from_frames(np.full(10, 100.0), 1)


# ------------------------------------------------------------------------------- transcripts


def test_unusual_characters_and_final_punctuation():
    assert unusual_characters("HELLO } WORLD {X}, 20%") == ["}", "{", "%"]
    assert unusual_characters("20%", extra="%") == []
    assert unusual_characters("Café naïve, “quoted” — it's (fine)… ¿no? 42!") == []
    assert unusual_characters("e\u0301") == []  # a decomposed accent
    assert unusual_characters("a # b @ c | d") == ["#", "@", "|"]
    assert not lacks_final_punctuation('He said "yes."') and not lacks_final_punctuation("Really?")
    assert lacks_final_punctuation("press one for sales") and lacks_final_punctuation("a list,")
