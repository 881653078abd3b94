"""Listening material (samples page, MUSHRA test) and MUSHRA scoring, on real speech in a real browser.

The corpus is built here: "recordings" and "systems" are espeak-ng speech of five sentences
of four types (one system at 16 kHz, as a model-zoo baseline at another rate would be), so
the tests need nothing from a recipe run. The pages are opened in Debian's Chromium through
Playwright; the MUSHRA page is completed by a script and its export scored by the CLI.
"""

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from conftest import check_html, open_page, wait_for_audio

from prosody_plugin.evaluation.sentence_types import SENTENCE_TYPES
from prosody_plugin.listening import audio
from prosody_plugin.listening.analysis import ResultsError, holm, read_results, score_mushra
from prosody_plugin.listening.mushra import ANCHOR, NUM_ORDERS, REFERENCE, MushraDesign, make_mushra_test
from prosody_plugin.listening.samples import make_samples_page
from prosody_plugin.listening.selection import spread_of_types

SENTENCES = {
    "u1": "Please enter your password, followed by the pound key.",
    "u2": "Would you like to hear the message again?",
    "u3": "To leave a message after the tone,",
    "u4": "Extension number four.",
    "u5": "Thank you for calling.",
}
# system -> espeak-ng voice options (and the rate it is stored at)
SYSTEMS = {
    "fastspeech2": (["-v", "en-us", "-s", "185", "-p", "20"], 22050),
    "kathaka_sampled": (["-v", "en-us+f3", "-s", "160"], 22050),
    "zoo": (["-v", "en-us+m3", "-s", "170"], 16000),  # an extra baseline at another rate
}


def espeak(text: str, path: Path, options, rate: int) -> None:
    subprocess.run(["espeak-ng", *options, "-w", str(path), text], check=True, capture_output=True)
    if rate != 22050:  # resampled by another implementation than the one under test
        import librosa

        wav, fs = sf.read(path)
        sf.write(path, librosa.resample(wav, orig_sr=fs, target_sr=rate), rate)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A data dir of "recordings" and three decode dirs (wav.scp) of the same sentences."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (tools/install_system_deps.sh)")
    root = tmp_path_factory.mktemp("corpus")
    data = root / "data"
    data.mkdir()
    with open(data / "text", "w") as text, open(data / "wav.scp", "w") as scp:
        for utt, sentence in SENTENCES.items():
            espeak(sentence, root / f"{utt}.wav", ["-v", "en-us", "-s", "150"], 22050)
            text.write(f"{utt} {sentence}\n")
            scp.write(f"{utt} {root / f'{utt}.wav'}\n")
    systems = []
    for name, (options, rate) in SYSTEMS.items():
        d = root / name
        d.mkdir()
        with open(d / "wav.scp", "w") as scp:
            for utt, sentence in SENTENCES.items():
                espeak(sentence, d / f"{utt}.wav", options, rate)
                scp.write(f"{utt} {d / f'{utt}.wav'}\n")
        systems.append(f"{name}={d}")
    return dict(root=root, data=data, systems=systems)


# ------------------------------------------------------------------------------------------
# Stimulus processing


def test_anchor_is_the_reference_low_passed_at_3500_hz(ljspeech_mini):
    wav, fs = audio.read_mono(ljspeech_mini / "wavs" / "LJ001-0002.wav")
    anchor = audio.lowpass_anchor(wav, fs)
    assert anchor.shape == wav.shape
    spectrum = lambda x: np.abs(np.fft.rfft(x)) ** 2  # noqa: E731
    freqs = np.fft.rfftfreq(len(wav), 1 / fs)
    ratio_db = 10 * np.log10(spectrum(anchor) + 1e-20) - 10 * np.log10(spectrum(wav) + 1e-20)
    assert np.median(ratio_db[(freqs > 100) & (freqs < 2500)]) == pytest.approx(0, abs=0.5)  # passband kept
    assert np.median(ratio_db[(freqs > 5000) & (freqs < 10000)]) < -60  # stopband removed
    # zero phase: the anchor is not delayed against the reference
    lags = np.arange(-50, 51)
    corr = [np.dot(wav[100 + k : -100 + k], anchor[100:-100]) for k in lags]
    assert lags[int(np.argmax(corr))] == 0
    with pytest.raises(ValueError, match="Nyquist"):
        audio.lowpass_anchor(wav, 6000)


