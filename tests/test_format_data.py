"""Tests of prosody_plugin.data.validation (and its CLI, bin/format_data) on real tiny wav files and real espeak G2P."""

from pathlib import Path
from typing import Dict, Optional

import numpy as np
import pytest
import soundfile as sf

from prosody_plugin.bin.format_data import main
from prosody_plugin.data.kaldi_dir import read_kaldi_map
from prosody_plugin.data.validation import UtteranceValidator, ValidationConfig, format_data_dir
from prosody_plugin.text.word_boundaries import is_pronounceable

FS = 16000
GOOD_TEXT = "Hello, world."


def tone(seconds: float, fs: int = FS, channels: int = 1) -> np.ndarray:
    t = np.arange(int(round(seconds * fs))) / fs
    wave = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return wave if channels == 1 else np.stack([wave] * channels, axis=1)


@pytest.fixture(scope="module")
def config() -> ValidationConfig:
    return ValidationConfig(
        fs=FS,
        hop_length=256,
        max_duration=5.0,
        g2p="espeak_ng_english_us_vits",
        cleaner="tacotron",
        token_type="phn",
    )


def write_data_dir(
    root: Path,
    wav_scp: Dict[str, str],
    text: Dict[str, str],
    utt2spk: Optional[Dict[str, str]] = None,
) -> Path:
    """Write a Kaldi data dir by hand (not through the code under test)."""
    data = root / "in"
    data.mkdir(parents=True, exist_ok=True)
    utt2spk = utt2spk if utt2spk is not None else {u: "spk" for u in wav_scp}
    for name, mapping in (("wav.scp", wav_scp), ("text", text), ("utt2spk", utt2spk)):
        (data / name).write_text("".join(f"{k} {v}\n" for k, v in mapping.items()))
    return data


def make_wav(path: Path, samples: np.ndarray, fs: int = FS) -> str:
    sf.write(str(path), samples, fs, subtype="PCM_16")
    return str(path)


def build_case(tmp_path: Path, case: str):
    """A data dir with one good utterance ``a_good`` and one bad one ``b_bad``.

    Returns (data dir, expected reason, words the error message must contain).
    """
    good = make_wav(tmp_path / "good.wav", tone(1.0))
    bad_wav, bad_text = str(tmp_path / "bad.wav"), GOOD_TEXT
    if case == "missing_audio":
        bad_wav, words = str(tmp_path / "nowhere.wav"), ["not found", "nowhere.wav"]
    elif case == "unreadable_audio":
        Path(bad_wav).write_bytes(b"this is not a RIFF file at all" * 10)
        words = ["cannot read", "bad.wav"]
    elif case == "empty_audio":
        make_wav(Path(bad_wav), np.zeros(0, dtype=np.float32))
        words = ["0 samples"]
    elif case == "sample_rate_mismatch":
        make_wav(Path(bad_wav), tone(1.0, fs=22050), fs=22050)
        words = ["22050", "16000"]
    elif case == "multichannel_audio":
        make_wav(Path(bad_wav), tone(1.0, channels=2))
        words = ["2 channels"]
    elif case == "silent_audio":
        make_wav(Path(bad_wav), np.zeros(FS, dtype=np.float32))
        words = ["all zeros"]
    elif case == "too_long":
        make_wav(Path(bad_wav), tone(6.0))
        words = ["6.00 s", "max_duration"]
    elif case == "empty_text":
        make_wav(Path(bad_wav), tone(1.0))
        bad_text, words = "   ", ["empty"]
    elif case == "no_pronounceable_token":
        make_wav(Path(bad_wav), tone(1.0))
        bad_text, words = "...", ["no pronounceable token", "'...'"]
    elif case == "too_short_to_align":
        # 0.05 s = 800 samples -> 4 frames at hop 256, far fewer than the ~15 phonemes
        make_wav(Path(bad_wav), tone(0.05))
        words = ["4 frames", "tokens"]
    else:
        raise ValueError(case)
    data = write_data_dir(
        tmp_path,
        wav_scp={"a_good": good, "b_bad": bad_wav},
        text={"a_good": GOOD_TEXT, "b_bad": bad_text},
    )
    return data, words


