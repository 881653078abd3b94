"""Corpus statistics (bootstrap, significance, gap closure) and sentence types, on known answers."""

import numpy as np
import pytest

from prosody_plugin.evaluation.sentence_types import sentence_type
from prosody_plugin.evaluation.statistics import Bootstrap, format_estimate, sufficient_stats


def per_utterance(kind, pairs):
    return np.stack([sufficient_stats(kind, a, b) for a, b in pairs])


@pytest.fixture
def words():
    """Ten utterances of 3-8 word values each (a recording's word log-F0, say)."""
    rng = np.random.default_rng(0)
    return [rng.normal(0, 100, size=rng.integers(3, 9)) for _ in range(10)]


def test_pooled_statistics_equal_direct_computation(words):
    rng = np.random.default_rng(1)
    systems = [w + rng.normal(0, 30, size=w.shape) for w in words]
    bootstrap = Bootstrap(len(words), 50)
    a, b = np.concatenate(systems), np.concatenate(words)
    rmse = bootstrap.corpus("rmse", per_utterance("rmse", zip(systems, words)))[0]
    assert rmse == pytest.approx(np.sqrt(np.mean((a - b) ** 2)))
    r = bootstrap.corpus("pearson", per_utterance("pearson", zip(systems, words)))[0]
    assert r == pytest.approx(np.corrcoef(a, b)[0, 1])
    values = [3.0, 5.0, np.nan, 10.0] + [1.0] * 6  # nan (undefined for one utterance) is left out
    mean = bootstrap.corpus("mean", np.stack([sufficient_stats("mean", v) for v in values]))[0]
    assert mean == pytest.approx(np.nanmean(values))


def test_identical_systems_have_zero_difference_and_p_one(words):
    stats = per_utterance("rmse", [(w + 10, w) for w in words])
    c = Bootstrap(len(words), 200).compare("rmse", stats, stats)
    assert c.estimate.value == pytest.approx(10.0)
    assert c.difference.value == 0 and c.difference.low == 0 and c.difference.high == 0
    assert c.p_value == 1.0 and not c.significant


def test_gap_closure_of_a_system_halfway_between_baseline_and_oracle(words):
    # every word: baseline off by 40, oracle by 10, the system by 25 -> RMSE 40 / 10 / 25
    baseline = per_utterance("rmse", [(w + 40, w) for w in words])
    oracle = per_utterance("rmse", [(w + 10, w) for w in words])
    system = per_utterance("rmse", [(w - 25, w) for w in words])
    c = Bootstrap(len(words), 200).compare("rmse", system, baseline, oracle)
    assert c.gap_closure.value == pytest.approx(0.5)
    assert c.gap_closure.low == pytest.approx(0.5) and c.gap_closure.high == pytest.approx(0.5)
    assert c.difference.value == pytest.approx(-15.0)
    assert c.significant  # better on every utterance: no resample reverses the sign
    # the papers' framing: the fraction of the baseline's error removed, (40 - 25) / 40
    assert c.relative_improvement.value == pytest.approx(15 / 40)
    assert c.relative_improvement.low == pytest.approx(15 / 40)


def test_relative_improvement_where_higher_is_better():
    """For a score like a MOS, the relative gain (system - baseline) / baseline."""
    baseline = np.stack([sufficient_stats("mean", v) for v in [3.0, 3.2, 2.8, 3.0]])
    system = np.stack([sufficient_stats("mean", v) for v in [3.3, 3.52, 3.08, 3.3]])
    c = Bootstrap(4, 100).compare("mean", system, baseline, higher_is_better=True)
    assert c.relative_improvement.value == pytest.approx(0.1)
    assert Bootstrap(4, 100).compare("mean", system, baseline).relative_improvement.value == pytest.approx(
        -0.1
    )


def test_noise_level_difference_is_not_significant_and_interval_covers_value(words):
    rng = np.random.default_rng(2)
    a = per_utterance("rmse", [(w + rng.normal(0, 20, w.shape), w) for w in words])
    b = per_utterance("rmse", [(w + rng.normal(0, 20, w.shape), w) for w in words])
    c = Bootstrap(len(words), 1000, seed=3).compare("rmse", a, b)
    assert c.estimate.low <= c.estimate.value <= c.estimate.high
    assert not c.significant
    again = Bootstrap(len(words), 1000, seed=3).compare("rmse", a, b)
    assert again.p_value == c.p_value  # the seed fixes the resamples


def test_bootstrap_refuses_mismatched_utterance_counts(words):
    with pytest.raises(ValueError, match="utterances"):
        Bootstrap(len(words), 10).corpus("rmse", np.zeros((3, 2)))
    with pytest.raises(ValueError, match="no utterance"):
        Bootstrap(0)
    with pytest.raises(ValueError, match="unknown metric kind"):
        sufficient_stats("median", np.ones(3), np.ones(3))


def test_format_estimate():
    from prosody_plugin.evaluation.statistics import Estimate

    assert format_estimate(Estimate(0.5, 0.25, 0.75), digits=0, percent=True) == "50 [25, 75]%"
    assert format_estimate(Estimate(float("nan"), 0, 0)) == "n/a"


@pytest.mark.parametrize(
    "text, pos, expected",
    [
        ("Please enter your password.", ["INTJ", "VERB", "PRON", "NOUN", "PUNCT"], "statement"),
        (
            "Would you like to hear it again?",
            ["AUX", "PRON", "VERB", "PART", "VERB", "PRON", "ADV", "PUNCT"],
            "question",
        ),
        ('"Is it you?"', ["PUNCT", "AUX", "PRON", "PRON", "PUNCT", "PUNCT"], "question"),
        (
            "If you know your party's extension,",
            ["SCONJ", "PRON", "VERB", "PRON", "NOUN", "PART", "NOUN", "PUNCT"],
            "continuation",
        ),
        ("Main menu...", ["ADJ", "NOUN", "PUNCT"], "continuation"),
        ("Thirty seven", ["NUM", "NUM"], "fragment"),
        ("Goodbye.", ["INTJ", "PUNCT"], "fragment"),
    ],
)
def test_sentence_types(text, pos, expected):
    assert sentence_type(text, pos) == expected