def test_resampling_keeps_speech_band_and_removes_what_cannot_be_represented():
    fs_in, fs_out = 22050, 16000
    t = np.arange(fs_in) / fs_in
    tone = np.sin(2 * np.pi * 1000 * t)
    out = audio.resample(tone, fs_in, fs_out)
    assert len(out) == fs_out
    spectrum = np.abs(np.fft.rfft(out[1000:-1000]))
    freqs = np.fft.rfftfreq(len(out) - 2000, 1 / fs_out)
    assert abs(freqs[np.argmax(spectrum)] - 1000) < 2
    # 10 kHz is above the new Nyquist (8 kHz): filtered out, not folded down to 6 kHz
    high = audio.resample(np.sin(2 * np.pi * 10000 * t), fs_in, fs_out)
    assert 20 * np.log10(np.sqrt(np.mean(high[1000:-1000] ** 2)) / np.sqrt(0.5)) < -50  # dB


def test_levels_are_aligned_without_clipping(ljspeech_mini):
    wav, fs = audio.read_mono(ljspeech_mini / "wavs" / "LJ001-0002.wav")
    scaled, level = audio.align_levels(
        {"quiet": 0.05 * wav, "loud": wav, "spiky": np.concatenate([wav, [0.999]])}, fs
    )
    levels = [audio.active_level_db(w, fs) for w in scaled.values()]
    assert max(levels) - min(levels) < 0.01 and levels[0] == pytest.approx(level, abs=0.01)
    assert max(np.abs(w).max() for w in scaled.values()) <= audio.PEAK_LIMIT + 1e-9
    with pytest.raises(FileNotFoundError, match="system x / u9"):
        audio.read_mono(ljspeech_mini / "nothing.wav", "system x / u9")


def test_spread_of_sentence_types_takes_each_type_in_turn():
    texts = {"a": "one two three.", "b": "one two?", "c": "one two three four?", "d": "one,", "e": "one."}
    types = {"a": "statement", "b": "question", "c": "question", "d": "continuation", "e": "fragment"}
    assert spread_of_types(texts, types, 4) == ["a", "c", "d", "e"]  # the longer question first
    assert spread_of_types(texts, types, 10) == ["a", "c", "d", "e", "b"]
    assert SENTENCE_TYPES == ("statement", "question", "continuation", "fragment")


# ------------------------------------------------------------------------------------------
# Samples page


def write_stage12_scores(directory: Path, systems) -> None:
    """utterances.csv and words.csv as stage 12 writes them, with values whose RMSEs are known."""
    directory.mkdir(parents=True)
    with open(directory / "utterances.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["utt", "system", "mcd_db", "log_f0_rmse_cents", "f0_pearson", "vde", "pitch_frames"])
        for utt in SENTENCES:
            for i, name in enumerate(systems):
                w.writerow([utt, name, 7.25 + i, 310 + i, 0.5, 0.125, 100])
    with open(directory / "words.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "utt",
                "word_index",
                "word",
                "source",
                "duration_ms",
                "mean_log_f0_cents",
                "f0_range_cents",
                "energy_db",
            ]
        )
        for utt, sentence in SENTENCES.items():
            words = sentence.split()
            for source, offset in [("recording", 0.0), ("fastspeech2", 30.0), ("kathaka_sampled", 10.0)]:
                for i, word in enumerate(words):
                    # fastspeech2 is 30 ms off on every word: its duration RMSE is 30.0
                    w.writerow([utt, i, word, source, 200 + 10 * i + offset, 100.0 - offset, 50, -20])


