"""Scoring of a MUSHRA test: listeners' result files -> BS.1534-3 statistics and the papers' figures.

Reads both result formats of :mod:`prosody_plugin.listening.mushra`, refuses files of another
test, post-screens listeners and writes the report. docs/listening_tests.md (Stage 14).
"""

import csv
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from prosody_plugin.evaluation.statistics import Bootstrap, Comparison, format_estimate
from prosody_plugin.listening.mushra import ANCHOR, REFERENCE, MushraDesign

#: BS.1534-3 post-screening: hidden reference below this score ...
SCREEN_SCORE = 90.0
#: ... in more than this fraction of a listener's trials excludes the listener.
SCREEN_FRACTION = 0.15
_WEBMUSHRA_COLUMNS = ("session_test_id", "trial_id", "rating_stimulus", "rating_score")


class ResultsError(ValueError):
    """Result files that cannot be scored against this test."""


@dataclass
class Rating:
    listener: str
    trial: str
    condition: str
    score: float
    where: str  # "file:row"


@dataclass
class Listener:
    name: str
    files: List[str] = field(default_factory=list)
    complete_trials: List[str] = field(default_factory=list)
    incomplete_trials: List[str] = field(default_factory=list)
    missing_trials: List[str] = field(default_factory=list)
    reference_below: int = 0
    excluded: bool = False

    @property
    def reference_below_fraction(self) -> float:
        return self.reference_below / len(self.complete_trials) if self.complete_trials else float("nan")


def result_files(results: Sequence[Path]) -> List[Path]:
    """The CSV files among ``results`` (files, or dirs searched recursively), sorted."""
    files = []
    for path in map(Path, results):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.csv") if p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path} is missing")
    return files


def read_results(files: Sequence[Path], design: MushraDesign) -> Tuple[List[Rating], List[str]]:
    """Every rating of every file, checked against the design.

    Returns:
        (ratings, notes): the valid ratings, and a message for each row left out.

    Raises:
        ResultsError: a file of another test, an unknown format, a listener in two files or
            a rating given twice (the message names file and row).
    """
    ratings: List[Rating] = []
    notes: List[str] = []
    seen: Dict[Tuple[str, str, str], str] = {}
    listener_files: Dict[str, str] = {}
    trials, conditions = set(design.trial_ids), set(design.conditions)
    for path in files:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            if {"test_id", "design_hash", "listener", "trial_id", "condition", "rating"} <= set(header):
                kind = "page"
            elif set(_WEBMUSHRA_COLUMNS) <= set(header):
                kind = "webmushra"
                if "listener" not in header:
                    raise ResultsError(
                        f"{path}: a webMUSHRA result without a 'listener' column: the test's finish page asks for "
                        "it (questionnaire name 'listener'); without it the listeners cannot be told apart"
                    )
            else:
                raise ResultsError(
                    f"{path}: not a MUSHRA result of this test (columns: {', '.join(header) or 'none'})"
                )
            for row_no, row in enumerate(reader, start=2):
                where = f"{path}:{row_no}"
                if kind == "page":
                    test, trial, condition, value = (
                        row["test_id"],
                        row["trial_id"],
                        row["condition"],
                        row["rating"],
                    )
                    if (test, row["design_hash"]) != (design.test_id, design.design_hash):
                        raise ResultsError(
                            f"{where}: test {test} ({row['design_hash']}), but this is test {design.test_id} "
                            f"({design.design_hash}): results of another test configuration are refused"
                        )
                else:
                    test, trial = row["session_test_id"], row["trial_id"]
                    condition, value = row["rating_stimulus"], row["rating_score"]
                    if test != design.webmushra_test_id:
                        raise ResultsError(
                            f"{where}: webMUSHRA test {test}, but this is {design.webmushra_test_id}: results of "
                            "another test configuration are refused"
                        )
                listener = (row.get("listener") or "").strip()
                if not listener:
                    raise ResultsError(f"{where}: no listener ID")
                if trial not in trials:
                    raise ResultsError(
                        f"{where}: trial {trial!r} is not in this test ({design.test_id}): another test configuration?"
                    )
                if condition not in conditions:
                    hint = (
                        " (webMUSHRA's own anchors are not part of this test: keep createAnchor35 false)"
                        if condition.startswith("anchor")
                        else ""
                    )
                    raise ResultsError(
                        f"{where}: condition {condition!r} is not in this test ({', '.join(design.conditions)}){hint}"
                    )
                first_file = listener_files.setdefault(listener, str(path))
                if first_file != str(path):
                    raise ResultsError(
                        f"{where}: listener {listener!r} is also in {first_file} (duplicate listener): "
                        "keep one file per listener, or give the listeners distinct IDs"
                    )
                key = (listener, trial, condition)
                if key in seen:
                    raise ResultsError(
                        f"{where}: listener {listener!r}, trial {trial}, condition {condition} is rated again (first at {seen[key]})"
                    )
                seen[key] = where
                try:
                    score = float(value)
                except (TypeError, ValueError):
                    score = float("nan")
                if not (0.0 <= score <= 100.0):  # nan too
                    notes.append(
                        f"{where}: rating {value!r} (listener {listener}, trial {trial}, {condition}) "
                        "is not a number in 0-100: left out"
                    )
                    continue
                ratings.append(Rating(listener, trial, condition, score, where))
    return ratings, notes


