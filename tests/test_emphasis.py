"""The emphasis direction: fitted on words whose prominence is known, levels, file round trip."""

import numpy as np
import pytest
import torch

from prosody_plugin.control.emphasis import (
    EMPHASIS_STEPS,
    MEASURES,
    EmphasisDirection,
    check_level,
    fit_emphasis_direction,
    word_measures,
)


def synthetic_words(n: int = 600, d: int = 8, noise: float = 0.3, seed: int = 0):
    """Embeddings whose projection on a hidden unit direction drives all three measures."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=d)
    truth /= np.linalg.norm(truth)
    embeddings = rng.normal(size=(n, d))
    prominence = embeddings @ truth
    measures = {
        "f0_range_cents": 200 + 80 * prominence + noise * 80 * rng.normal(size=n),
        "duration_ms_per_phone": 70 + 15 * prominence + noise * 15 * rng.normal(size=n),
        "energy_db": 55 + 3 * prominence + noise * 3 * rng.normal(size=n),
    }
    measures["f0_range_cents"][:20] = np.nan  # unvoiced words: left out
    return embeddings, measures, truth


def test_the_fit_finds_the_direction_that_drives_prominence():
    embeddings, measures, truth = synthetic_words()
    fitted = fit_emphasis_direction(embeddings, measures)
    assert fitted.num_words == 580
    assert abs(np.linalg.norm(fitted.direction) - 1) < 1e-6
    assert fitted.direction @ truth > 0.97  # the sign too: prominent words lie along +u
    assert fitted.correlations["prominence"] > 0.9
    assert all(fitted.correlations[m] > 0.7 for m in MEASURES)


def test_levels_move_a_word_along_the_direction_in_standard_deviations(tmp_path):
    embeddings, measures, _ = synthetic_words()
    fitted = fit_emphasis_direction(embeddings, measures)
    u = torch.as_tensor(fitted.direction)
    word = torch.randn(8, dtype=torch.float32)
    before = float(word @ u)
    for level, step in EMPHASIS_STEPS.items():
        after = float(fitted.emphasize(word, level) @ u)
        expected = fitted.mean if step is None else before + step * fitted.std
        assert after == pytest.approx(expected, abs=1e-4), level
    moved = fitted.emphasize(word, "strong") - word  # only along u
    assert torch.allclose(moved, (moved @ u) * u, atol=1e-5)
    path = tmp_path / "emphasis.npz"
    fitted.save(path)
    loaded = EmphasisDirection.load(path)
    assert np.allclose(loaded.direction, fitted.direction) and loaded.std == pytest.approx(fitted.std)
    assert loaded.correlations == pytest.approx(fitted.correlations)


def test_bad_levels_sizes_and_data_are_refused_clearly(tmp_path):
    embeddings, measures, _ = synthetic_words()
    fitted = fit_emphasis_direction(embeddings, measures)
    with pytest.raises(ValueError, match="unknown emphasis level 'loud'; known: reduced, none, moderate, strong"):
        check_level("loud")
    with pytest.raises(ValueError, match="a 4-dim word embedding, but the direction was fitted on 8-dim"):
        fitted.emphasize(torch.zeros(4), "strong")
    with pytest.raises(ValueError, match="too few to fit"):
        fit_emphasis_direction(embeddings[:5], {m: v[:5] for m, v in measures.items()})
    constant = dict(measures, energy_db=np.full(len(embeddings), 50.0))
    with pytest.raises(ValueError, match="does not vary"):
        fit_emphasis_direction(embeddings, constant)
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(ValueError, match="not an emphasis direction file"):
        EmphasisDirection.load(tmp_path / "other.npz")


def test_word_measures_divide_duration_by_the_phone_count():
    # two words: w0 = 2 phones of 5 frames, w1 = 1 phone of 8 frames; boundary and eos -1
    durations = np.array([5, 5, 3, 8, 2])
    log_f0 = np.log(np.array([100.0, 200.0, 150.0, 120.0, 110.0]))
    energy = np.array([10.0, 10.0, 1.0, 100.0, 1.0])
    word_ids = np.array([0, 0, -1, 1, -1])
    values = word_measures(durations, log_f0, energy, word_ids, 2, frame_shift_s=0.01)
    assert values["duration_ms_per_phone"].tolist() == pytest.approx([50.0, 80.0])
    assert values["f0_range_cents"][0] == pytest.approx(1200.0)  # 100 -> 200 Hz: one octave
    assert values["energy_db"].tolist() == pytest.approx([20.0, 40.0])