@pytest.fixture(scope="module")
def samples(corpus):
    scores = corpus["root"] / "scores"
    write_stage12_scores(scores, ["fastspeech2", "kathaka_sampled", "zoo"])
    index = make_samples_page(
        corpus["root"] / "samples", corpus["data"], corpus["systems"], num_utts=4, scores_dir=scores
    )
    return index


def test_samples_page_is_valid_self_contained_html(samples, corpus):
    text = check_html(samples)
    # a spread of sentence types: each of the four once
    assert re.findall(r'<span class="tag">(\w+)</span>', text) == list(SENTENCE_TYPES)
    # the audio is copied, not linked: the folder works without the corpus
    for link in re.findall(r'src="(audio/[^"]+)"', text):
        assert not (samples.parent / link).is_symlink()
    assert len(re.findall(r"<audio ", text)) == 4 * (1 + len(SYSTEMS))
    assert "FastSpeech2 (ESPnet), the baseline" in text and "extra baseline" in text
    # the utterance's word-level RMSE from words.csv, and its wav-level scores from utterances.csv
    u1 = text[text.index('id="utt-u1"') :].split("</section>")[0]
    row = re.search(r"<strong[^>]*>fastspeech2</strong>.*?</tr>", u1, re.S).group(0)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert cells[:4] == ["7.25", "310", "0.50", "12.5"]  # MCD, log-F0 RMSE, F0 corr, VDE %
    assert cells[4:6] == ["30.0", "30.0"]  # word duration RMSE (ms), word mean log-F0 RMSE (cents)


def test_samples_page_plays_every_file_in_chromium(samples, browser):
    page, errors, outside = open_page(browser, samples)
    players = wait_for_audio(page)
    assert len(players) == 16
    for src, ready, duration, error in players:
        assert error is None and ready >= 1, src
        assert duration == pytest.approx(sf.info(samples.parent / src).duration, abs=0.02), src
    assert not errors and not outside
    page.context.close()


def test_samples_page_names_a_missing_decode(corpus, tmp_path):
    broken = tmp_path / "kathaka_sampled"
    shutil.copytree(corpus["root"] / "kathaka_sampled", broken)
    (broken / "u2.wav").unlink()
    (broken / "wav.scp").write_text(
        (broken / "wav.scp").read_text().replace(str(corpus["root"] / "kathaka_sampled"), str(broken))
    )
    with pytest.raises(FileNotFoundError, match="system kathaka_sampled / u2"):
        make_samples_page(tmp_path / "page", corpus["data"], [f"kathaka_sampled={broken}"], utts=["u1", "u2"])


# ------------------------------------------------------------------------------------------
# MUSHRA test


@pytest.fixture(scope="module")
def mushra(corpus):
    folder = corpus["root"] / "mushra"
    return folder, build_unit_test(folder, corpus)


def build_unit_test(folder, corpus) -> MushraDesign:
    return make_mushra_test(
        folder, corpus["data"], corpus["systems"], "fastspeech2", "unit_test", num_trials=3, seed=7
    )