@dataclass
class ConditionResult:
    condition: str
    role: str
    n: int
    mean: float
    ci_low: float
    ci_high: float
    std: float
    median: float
    comparison: Optional[Comparison] = None  # bootstrap vs baseline (relative, gap)
    wilcoxon_statistic: float = float("nan")
    p_value: float = float("nan")
    p_holm: float = float("nan")

    @property
    def significant(self) -> bool:
        return bool(self.p_holm < 0.05)


@dataclass
class MushraResults:
    design: MushraDesign
    listeners: "OrderedDict[str, Listener]"
    cells: List[Tuple[str, str]]  # (listener, trial) of the included listeners' complete trials
    matrix: np.ndarray  # (cells, conditions) ratings
    conditions: List[ConditionResult]
    notes: List[str]
    num_files: int

    @property
    def included(self) -> List[str]:
        return [
            n for n, listener in self.listeners.items() if not listener.excluded and listener.complete_trials
        ]

    @property
    def excluded(self) -> List[str]:
        return [n for n, listener in self.listeners.items() if listener.excluded]


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (same order as given; nan stays nan)."""
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m, running = len(ok), 0.0
    for rank, i in enumerate(ok[np.argsort(p[ok], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def wilcoxon_signed_rank(system: np.ndarray, baseline: np.ndarray) -> Tuple[float, float]:
    """Two-sided Wilcoxon signed-rank test of paired ratings (N,); (statistic, p). All ties: (0, 1)."""
    from scipy.stats import wilcoxon

    if system.size == 0:
        return float("nan"), float("nan")
    if np.all(system == baseline):
        return 0.0, 1.0
    result = wilcoxon(system, baseline)
    return float(result.statistic), float(result.pvalue)


def t_interval(values: np.ndarray, level: float = 0.95) -> Tuple[float, float, float]:
    """Mean and its Student-t confidence interval (BS.1534-3, 9.2)."""
    from scipy.stats import t

    n = values.size
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan")
    half = float(t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half


def analyse(
    design: MushraDesign,
    ratings: Sequence[Rating],
    notes: Sequence[str],
    num_files: int,
    baseline: Optional[str] = None,
    num_resamples: int = 1000,
    seed: int = 0,
    screen_score: float = SCREEN_SCORE,
    screen_fraction: float = SCREEN_FRACTION,
) -> MushraResults:
    """BS.1534-3 post-screening and the statistics per condition (docs/listening_tests.md, Stage 14)."""
    baseline = baseline or design.baseline
    if baseline not in design.conditions or baseline in (REFERENCE, ANCHOR):
        raise ValueError(f"baseline {baseline!r} is not a system of this test ({', '.join(design.systems)})")
    notes = list(notes)
    by_cell: Dict[Tuple[str, str], Dict[str, float]] = OrderedDict()
    listeners: "OrderedDict[str, Listener]" = OrderedDict()
    for r in ratings:
        by_cell.setdefault((r.listener, r.trial), {})[r.condition] = r.score
        listener = listeners.setdefault(r.listener, Listener(r.listener))
        file = r.where.rsplit(":", 1)[0]
        if file not in listener.files:
            listener.files.append(file)
    for name, listener in listeners.items():
        for trial in design.trial_ids:
            rated = by_cell.get((name, trial))
            if rated is None:
                listener.missing_trials.append(trial)
            elif len(rated) < len(design.conditions):
                listener.incomplete_trials.append(trial)
                missing = [c for c in design.conditions if c not in rated]
                notes.append(
                    f"listener {name}, trial {trial}: no valid rating of {', '.join(missing)}: trial left out"
                )
            else:
                listener.complete_trials.append(trial)
                listener.reference_below += rated[REFERENCE] < screen_score
        if listener.missing_trials:
            notes.append(
                f"listener {name} ({', '.join(listener.files)}): {len(listener.missing_trials)} of "
                f"{len(design.trial_ids)} trials missing ({', '.join(listener.missing_trials)})"
            )
        listener.excluded = (
            bool(listener.complete_trials) and listener.reference_below_fraction > screen_fraction
        )
    included = [n for n, li in listeners.items() if not li.excluded and li.complete_trials]
    cells = [(n, t) for n in included for t in listeners[n].complete_trials]
    matrix = np.array([[by_cell[c][cond] for cond in design.conditions] for c in cells], dtype=np.float64)
    matrix = matrix.reshape(len(cells), len(design.conditions))

    results = []
    if cells:
        column = {c: matrix[:, i] for i, c in enumerate(design.conditions)}
        bootstrap = Bootstrap(len(cells), num_resamples, seed)
        stats = {c: np.stack([v, np.ones_like(v)], axis=1) for c, v in column.items()}  # mean of ratings
        for condition in design.conditions:
            values = column[condition]
            mean, low, high = t_interval(values)
            role = {REFERENCE: "hidden reference", ANCHOR: "anchor", baseline: "baseline"}.get(
                condition, "system"
            )
            result = ConditionResult(
                condition,
                role,
                values.size,
                mean,
                low,
                high,
                float(values.std(ddof=1)) if values.size > 1 else float("nan"),
                float(np.median(values)),
            )
            if role == "system":
                result.comparison = bootstrap.compare(
                    "mean", stats[condition], stats[baseline], stats[REFERENCE], higher_is_better=True
                )
                result.wilcoxon_statistic, result.p_value = wilcoxon_signed_rank(values, column[baseline])
            results.append(result)
        systems = [r for r in results if r.role == "system"]
        for r, p in zip(systems, holm([r.p_value for r in systems])):
            r.p_holm = float(p)
    return MushraResults(design, listeners, cells, matrix, results, notes, num_files)


# ------------------------------------------------------------------------------------------
# Outputs


def _num(value: float, digits: int = 2) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def write_outputs(results: MushraResults, output_dir: Path) -> List[Path]:
    """``mushra.md``, ``mushra.csv``, ``listeners.csv``, ``ratings.csv`` and ``boxplot.png``."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    design = results.design
    written = []

    path = output_dir / "listeners.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "listener",
                "files",
                "complete_trials",
                "incomplete_trials",
                "missing_trials",
                "reference_below_90",
                "reference_below_90_fraction",
                "excluded",
            ]
        )
        for li in results.listeners.values():
            writer.writerow(
                [
                    li.name,
                    " ".join(li.files),
                    len(li.complete_trials),
                    len(li.incomplete_trials),
                    len(li.missing_trials),
                    li.reference_below,
                    _num(li.reference_below_fraction, 3),
                    int(li.excluded),
                ]
            )
    written.append(path)

    path = output_dir / "ratings.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["listener", "trial_id", *design.conditions])
        for (listener, trial), row in zip(results.cells, results.matrix):
            writer.writerow([listener, trial, *(f"{v:g}" for v in row)])
    written.append(path)

    if not results.conditions:
        return written

    path = output_dir / "mushra.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "condition",
                "role",
                "num_ratings",
                "mean",
                "ci_low",
                "ci_high",
                "std",
                "median",
                "diff_vs_baseline",
                "wilcoxon_statistic",
                "p_value",
                "p_holm",
                "significant",
                "relative_improvement",
                "relative_ci_low",
                "relative_ci_high",
                "gap_closed",
                "gap_ci_low",
                "gap_ci_high",
                "num_listeners",
            ]
        )
        for r in results.conditions:
            c = r.comparison
            figures = []
            for e in (c.relative_improvement, c.gap_closure) if c else (None, None):
                figures += [_num(e.value, 5), _num(e.low, 5), _num(e.high, 5)] if e else ["", "", ""]
            writer.writerow(
                [
                    r.condition,
                    r.role,
                    r.n,
                    _num(r.mean, 3),
                    _num(r.ci_low, 3),
                    _num(r.ci_high, 3),
                    _num(r.std, 3),
                    _num(r.median, 3),
                    _num(c.difference.value, 3) if c else "",
                    _num(r.wilcoxon_statistic, 1),
                    _num(r.p_value, 5),
                    _num(r.p_holm, 5),
                    int(r.significant) if c else "",
                    *figures,
                    len(results.included),
                ]
            )
    written.append(path)
    written.append(boxplot(results, output_dir / "boxplot.png"))
    path = output_dir / "mushra.md"
    path.write_text(markdown(results), encoding="utf-8")
    written.append(path)
    return written


