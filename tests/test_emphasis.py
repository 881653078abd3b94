"""The emphasis direction: read from a CAMP model's predictions, levels, file round trip, word measures."""

import numpy as np
import pytest
import torch
from conftest import TOKEN_ID

from prosody_plugin.control.emphasis import (
    EMPHASIS_STEPS,
    MEASURES,
    EmphasisDirection,
    WordItem,
    check_level,
    fit_emphasis_direction,
    predicted_prominence_parts,
    word_measures,
)


def camp_items(num: int = 10, seed: int = 0):
    """A small random CAMP model and recordings' words of random token sequences with spaces."""
    from test_batch_inference import config_model

    from prosody_plugin.text.word_boundaries import word_ids

    model = config_model("camp_cpu")
    g = torch.Generator().manual_seed(seed)
    phones = [TOKEN_ID[t] for t in ("h", "ə", "l", "o", "ʊ", "w", "ɜ", "d", "ɪ", "z")]
    items = []
    for _ in range(num):
        words = [
            [
                phones[int(i)]
                for i in torch.randint(
                    len(phones), (int(torch.randint(2, 5, (1,), generator=g)),), generator=g
                )
            ]
            for _ in range(4)
        ]
        tokens = sum([w + [TOKEN_ID["<space>"]] for w in words], [])[:-1] + [TOKEN_ID["."], model.eos]
        xs = torch.tensor([tokens])
        _, n = word_ids(xs, torch.tensor([len(tokens)]), model.token_is_boundary, model.token_is_punctuation)
        measures = {m: np.random.default_rng(seed).normal(size=int(n[0])) for m in MEASURES}
        items.append(WordItem(xs, torch.randn(int(n[0]), model.word_embed_dim, generator=g), measures))
    return model, items


def test_the_direction_raises_the_models_predicted_prominence():
    model, items = camp_items()
    fitted = fit_emphasis_direction(model, items)
    assert fitted.num_words == 40 and abs(np.linalg.norm(fitted.direction) - 1) < 1e-5
    u = torch.as_tensor(fitted.direction)
    with torch.no_grad():
        scale = torch.cat([predicted_prominence_parts(model, it, it.embeddings) for it in items]).std(dim=0)
        up, down = [], []
        for item in items:
            base = (predicted_prominence_parts(model, item, item.embeddings) / scale).sum(dim=1)
            for w in range(len(item.embeddings)):
                for sign, out in ((1.0, up), (-1.0, down)):
                    moved = item.embeddings.clone()
                    moved[w] += sign * 0.5 * fitted.std * u
                    out.append(
                        float(
                            (predicted_prominence_parts(model, item, moved) / scale).sum(dim=1)[w] - base[w]
                        )
                    )
    assert np.mean(up) > 0 > np.mean(down)  # along u the word becomes more prominent, against it less
    assert set(fitted.correlations) == set(MEASURES)


def test_levels_move_a_word_along_the_direction_in_standard_deviations(tmp_path):
    rng = np.random.default_rng(0)
    direction = rng.normal(size=8).astype(np.float32)
    direction /= np.linalg.norm(direction)
    fitted = EmphasisDirection(
        direction, mean=0.3, std=1.7, num_words=100, correlations={"f0_range_cents": 0.4}
    )
    u = torch.as_tensor(fitted.direction)
    word = torch.randn(8)
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
    fitted = EmphasisDirection(np.eye(8, dtype=np.float32)[0], 0.0, 1.0, 100)
    with pytest.raises(
        ValueError, match="unknown emphasis level 'loud'; known: reduced, none, moderate, strong"
    ):
        check_level("loud")
    with pytest.raises(ValueError, match="a 4-dim word embedding, but the direction was fitted on 8-dim"):
        fitted.emphasize(torch.zeros(4), "strong")
    model, items = camp_items(num=2)
    with pytest.raises(ValueError, match="too few to fit"):
        fit_emphasis_direction(model, items)
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