def test_mushra_test_stimuli_and_design(mushra):
    folder, design = mushra
    assert design.conditions == [REFERENCE, ANCHOR, "fastspeech2", "kathaka_sampled", "zoo"]
    assert [t.sentence_type for t in design.trials] == ["statement", "question", "continuation"]
    assert MushraDesign.load(folder / "design.json") == design
    for trial in design.trials:
        wavs = {c: sf.read(folder / p) for c, p in trial.stimuli.items()}
        # one rate (the recordings'; "zoo" was 16 kHz) and one length per trial
        assert {fs for _, fs in wavs.values()} == {22050}
        assert len({len(w) for w, _ in wavs.values()}) == 1
        levels = [audio.active_level_db(w, 22050) for w, _ in wavs.values()]
        assert max(levels) - min(levels) < 0.1
        reference, _ = sf.read(folder / trial.reference)
        assert np.array_equal(reference, wavs[REFERENCE][0])  # the hidden reference is the reference
        spectrum = lambda x: np.abs(np.fft.rfft(x)) ** 2  # noqa: E731
        freqs = np.fft.rfftfreq(len(reference), 1 / 22050)
        high = (freqs > 5000) & (freqs < 9000)
        assert spectrum(wavs[ANCHOR][0])[high].sum() < 1e-4 * spectrum(reference)[high].sum()
        # opaque names: a file name gives no condition away
        assert all(c not in p for c, p in trial.stimuli.items())


def test_webmushra_configuration(mushra):
    folder, design = mushra
    config = yaml.safe_load((folder / design.webmushra_config).read_text())
    assert config["testId"] == design.webmushra_test_id
    for key in ("testname", "bufferSize", "stopOnErrors", "showButtonPreviousPage", "remoteService"):
        assert key in config
    pages = config["pages"]
    assert [p["type"] for p in pages if isinstance(p, dict)] == ["generic", "volume", "finish"]
    block = next(p for p in pages if isinstance(p, list))
    assert block[0] == "random" and [p["id"] for p in block[1:]] == design.trial_ids
    root = folder / "webmushra"
    for p in block[1:]:
        assert p["type"] == "mushra" and p["createAnchor35"] is False and p["randomize"] is True
        # webMUSHRA adds the hidden reference itself; ours is the reference file
        assert set(p["stimuli"]) == set(design.conditions) - {REFERENCE}
        for path in [p["reference"], *p["stimuli"].values()]:
            assert (root / path).is_file() and path.startswith(f"configs/resources/{design.test_id}/")
        lengths = {sf.info(root / path).frames for path in [p["reference"], *p["stimuli"].values()]}
        assert len(lengths) == 1  # webMUSHRA stops on stimuli of different lengths
        assert len(p["stimuli"]) + 1 <= 12
    assert pages[-1]["questionnaire"][0]["name"] == "listener" and pages[-1]["writeResults"] is True


def test_mushra_build_stops_on_a_missing_stimulus_naming_system_and_utterance(corpus, tmp_path):
    broken = tmp_path / "kathaka_sampled"
    shutil.copytree(corpus["root"] / "kathaka_sampled", broken)
    scp = (broken / "wav.scp").read_text().replace(str(corpus["root"] / "kathaka_sampled"), str(broken))
    (broken / "wav.scp").write_text(
        "\n".join(line for line in scp.splitlines() if not line.startswith("u3 ")) + "\n"
    )
    (broken / "u1.wav").unlink()
    with pytest.raises(FileNotFoundError) as error:
        make_mushra_test(
            tmp_path / "test",
            corpus["data"],
            [corpus["systems"][0], f"kathaka_sampled={broken}"],
            "fastspeech2",
            "t",
            utts=["u1", "u2", "u3"],
        )
    assert "system kathaka_sampled / u1" in str(
        error.value
    ) and "system kathaka_sampled / u3: not decoded" in str(error.value)
    assert not (tmp_path / "test").exists()  # nothing half-built
    with pytest.raises(ValueError, match="baseline 'nope'"):
        make_mushra_test(tmp_path / "t2", corpus["data"], corpus["systems"], "nope", "t", utts=["u1"])
    many = [f"s{i}={corpus['root'] / 'zoo'}" for i in range(11)]
    with pytest.raises(ValueError, match="at most 12"):
        make_mushra_test(tmp_path / "t3", corpus["data"], many, "s0", "t", utts=["u1"])