def markdown(results: MushraResults) -> str:
    """The report: listeners, screening, the table and the papers' figures."""
    design = results.design
    baseline = next(r for r in results.conditions if r.role == "baseline")
    lines = [
        f"# MUSHRA listening test: {design.test_id}",
        "",
        f"{len(design.trial_ids)} trials, {len(design.conditions)} conditions (hidden reference, 3.5 kHz anchor, "
        f"{len(design.systems)} systems); test {design.design_hash}. {len(results.listeners)} listeners in "
        f"{results.num_files} result files; post-screening (ITU-R BS.1534-3: hidden reference rated below "
        f"{SCREEN_SCORE:g} in more than {SCREEN_FRACTION:.0%} of the trials) excluded "
        f"{len(results.excluded)} of {len(results.listeners)}"
        + (f": {', '.join(results.excluded)}" if results.excluded else "")
        + f". Scored: {len(results.included)} listeners, {len(results.cells)} complete (listener, trial) pairs.",
        "",
        "Mean rating with its 95% confidence interval (Student's t over the ratings, BS.1534-3); the systems against "
        f"the baseline `{baseline.condition}`: Wilcoxon signed-rank test on the paired ratings (same listener and trial), "
        "p-values Holm-corrected over the systems (`*`: < 0.05); **relative improvement** (system - baseline) / "
        "baseline, the figure of the Kathaka paper (+13.2%); **gap closed** (system - baseline) / (hidden "
        "reference - baseline), the figure of the CAMP paper (26%); both with 95% bootstrap intervals over "
        "(listener, trial) pairs.",
        "",
        "| condition | role | n | mean [95% CI] | median | p (Holm) | relative improvement | gap closed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results.conditions:
        c = r.comparison
        p = f"{r.p_holm:.3g}{' *' if r.significant else ''}" if c else ""
        rel = format_estimate(c.relative_improvement, 1.0, 1, percent=True) if c else ""
        gap = format_estimate(c.gap_closure, 1.0, 0, percent=True) if c else ""
        lines.append(
            f"| {r.condition} | {r.role} | {r.n} | {r.mean:.1f} [{_num(r.ci_low, 1)}, {_num(r.ci_high, 1)}] | "
            f"{r.median:.0f} | {p} | {rel} | {gap} |"
        )
    lines += [
        "",
        "Box plot: `boxplot.png`; per listener: `listeners.csv`; the ratings scored: `ratings.csv`.",
    ]
    if results.notes:
        lines += ["", "## Data cleaning", ""] + [f"- {n}" for n in results.notes]
    return "\n".join(lines) + "\n"


def boxplot(results: MushraResults, path: Path) -> Path:
    """Ratings per condition (box: quartiles, whiskers: 1.5 IQR, diamond: mean)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = [REFERENCE] + [c for c in results.design.conditions if c not in (REFERENCE, ANCHOR)] + [ANCHOR]
    index = {c: i for i, c in enumerate(results.design.conditions)}
    data = [results.matrix[:, index[c]] for c in order]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(order)), 4.2))
    ax.boxplot(
        data, showmeans=True, meanprops=dict(marker="D", markerfacecolor="white", markeredgecolor="black")
    )
    ax.set_xticks(range(1, len(order) + 1), [c.replace("_", "\n") for c in order], fontsize=8)
    ax.set_ylim(-2, 102)
    ax.set_ylabel("MUSHRA rating")
    for y, label in zip((10, 30, 50, 70, 90), ("bad", "poor", "fair", "good", "excellent")):
        ax.text(len(order) + 0.6, y, label, fontsize=7, va="center", color="0.4")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(
        f"{results.design.test_id}: {len(results.included)} listeners, {len(results.cells)} trials rated",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def score_mushra(
    design_path: Path,
    results: Sequence[Path],
    output_dir: Path,
    baseline: Optional[str] = None,
    num_resamples: int = 1000,
    seed: int = 0,
) -> Optional[MushraResults]:
    """Read, check, screen, score and write; None (and nothing written) without result files."""
    design = MushraDesign.load(design_path)
    # never our own outputs (results given as the test folder itself)
    files = [f for f in result_files(results) if not f.resolve().is_relative_to(Path(output_dir).resolve())]
    if not files:
        logging.info(f"no listener results (*.csv) in {', '.join(map(str, results))}: nothing to score")
        return None
    ratings, notes = read_results(files, design)
    for note in notes:
        logging.warning(note)
    scored = analyse(design, ratings, notes, len(files), baseline, num_resamples, seed)
    for name in scored.excluded:
        li = scored.listeners[name]
        logging.warning(
            f"listener {name} excluded by post-screening: hidden reference below {SCREEN_SCORE:g} "
            f"in {li.reference_below} of {len(li.complete_trials)} trials"
        )
    written = write_outputs(scored, output_dir)
    if not scored.conditions:
        raise ResultsError(
            f"no listener left to score ({len(scored.excluded)} of {len(scored.listeners)} excluded by "
            f"post-screening; others incomplete): see {output_dir / 'listeners.csv'}"
        )
    logging.info("wrote " + ", ".join(str(p) for p in written))
    return scored


__all__ = [
    "ConditionResult",
    "Listener",
    "MushraResults",
    "Rating",
    "ResultsError",
    "SCREEN_FRACTION",
    "SCREEN_SCORE",
    "analyse",
    "holm",
    "read_results",
    "result_files",
    "score_mushra",
    "wilcoxon_signed_rank",
    "write_outputs",
]
