"""Corpus-level statistics with paired bootstrap confidence intervals over utterances.

Each metric is per-utterance sufficient statistics ("mean", "rmse", "pearson") and a function
of their sum, so a resample is a weighted sum (``counts @ stats``); the same resamples serve
every system, so differences from the baseline are paired.
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np

KINDS = ("mean", "rmse", "pearson")


def sufficient_stats(kind: str, a: np.ndarray, b: Optional[np.ndarray] = None) -> np.ndarray:
    """Sufficient statistics of one utterance: (2,) for mean and rmse, (6,) for pearson.

    Args:
        kind: "mean" (``a``: the utterance's value), "rmse" or "pearson" (``a``, ``b``: its
            paired items, e.g. words; non-finite items left out).
    """
    if kind == "mean":
        value = float(np.asarray(a).reshape(-1)[0])
        return np.array([value, 1.0]) if np.isfinite(value) else np.zeros(2)
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if kind == "rmse":
        return np.array([np.sum((a - b) ** 2), float(a.size)])
    if kind == "pearson":
        return np.array(
            [a.size, a.sum(), b.sum(), (a * a).sum(), (b * b).sum(), (a * b).sum()], dtype=np.float64
        )
    raise ValueError(f"unknown metric kind {kind!r}; choose from {KINDS}")


def _finalize(kind: str, sums: np.ndarray) -> np.ndarray:
    """Corpus values from summed statistics (..., S) -> (...); nan where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "mean":
            return np.where(sums[..., 1] > 0, sums[..., 0] / sums[..., 1], np.nan)
        if kind == "rmse":
            return np.where(sums[..., 1] > 0, np.sqrt(sums[..., 0] / sums[..., 1]), np.nan)
        n, sa, sb, saa, sbb, sab = np.moveaxis(sums, -1, 0)
        cov = sab - sa * sb / n
        var_a = saa - sa * sa / n
        var_b = sbb - sb * sb / n
        r = cov / np.sqrt(var_a * var_b)
        return np.where((n >= 2) & (var_a > 1e-12) & (var_b > 1e-12), np.clip(r, -1.0, 1.0), np.nan)


@dataclass
class Estimate:
    """A corpus value with its 95% bootstrap interval (percentile method)."""

    value: float
    low: float
    high: float

    @classmethod
    def from_samples(cls, value: float, samples: np.ndarray, level: float = 0.95) -> "Estimate":
        samples = samples[np.isfinite(samples)]
        if samples.size == 0 or not np.isfinite(value):
            return cls(float(value), float("nan"), float("nan"))
        tail = 100 * (1 - level) / 2
        low, high = np.percentile(samples, [tail, 100 - tail])
        return cls(float(value), float(low), float(high))


@dataclass
class Comparison:
    """A system's metric against the baseline (and its oracle, for gap closure)."""

    estimate: Estimate
    difference: Optional[Estimate] = None  # system - baseline
    p_value: float = float("nan")
    gap_closure: Optional[Estimate] = None  # (baseline - system) / (baseline - oracle)
    # the papers' framing: (baseline - system) / baseline, the fraction of the baseline's error
    # removed; (system - baseline) / baseline for metrics where higher is better
    relative_improvement: Optional[Estimate] = None

    @property
    def significant(self) -> bool:
        return bool(self.p_value < 0.05)


class Bootstrap:
    """Paired bootstrap over a fixed list of U utterances (the same order for every system).

    Args:
        num_utterances: U.
        num_resamples: B.
        seed: Seed of the resampling.
    """

    def __init__(self, num_utterances: int, num_resamples: int = 1000, seed: int = 0):
        if num_utterances < 1:
            raise ValueError("no utterance to bootstrap over")
        rng = np.random.default_rng(seed)
        # (B, U) how often each utterance is drawn in each resample
        self.counts = rng.multinomial(
            num_utterances, np.full(num_utterances, 1.0 / num_utterances), size=num_resamples
        ).astype(np.float64)
        self.num_utterances = num_utterances

    def corpus(self, kind: str, stats: np.ndarray) -> np.ndarray:
        """Corpus value and its resamples from per-utterance stats (U, S) -> (1 + B,)."""
        stats = np.asarray(stats, dtype=np.float64)
        if stats.shape[0] != self.num_utterances:
            raise ValueError(f"stats of {stats.shape[0]} utterances, bootstrap over {self.num_utterances}")
        sums = np.concatenate([stats.sum(0, keepdims=True), self.counts @ stats])
        return _finalize(kind, sums)

    def compare(
        self,
        kind: str,
        system: np.ndarray,
        baseline: Optional[np.ndarray] = None,
        oracle: Optional[np.ndarray] = None,
        higher_is_better: bool = False,
    ) -> Comparison:
        """Estimate of ``system``; with a baseline its paired difference and relative
        improvement, with an oracle its gap closure."""
        s = self.corpus(kind, system)
        result = Comparison(Estimate.from_samples(s[0], s[1:]))
        if baseline is None:
            return result
        b = self.corpus(kind, baseline)
        d = s - b
        result.difference = Estimate.from_samples(d[0], d[1:])
        ok = np.isfinite(d[1:])
        if ok.any() and np.isfinite(d[0]):
            below, above = np.mean(d[1:][ok] <= 0), np.mean(d[1:][ok] >= 0)
            result.p_value = float(min(1.0, 2 * min(below, above)))
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = (d if higher_is_better else -d) / np.abs(b)
        result.relative_improvement = Estimate.from_samples(relative[0], relative[1:])
        if oracle is not None:
            o = self.corpus(kind, oracle)
            with np.errstate(divide="ignore", invalid="ignore"):
                gap = (b - s) / (b - o)
            result.gap_closure = Estimate.from_samples(gap[0], gap[1:])
        return result


def format_estimate(
    estimate: Optional[Estimate], scale: float = 1.0, digits: int = 2, percent: bool = False
) -> str:
    """``value [low, high]`` for tables; ``n/a`` when undefined."""
    if estimate is None or not np.isfinite(estimate.value):
        return "n/a"
    fmt = f"{{:.{digits}f}}"
    s = scale * (100.0 if percent else 1.0)
    text = fmt.format(estimate.value * s + 0.0)  # + 0.0: no "-0" for an exact zero
    if np.isfinite(estimate.low):
        text += f" [{fmt.format(estimate.low * s + 0.0)}, {fmt.format(estimate.high * s + 0.0)}]"
    return text + ("%" if percent else "")


__all__ = ["Bootstrap", "Comparison", "Estimate", "KINDS", "format_estimate", "sufficient_stats"]