def test_design_orders_are_seeded_permutations(mushra, corpus):
    folder, design = mushra
    assert len(design.orders) == NUM_ORDERS
    for k in range(NUM_ORDERS):
        order = design.named_order(k)
        assert sorted(t for t, _ in order) == sorted(design.trial_ids)
        assert all(sorted(slots) == sorted(design.conditions) for _, slots in order)
    assert len({json.dumps(o) for o in design.orders}) == NUM_ORDERS  # different listeners, different orders
    again = build_unit_test(folder.with_name("again"), corpus)
    assert again.orders == design.orders and again.design_hash == design.design_hash  # seeded


def page_order(page, listener: str) -> list:
    """The order the page gives ``listener``: [(trial id, [conditions in slot order])]."""
    return [
        (o["id"], o["conditions"])
        for o in page.evaluate("l => window.prosodyMushra.listenerOrder(l)", listener)
    ]


def test_page_takes_each_listeners_order_from_the_design(mushra, browser):
    folder, design = mushra
    page, errors, _ = open_page(browser, folder / "index.html")
    named = [design.named_order(k) for k in range(NUM_ORDERS)]
    orders = [page_order(page, f"listener{i}") for i in range(12)]
    assert all(order in named for order in orders)
    assert len({json.dumps(o) for o in orders}) > 1  # spread over the design's orders
    assert page_order(page, "Zoë 2") == page_order(page, "Zoë 2")  # an ID keeps its order
    assert not errors
    page.context.close()


def complete_test(page, design, listener: str, ratings: dict, reload_after: int = -1) -> list:
    """Fill in the listener ID, then per trial: play every sample, set its slider, Next."""
    page.fill("#listener", listener)
    page.click("#start")
    positions = []
    for position in range(len(design.trials)):
        section = page.locator("section.trial:not([hidden])")
        trial = section.get_attribute("data-trial")
        positions.append(trial)
        assert section.locator(".position").inner_text() == str(position + 1)
        players = wait_for_audio(page, f'section.trial[data-trial="{trial}"] audio')
        assert len(players) == len(design.conditions) + 1 and all(r >= 1 and d > 0 for _, r, d, _ in players)
        if position == 0:  # Next before anything is rated: refused, the missing samples named
            section.locator("button.next").click()
            assert "missing: A, B, C, D, E" in section.locator(".status").inner_text()
        for row in section.locator("tbody tr").all():
            condition = row.get_attribute("data-condition")
            row.locator("audio").evaluate("a => a.play().then(() => a.pause())")
            row.locator("input.rating").fill(str(ratings[condition]))
        section.locator("button.next").click()
        if position == reload_after:  # an interrupted test resumes where it stopped
            page.reload()
            page.fill("#listener", listener)
            page.click("#start")
    page.wait_for_selector("#done:not([hidden])")
    return positions


def test_mushra_page_completed_by_script_then_scored(mushra, browser, tmp_path):
    from prosody_plugin.bin.score_mushra import main as score_main

    folder, design = mushra
    results = tmp_path / "results"
    results.mkdir()
    runs = {
        "alice": {REFERENCE: 100, ANCHOR: 10, "fastspeech2": 40, "kathaka_sampled": 70, "zoo": 40},
        "bob": {REFERENCE: 95, ANCHOR: 5, "fastspeech2": 50, "kathaka_sampled": 80, "zoo": 45},
    }
    orders = {}
    for listener, ratings in runs.items():
        page, errors, outside = open_page(browser, folder / "index.html")
        orders[listener] = page_order(page, listener)
        shown = complete_test(page, design, listener, ratings, reload_after=0 if listener == "bob" else -1)
        assert shown == [t for t, _ in orders[listener]]
        with page.expect_download() as download:
            page.click("#download")
        download.value.save_as(results / download.value.suggested_filename)
        assert not errors and not outside
        page.context.close()
    files = sorted(p.name for p in results.iterdir())
    assert files == ["mushra_unit_test_alice.csv", "mushra_unit_test_bob.csv"]
    with open(results / files[0]) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(design.trials) * len(design.conditions)
    assert [(r["trial_id"], r["condition"]) for r in rows] == [
        (t, c) for t, cs in orders["alice"] for c in cs
    ]
    assert {r["played"] for r in rows} == {"1"} and [r["slot"] for r in rows[:5]] == list("ABCDE")

    score_main(
        [
            "--design",
            str(folder / "design.json"),
            "--results",
            str(results),
            "--num_resamples",
            "200",
            "--output_dir",
            str(tmp_path / "scores"),
        ]
    )
    with open(tmp_path / "scores" / "mushra.csv") as f:
        table = {r["condition"]: r for r in csv.DictReader(f)}
    assert float(table["fastspeech2"]["mean"]) == pytest.approx(45)
    assert float(table["kathaka_sampled"]["mean"]) == pytest.approx(75)
    assert float(table["kathaka_sampled"]["relative_improvement"]) == pytest.approx(30 / 45, abs=1e-5)
    assert float(table["kathaka_sampled"]["gap_closed"]) == pytest.approx(30 / (97.5 - 45), abs=1e-5)
    assert (tmp_path / "scores" / "boxplot.png").stat().st_size > 10000


