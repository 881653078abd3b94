"""The espeak-ng stand-in for ljspeech_mini (tests/spoken_corpus.py): real espeak-ng."""

import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from spoken_corpus import (
    DEFAULT_SENTENCES,
    PITCHES,
    RATES,
    is_spoken_corpus,
    main,
    sentence_texts,
    speak_ljspeech_style_corpus,
)

REAL_IDS = [f"LJ001-{i:04d}" for i in range(1, 33)]  # ljspeech_mini's utterances


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return speak_ljspeech_style_corpus(tmp_path_factory.mktemp("spoken") / "ljspeech_mini")


def read_metadata(corpus: Path):
    return [line.split("|") for line in (corpus / "metadata.csv").read_text(encoding="utf-8").splitlines()]


def test_layout_and_metadata_are_ljspeech_minis(corpus):
    assert sorted(p.name for p in corpus.iterdir() if not p.name.startswith(".")) == [
        "README.md",
        "metadata.csv",
        "wavs",
    ]
    rows = read_metadata(corpus)
    assert [r[0] for r in rows] == REAL_IDS  # the same ids, in the same order (the recipe's splits)
    assert all(len(r) == 3 for r in rows)
    assert [(r[1], r[2]) for r in rows] == [sentence_texts(s) for s in DEFAULT_SENTENCES]
    assert sorted(p.stem for p in (corpus / "wavs").iterdir()) == REAL_IDS
    assert "espeak-ng" in (corpus / "README.md").read_text() and is_spoken_corpus(corpus)
    # the real corpus's variety: questions, an exclamation, numbers as words where the
    # transcript has digits, as LJSpeech's normalized column does
    normalized = [r[2] for r in rows]
    assert sum(t.endswith("?") for t in normalized) >= 5 and any("!" in t for t in normalized)
    assert any(
        r[1] != r[2] and any(c.isdigit() for c in r[1]) and not any(c.isdigit() for c in r[2]) for r in rows
    )


def test_wavs_are_22050_hz_mono_pcm16_speech_of_plausible_length(corpus):
    rows = read_metadata(corpus)
    for i, (utt, _, text) in enumerate(rows):
        info = sf.info(corpus / "wavs" / f"{utt}.wav")
        assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16"), utt
        wav, fs = sf.read(corpus / "wavs" / f"{utt}.wav")
        # speech, not silence: loud frames carry most of the energy, the pads are quiet
        frame = fs // 50
        rms = np.sqrt((wav[: len(wav) // frame * frame].reshape(-1, frame) ** 2).mean(axis=1))
        assert np.abs(wav).max() > 0.3 and (rms > 0.05).mean() > 0.3, utt
        assert np.sqrt((wav[: int(0.1 * fs)] ** 2).mean()) < 1e-2, utt  # the pad before the speech
        # espeak-ng's words per minute at this sentence's rate, with pauses at punctuation:
        # within a factor of two of the text's length
        words = len(text.split())
        expected = words / RATES[i % len(RATES)] * 60
        assert 0.5 * expected < info.duration < 2 * expected + 0.5, (utt, info.duration, expected)


def test_prosody_varies_between_sentences(corpus):
    """Rate and pitch are not the same for every sentence: median F0 spreads over the pitches."""
    import pyworld

    medians = []
    for utt in REAL_IDS[: len(PITCHES)]:
        wav, fs = sf.read(corpus / "wavs" / f"{utt}.wav")
        f0, _ = pyworld.harvest(wav, fs, f0_floor=60.0, f0_ceil=500.0, frame_period=10.0)
        medians.append(np.median(f0[f0 > 0]))
    assert max(medians) / min(medians) > 1.1  # measured 1.17 (172-202 Hz)
    assert 100 < np.median(medians) < 300  # a voice in the F0 range of the tests (80-400 Hz)


def test_deterministic_and_reused(corpus, tmp_path):
    wav = corpus / "wavs" / "LJ001-0002.wav"
    mtime = wav.stat().st_mtime_ns
    assert speak_ljspeech_style_corpus(corpus) == corpus
    assert wav.stat().st_mtime_ns == mtime  # a complete corpus is reused, not rewritten
    again = speak_ljspeech_style_corpus(tmp_path / "again", sentences=DEFAULT_SENTENCES[:3])
    assert (again / "wavs" / "LJ001-0002.wav").read_bytes() == wav.read_bytes()
    # other sentences in a corpus written here: rewritten, not mixed with the old ones
    speak_ljspeech_style_corpus(tmp_path / "again", sentences=DEFAULT_SENTENCES[:2])
    assert sorted(p.name for p in (again / "wavs").iterdir()) == ["LJ001-0001.wav", "LJ001-0002.wav"]
    assert len(read_metadata(again)) == 2
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_other_rate_and_pairs_of_transcript_and_normalized_text(tmp_path):
    out = speak_ljspeech_style_corpus(
        tmp_path / "c",
        sentences=["Is it raining?", ("It costs 5 dollars.", "It costs five dollars.")],
        sample_rate=16000,
    )
    assert read_metadata(out) == [
        ["LJ001-0001", "Is it raining?", "Is it raining?"],
        ["LJ001-0002", "It costs 5 dollars.", "It costs five dollars."],
    ]
    assert {sf.info(p).samplerate for p in (out / "wavs").iterdir()} == {16000}


def test_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "mine.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        speak_ljspeech_style_corpus(tmp_path, sentences=["Hello there."])
    assert (tmp_path / "mine.txt").read_text() == "x"


def fake_espeak(bin_dir: Path, script: str) -> Path:
    """A dir with an ``espeak-ng`` shell script in it."""
    bin_dir.mkdir()
    exe = bin_dir / "espeak-ng"
    exe.write_text("#!/bin/sh\n" + script)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def test_names_the_sentence_when_espeak_ng_fails_or_is_missing(tmp_path, monkeypatch):
    sentences = ["Good morning.", "Where are you going?"]
    # the real espeak-ng, except that it fails on the second sentence
    real = shutil.which("espeak-ng")
    script = 'case "$*" in *--version*) exec ' + real + " --version;; esac\n"
    script += 'text=$(cat); case "$text" in *Where*) echo "voice broken" >&2; exit 3;; esac\n'
    script += 'printf "%s" "$text" | exec ' + real + ' "$@"\n'
    monkeypatch.setenv("PATH", f"{fake_espeak(tmp_path / 'bin', script)}{os.pathsep}/bin{os.pathsep}/usr/bin")
    with pytest.raises(
        RuntimeError, match=r"sentence 2 \(LJ001-0002\).*'Where are you going\?'.*exit 3.*voice broken"
    ):
        speak_ljspeech_style_corpus(tmp_path / "c", sentences=sentences)
    assert not (tmp_path / "c").exists() and not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    # missing altogether
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RuntimeError, match=r"'Good morning\.'.*espeak-ng is not installed"):
        speak_ljspeech_style_corpus(tmp_path / "c", sentences=sentences)
    assert main([str(tmp_path / "c")]) == 1


def test_the_front_end_reads_every_sentence_word_for_word():
    """The recipe's G2P (ESPnet's espeak_ng_english_us_vits) and the word alignment of stage
    two take every default sentence, transcript and normalized text alike."""
    from prosody_plugin.data.transcripts import unusual_characters
    from prosody_plugin.frontend.words import TextFrontend

    frontend = TextFrontend()
    for sentence in DEFAULT_SENTENCES:
        for text in set(sentence_texts(sentence)):
            assert not unusual_characters(text), text
            u = frontend.analyze(text)
            assert len(u.words) == len(u.word_phonemes) > 0, text