BAD_CASES = [
    "missing_audio",
    "unreadable_audio",
    "empty_audio",
    "sample_rate_mismatch",
    "multichannel_audio",
    "silent_audio",
    "too_long",
    "empty_text",
    "no_pronounceable_token",
    "too_short_to_align",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_drop_mode_drops_only_the_bad_utterance(tmp_path, config, case, caplog):
    data, _ = build_case(tmp_path, case)
    out = tmp_path / "out"
    dropped = format_data_dir(data, out, config, on_error="drop")
    assert dropped == {"b_bad": case}
    assert (out / "dropped").read_text() == f"b_bad\t{case}\n"
    assert list(read_kaldi_map(out / "wav.scp")) == ["a_good"]
    assert read_kaldi_map(out / "utt2num_samples") == {"a_good": str(FS)}
    assert read_kaldi_map(out / "text") == {"a_good": GOOD_TEXT}
    assert read_kaldi_map(out / "spk2utt") == {"spk": "a_good"}
    assert any("b_bad" in r.getMessage() and case in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("case", BAD_CASES)
def test_stop_mode_names_utterance_and_problem(tmp_path, config, case):
    data, words = build_case(tmp_path, case)
    with pytest.raises(SystemExit) as excinfo:
        format_data_dir(data, tmp_path / "out", config, on_error="stop")
    message = str(excinfo.value.code)
    assert "b_bad" in message and case in message
    for word in words:
        assert word in message, (word, message)


def test_good_utterances_survive_with_absolute_paths(tmp_path, config, monkeypatch):
    (tmp_path / "wavs").mkdir()
    make_wav(tmp_path / "wavs" / "u1.wav", tone(1.0))
    make_wav(tmp_path / "wavs" / "u2.wav", tone(0.75))
    monkeypatch.chdir(tmp_path)  # relative wav.scp paths resolve against the cwd
    data = write_data_dir(
        tmp_path,
        wav_scp={"u2": "wavs/u2.wav", "u1": "wavs/u1.wav"},
        text={"u2": "Please try again.", "u1": GOOD_TEXT},
        utt2spk={"u2": "s2", "u1": "s1"},
    )
    out = tmp_path / "out"
    assert format_data_dir(data, out, config) == {}
    assert read_kaldi_map(out / "utt2num_samples") == {"u1": "16000", "u2": "12000"}
    wav_scp = read_kaldi_map(out / "wav.scp")
    assert list(wav_scp) == ["u1", "u2"]  # sorted by utt id
    assert wav_scp["u1"] == str(tmp_path / "wavs" / "u1.wav")
    assert read_kaldi_map(out / "spk2utt") == {"s1": "u1", "s2": "u2"}
    assert (out / "dropped").read_text() == ""


def test_mismatched_ids(tmp_path, config, caplog):
    good = make_wav(tmp_path / "good.wav", tone(1.0))
    data = write_data_dir(
        tmp_path,
        wav_scp={"a_good": good, "no_text": good},
        text={"a_good": GOOD_TEXT, "no_wav": GOOD_TEXT},
        utt2spk={"a_good": "spk", "no_text": "spk", "no_wav": "spk"},
    )
    out = tmp_path / "out"
    dropped = format_data_dir(data, out, config, on_error="drop")
    assert dropped == {"no_text": "mismatched_ids", "no_wav": "mismatched_ids"}
    assert list(read_kaldi_map(out / "text")) == ["a_good"]
    summary = " ".join(r.getMessage() for r in caplog.records)
    assert "2 ids are not in all of" in summary and "no_text" in summary and "no_wav" in summary

    with pytest.raises(SystemExit) as excinfo:
        format_data_dir(data, tmp_path / "out2", config, on_error="stop")
    message = str(excinfo.value.code)
    assert "mismatched data dir" in message and "no_text: not in text" in message


def test_nothing_survives_exits_non_zero(tmp_path, config):
    data = write_data_dir(tmp_path, wav_scp={"u1": str(tmp_path / "missing.wav")}, text={"u1": GOOD_TEXT})
    with pytest.raises(SystemExit) as excinfo:
        format_data_dir(data, tmp_path / "out", config, on_error="drop")
    assert "no utterance" in str(excinfo.value.code)
    assert (tmp_path / "out" / "dropped").read_text() == "u1\tmissing_audio\n"


def test_parallel_cli_matches_serial(tmp_path):
    wav_scp, text = {}, {}
    for i in range(12):
        utt = f"utt{i:02d}"
        samples = tone(0.05) if i == 3 else tone(0.5 + 0.1 * i)
        wav_scp[utt] = make_wav(tmp_path / f"{utt}.wav", samples)
        text[utt] = "..." if i == 7 else f"Sentence number {i}."
    data = write_data_dir(tmp_path, wav_scp, text)
    outputs = {}
    for nj in (1, 2):
        out = tmp_path / f"out_nj{nj}"
        main(["--fs", str(FS), "--nj", str(nj), "--max_duration", "20", str(data), str(out)])
        # the files (paths in wav.scp name their own out dir) and the trimmed audio
        outputs[nj] = {
            p.name: p.read_text().replace(out.name, "out") for p in sorted(out.iterdir()) if p.is_file()
        }
        outputs[nj].update({p.name: sf.read(p)[0].tobytes() for p in sorted((out / "data").iterdir())})
    assert outputs[1] == outputs[2]
    assert len([k for k in outputs[1] if k.endswith(".wav")]) == 10
    assert outputs[1]["dropped"] == "utt03\ttoo_short_to_align\nutt07\tno_pronounceable_token\n"
    assert len(outputs[1]["utt2num_samples"].splitlines()) == 10


def test_is_pronounceable():
    for token in ["h", "ə", "oʊ", "ɜː", "iː"]:
        assert is_pronounceable(token), token
    for token in ["<space>", ",", ".", "...", "!", "?", "ˈ", "ˌ", "ː", " ", ""]:
        assert not is_pronounceable(token), token


def test_tokenizer_is_espnets_phoneme_front_end(config):
    tokens = UtteranceValidator(config).tokenize("Hello, world.")
    assert "<space>" in tokens and "," in tokens and "ˈ" in tokens
    assert tokens[-1] == "."


# ------------------------------------------------------------------------------------------
# Transcript checks and silence trimming


def test_unusual_characters_are_named_with_their_utterances(tmp_path, config, caplog):
    wav = make_wav(tmp_path / "a.wav", tone(1.0))
    data = write_data_dir(
        tmp_path,
        wav_scp={"a_good": wav, "b_brace": wav, "c_brace": wav, "d_hash": wav},
        text={
            "a_good": "Café, “quoted” — fine.",
            "b_brace": "Hello } world.",
            "c_brace": "Say {this}.",
            "d_hash": "Press # now.",
        },
    )
    out = tmp_path / "out"
    dropped = format_data_dir(data, out, config, on_error="drop")
    assert dropped == {u: "unusual_characters" for u in ("b_brace", "c_brace", "d_hash")}
    assert list(read_kaldi_map(out / "text")) == ["a_good"]
    summary = [r.getMessage() for r in caplog.records if r.getMessage().startswith("unusual character")]
    assert any("'}' (U+007D RIGHT CURLY BRACKET)" in m and "b_brace, c_brace" in m for m in summary), summary
    assert any("'#'" in m and "d_hash" in m for m in summary), summary
    with pytest.raises(SystemExit, match=r"b_brace: .*'\{'|b_brace: .*'\}'"):
        format_data_dir(data, tmp_path / "out2", config, on_error="stop")
    # --extra_characters accepts them (espeak-ng then reads '#' as a word)
    relaxed = ValidationConfig(**{**config.__dict__, "extra_characters": "{}#"})
    assert format_data_dir(data, tmp_path / "out3", relaxed) == {}


def test_missing_sentence_final_punctuation_is_a_warning(tmp_path, config, caplog):
    wav = make_wav(tmp_path / "a.wav", tone(1.0))
    texts = {"u1": "press one for sales", "u2": "is this right", "u3": "Thank you.", "u4": "hello there"}
    data = write_data_dir(tmp_path, wav_scp={u: wav for u in texts}, text=texts)
    out = tmp_path / "out"
    assert format_data_dir(data, out, config) == {}  # nothing dropped
    warnings = (out / "warnings").read_text()
    assert "no_final_punctuation" in warnings and "3 of 4 transcripts" in warnings
    assert "sentence types (statement or question) cannot be told" in caplog.text
    punctuated = write_data_dir(tmp_path / "p", wav_scp={"u1": wav}, text={"u1": "Is this right?"})
    format_data_dir(punctuated, tmp_path / "out_p", config)
    assert (tmp_path / "out_p" / "warnings").read_text() == ""


def test_trimming_writes_trimmed_audio_a_report_and_warnings(tmp_path, synthetic_corpus, caplog):
    from prosody_plugin.data.silence import TrimConfig

    root, corpus = synthetic_corpus
    utts = ["spk1_001", "spk1_002", "spk1_003"]
    # spk1_003 gets 2 s of noise in its middle: after trimming most of it is silence
    noisy = tmp_path / "noisy.wav"
    wav, fs = sf.read(corpus["spk1_003"].wav, dtype="float32")
    cut = int(corpus["spk1_003"].speech_start * fs) + fs // 2
    sf.write(
        noisy, np.concatenate([wav[:cut], wav[:fs] * 0.5, wav[:fs] * 0.5, wav[cut:]]), fs, subtype="PCM_16"
    )
    wav_scp = {u: str(corpus[u].wav) for u in utts[:2]}
    wav_scp["spk1_003"] = str(noisy)
    data = write_data_dir(tmp_path, wav_scp=wav_scp, text={u: corpus[u].text for u in utts})
    config = ValidationConfig(
        fs=16000, max_duration=4.0, trim=TrimConfig(margin_ms=50), max_silence_share=0.4
    )
    out = tmp_path / "out"
    assert format_data_dir(data, out, config, nj=2) == {}  # 4-5 s recordings, under 4 s once trimmed
    trims = {u: list(map(float, v.split())) for u, v in read_kaldi_map(out / "trim").items()}
    for u in utts[:2]:
        start, end, duration = trims[u]
        assert (
            abs(start - (corpus[u].speech_start - 0.05)) < 0.03
            and abs(end - (corpus[u].speech_end + 0.05)) < 0.03
        )
        trimmed, rate = sf.read(read_kaldi_map(out / "wav.scp")[u])
        assert rate == 16000 and sf.info(read_kaldi_map(out / "wav.scp")[u]).subtype == "PCM_16"
        assert abs(len(trimmed) / rate - (end - start)) < 1e-3
        assert int(read_kaldi_map(out / "utt2num_samples")[u]) == len(trimmed)
        assert read_kaldi_map(out / "wav.orig.scp")[u] == str(corpus[u].wav)
    report = (out / "trim_report").read_text()
    assert "3 utterances" in report and "leading silence removed: median 0.9" in report
    warnings = (out / "warnings").read_text()
    assert warnings.startswith("spk1_003\tsilent_share\t") and "spk1_001" not in warnings
    assert "1 utterances of" in caplog.text and "more than 40% silence" in caplog.text