# ------------------------------------------------------------------------------------------
# Scoring on synthetic listeners with known answers, and bad input


def write_page_csv(
    path: Path, design, listener: str, ratings: dict, trials=None, test_id=None, design_hash=None
):
    """A result file in the page's export format; ``ratings[trial][condition]`` or ``ratings[condition]``."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "test_id",
                "design_hash",
                "listener",
                "trial_position",
                "trial_id",
                "condition",
                "slot",
                "rating",
                "played",
                "seconds",
                "finished_at",
            ]
        )
        for i, trial in enumerate(trials or design.trial_ids):
            for j, condition in enumerate(design.conditions):
                value = ratings[trial][condition] if trial in ratings else ratings[condition]
                w.writerow(
                    [
                        test_id or design.test_id,
                        design_hash or design.design_hash,
                        listener,
                        i + 1,
                        trial,
                        condition,
                        "ABCDEFGHIJKL"[j],
                        value,
                        1,
                        10.0,
                        "2026-01-01T00:00:00Z",
                    ]
                )


def test_scoring_known_answers_and_post_screening(mushra, tmp_path, caplog):
    folder, design = mushra
    results = tmp_path / "results"
    results.mkdir()
    rng = np.random.default_rng(0)
    for k in range(5):
        ratings = {}
        for trial in design.trial_ids:
            reference = float(rng.integers(92, 101))
            baseline = float(rng.integers(20, 60))
            # kathaka_sampled is rated exactly like the hidden reference, zoo exactly like the baseline
            ratings[trial] = {
                REFERENCE: reference,
                ANCHOR: 5.0,
                "fastspeech2": baseline,
                "kathaka_sampled": reference,
                "zoo": baseline,
            }
        write_page_csv(results / f"l{k}.csv", design, f"listener{k}", ratings)
    # fails post-screening: the hidden reference below 90 in 2 of 3 trials (> 15%)
    careless = {
        t: {
            REFERENCE: 60.0 if i < 2 else 100.0,
            ANCHOR: 90.0,
            "fastspeech2": 100.0,
            "kathaka_sampled": 0.0,
            "zoo": 100.0,
        }
        for i, t in enumerate(design.trial_ids)
    }
    write_page_csv(results / "careless.csv", design, "careless", careless)
    scored = score_mushra(folder / "design.json", [results], tmp_path / "scores", num_resamples=300)
    assert scored.excluded == ["careless"] and len(scored.included) == 5
    assert "listener careless excluded by post-screening" in caplog.text
    table = {r.condition: r for r in scored.conditions}
    closes_all, closes_none = table["kathaka_sampled"].comparison, table["zoo"].comparison
    assert closes_all.gap_closure.value == pytest.approx(
        1.0
    ) and closes_none.gap_closure.value == pytest.approx(0.0)
    assert closes_none.relative_improvement.value == pytest.approx(0.0)
    assert table["zoo"].p_value == 1.0 and not table["zoo"].significant
    assert table["kathaka_sampled"].p_value < 1e-3 and table["kathaka_sampled"].significant
    assert table["kathaka_sampled"].p_holm >= table["kathaka_sampled"].p_value
    ref = table[REFERENCE]
    values = scored.matrix[:, design.conditions.index(REFERENCE)]
    from scipy import stats

    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    assert (ref.ci_low, ref.ci_high) == pytest.approx((values.mean() - half, values.mean() + half))
    report = (tmp_path / "scores" / "mushra.md").read_text()
    assert "excluded 1 of 6: careless" in report and "| kathaka_sampled | system | 15 |" in report
    assert report.split("| kathaka_sampled |")[1].split("\n")[0].endswith("| 100 [100, 100]% |")  # gap closed
    assert report.split("| zoo |")[1].split("\n")[0].endswith("| 0 [0, 0]% |")
    with open(tmp_path / "scores" / "listeners.csv") as f:
        assert {r["listener"]: r["excluded"] for r in csv.DictReader(f)}["careless"] == "1"


def test_holm_correction():
    assert holm([0.01, 0.04, 0.03, float("nan")])[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_results_of_another_test_and_duplicates_are_refused(mushra, tmp_path):
    folder, design = mushra
    good = {c: 50 for c in design.conditions}
    cases = {
        "another design": (
            dict(design_hash="0123456789ab"),
            r"another\.csv:2: test unit_test \(0123456789ab\).*another test configuration",
        ),
        "another test id": (dict(test_id="other"), r"another\.csv:2: test other"),
        "unknown trial": (dict(trials=["u1", "u9"]), r"another\.csv:7: trial 'u9' is not in this test"),
    }
    for name, (options, message) in cases.items():
        path = tmp_path / name.replace(" ", "_")
        path.mkdir()
        write_page_csv(path / "another.csv", design, "alice", good, **options)
        with pytest.raises(ResultsError, match=message):
            read_results([path / "another.csv"], design)
    write_page_csv(tmp_path / "a.csv", design, "alice", good)
    write_page_csv(tmp_path / "b.csv", design, "alice", good)
    with pytest.raises(
        ResultsError, match=r"b\.csv:2: listener 'alice' is also in .*a\.csv \(duplicate listener\)"
    ):
        read_results([tmp_path / "a.csv", tmp_path / "b.csv"], design)
    lines = (tmp_path / "a.csv").read_text().splitlines()
    (tmp_path / "twice.csv").write_text("\n".join(lines + [lines[3]]) + "\n")
    with pytest.raises(ResultsError, match=r"twice\.csv:17: .* is rated again \(first at .*twice\.csv:4\)"):
        read_results([tmp_path / "twice.csv"], design)
    (tmp_path / "other.csv").write_text("name,score\nalice,50\n")
    with pytest.raises(ResultsError, match=r"other\.csv: not a MUSHRA result"):
        read_results([tmp_path / "other.csv"], design)


def test_bad_ratings_and_missing_trials_are_left_out_and_reported(mushra, tmp_path):
    folder, design = mushra
    results = tmp_path / "results"
    results.mkdir()
    ok = {REFERENCE: 100, ANCHOR: 10, "fastspeech2": 40, "kathaka_sampled": 60, "zoo": 40}
    write_page_csv(results / "a.csv", design, "alice", ok)
    write_page_csv(results / "b.csv", design, "bob", ok, trials=design.trial_ids[:2])  # one trial missing
    bad = {design.trial_ids[0]: dict(ok, kathaka_sampled=150), design.trial_ids[1]: dict(ok, zoo="n/a")}
    write_page_csv(results / "c.csv", design, "carol", {**bad, design.trial_ids[2]: ok})
    scored = score_mushra(folder / "design.json", [results], tmp_path / "scores", num_resamples=100)
    notes = "\n".join(scored.notes)
    assert re.search(
        r"c\.csv:5: rating '150' \(listener carol, trial u1, kathaka_sampled\) is not a number in 0-100",
        notes,
    )
    assert re.search(r"c\.csv:11: rating 'n/a' .* left out", notes)
    assert "listener carol, trial u1: no valid rating of kathaka_sampled: trial left out" in notes
    assert "listener bob" in notes and "1 of 3 trials missing (u3)" in notes
    assert len(scored.cells) == 3 + 2 + 1
    assert "## Data cleaning" in (tmp_path / "scores" / "mushra.md").read_text()


def test_webmushra_results_are_read_like_the_page_export(mushra, tmp_path):
    folder, design = mushra
    ratings = {REFERENCE: 100, ANCHOR: 10, "fastspeech2": 40, "kathaka_sampled": 70, "zoo": 55}
    results = tmp_path / "results" / design.webmushra_test_id
    results.mkdir(parents=True)
    with open(results / "mushra.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "session_test_id",
                "listener",
                "trial_id",
                "rating_stimulus",
                "rating_score",
                "rating_time",
                "rating_comment",
            ]
        )
        for listener in ("w1", "w2"):
            for trial in design.trial_ids:
                for condition in design.conditions:
                    w.writerow(
                        [design.webmushra_test_id, listener, trial, condition, ratings[condition], 1234, ""]
                    )
    scored = score_mushra(
        folder / "design.json", [tmp_path / "results"], tmp_path / "scores", num_resamples=100
    )
    table = {r.condition: r for r in scored.conditions}
    assert table["zoo"].mean == 55 and table["kathaka_sampled"].comparison.gap_closure.value == pytest.approx(
        0.5
    )
    text = (results / "mushra.csv").read_text().replace("listener,", "email,")
    (results / "mushra.csv").write_text(text)
    with pytest.raises(ResultsError, match="without a 'listener' column"):
        score_mushra(folder / "design.json", [tmp_path / "results"], tmp_path / "scores2")


def test_scoring_without_results_says_so_and_writes_nothing(mushra, tmp_path, capsys):
    from prosody_plugin.bin.score_mushra import main as score_main

    folder, _ = mushra
    score_main(
        [
            "--design",
            str(folder),
            "--results",
            str(folder / "results"),
            "--output_dir",
            str(tmp_path / "scores"),
        ]
    )
    assert "No listener results" in capsys.readouterr().out
    assert not (tmp_path / "scores").exists()


def test_scoring_ignores_its_own_outputs_among_the_results(mushra, tmp_path):
    folder, design = mushra
    test = tmp_path / "test"
    shutil.copytree(folder, test)
    write_page_csv(
        test / "results" / "a.csv",
        design,
        "alice",
        {c: 100 - 10 * i for i, c in enumerate(design.conditions)},
    )
    for _ in range(2):  # the second run finds the first run's scores/mushra.csv in the same folder
        scored = score_mushra(test / "design.json", [test], test / "scores", num_resamples=50)
        assert scored.num_files == 1 and scored.included == ["alice"]


def test_scoring_stops_when_every_listener_fails_post_screening(mushra, tmp_path):
    folder, design = mushra
    write_page_csv(tmp_path / "a.csv", design, "careless", {c: 50 for c in design.conditions})
    with pytest.raises(ResultsError, match="no listener left to score \\(1 of 1 excluded by post-screening"):
        score_mushra(folder / "design.json", [tmp_path / "a.csv"], tmp_path / "scores")
    with open(tmp_path / "scores" / "listeners.csv") as f:
        row = next(csv.DictReader(f))
    assert row["listener"] == "careless" and row["reference_below_90"] == "3" and row["excluded"] == "1"
