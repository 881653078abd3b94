"""Tests of the corpus preparation: the generic layouts of the package and the recipes'
local scripts (LJSpeech on the mini subset, the Asterisk prompts)."""

import gzip
import importlib.util
import logging
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from prosody_plugin.data.kaldi_dir import KALDI_FILES, read_kaldi_map
from prosody_plugin.data.split import is_full_sentence, split_train_dev_eval

REPO_ROOT = Path(__file__).resolve().parents[1]


def recipe_script(recipe: str, name: str):
    """The module of ``egs2/<recipe>/prosody1/local/<name>.py``."""
    spec = importlib.util.spec_from_file_location(
        name, REPO_ROOT / "egs2" / recipe / "prosody1" / "local" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


prepare_ljspeech = recipe_script("ljspeech", "prepare_ljspeech").prepare_ljspeech
asterisk = recipe_script("asterisk", "prepare_asterisk")
name_to_utt_id, prepare_asterisk, read_transcripts = (
    asterisk.name_to_utt_id,
    asterisk.prepare_asterisk,
    asterisk.read_transcripts,
)
ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
ASTERISK_TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")


def check_data_dir(data_dir: Path, speaker: str) -> dict:
    for name in KALDI_FILES:
        assert (data_dir / name).is_file(), data_dir / name
    wav_scp = read_kaldi_map(data_dir / "wav.scp")
    text = read_kaldi_map(data_dir / "text")
    utt2spk = read_kaldi_map(data_dir / "utt2spk")
    assert list(wav_scp) == sorted(wav_scp) == list(text) == list(utt2spk)
    assert set(utt2spk.values()) == {speaker}
    assert read_kaldi_map(data_dir / "spk2utt") == {speaker: " ".join(wav_scp)}
    for path in wav_scp.values():
        assert os.path.isabs(path) and os.path.isfile(path), path
    assert all(t.strip() for t in text.values())
    return wav_scp


def test_prepare_ljspeech_mini(tmp_path, ljspeech_mini):
    splits = prepare_ljspeech(
        ljspeech_mini, tmp_path / "data", num_dev=4, num_eval=4, sets=("train", "dev", "eval")
    )
    assert {k: len(v) for k, v in splits.items()} == {"train": 24, "dev": 4, "eval": 4}
    assert splits["dev"] == [f"LJ001-{i:04d}" for i in range(25, 29)]
    assert splits["eval"] == [f"LJ001-{i:04d}" for i in range(29, 33)]
    for name in ("train", "dev", "eval"):
        wav_scp = check_data_dir(tmp_path / "data" / name, "LJ")
        assert list(wav_scp) == splits[name]
        assert sf.info(next(iter(wav_scp.values()))).samplerate == 22050
    # the normalized (3rd) column of metadata.csv
    metadata = {
        line.split("|")[0]: line.split("|")[2]
        for line in (ljspeech_mini / "metadata.csv").read_text(encoding="utf-8").splitlines()
    }
    text = read_kaldi_map(tmp_path / "data" / "train" / "text")
    assert text["LJ001-0001"] == " ".join(metadata["LJ001-0001"].split())


def test_mini_ljspeech_recipe_script(tmp_path, ljspeech_mini):
    recipe = REPO_ROOT / "egs2" / "mini_ljspeech" / "prosody1"
    result = subprocess.run(
        ["bash", "local/data.sh", "--db_root", str(ljspeech_mini), "--data_dir", str(tmp_path / "data")],
        cwd=recipe,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sizes = {n: len(read_kaldi_map(tmp_path / "data" / n / "text")) for n in ("train", "dev", "eval")}
    assert sizes == {"train": 24, "dev": 4, "eval": 4}


def test_read_transcripts_skips_comments_silence_and_tones(tmp_path):
    path = tmp_path / "sounds.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(
            "; Core sounds\n\nagent-pass: Please enter your password.  Thanks.\n"
            "beep: [this is a simple beep tone]\nsilence/1: 1 second of silence\n"
            "digits/0: zero\n"
        )
    assert read_transcripts(path) == {
        "agent-pass": "Please enter your password. Thanks.",
        "digits/0": "zero",
    }
    assert name_to_utt_id("digits/0") == "allison_digits_0"


def test_split_is_deterministic_and_prefers_sentences():
    texts = {f"allison_p{i:03d}": ("Please try again." if i % 3 else "zero") for i in range(60)}
    reference = split_train_dev_eval(texts, dev_size=5, eval_size=5)
    items = list(texts.items())
    for seed in range(3):  # insertion order must not matter
        random.Random(seed).shuffle(items)
        assert split_train_dev_eval(dict(items), dev_size=5, eval_size=5) == reference
    train, dev, eval_ = reference
    assert len(train) == 50 and len(dev) == 5 and len(eval_) == 5
    assert not set(dev) & set(eval_) and train == sorted(train)
    assert all(is_full_sentence(texts[u]) for u in dev + eval_)
    with pytest.raises(ValueError):
        split_train_dev_eval(texts, dev_size=30, eval_size=30)


# `make test` installs the Debian packages; only a bare `pytest` outside CI may lack them.
@pytest.mark.skipif(
    not (ASTERISK_SOUNDS.is_dir() and ASTERISK_TRANSCRIPTS.is_file()) and not os.environ.get("CI"),
    reason="Debian asterisk-core-sounds-en-g722 / asterisk-core-sounds-en not installed",
)
def test_prepare_asterisk_subset_is_16k_and_stable(tmp_path):
    kwargs = dict(
        sounds_dir=ASTERISK_SOUNDS,
        transcripts=ASTERISK_TRANSCRIPTS,
        wav_dir=tmp_path / "wavs",
        dev_size=2,
        eval_size=2,
        max_duration=15.0,
        limit=12,
    )
    first = prepare_asterisk(data_dir=tmp_path / "data1", **kwargs)
    assert sum(len(v) for v in first.values()) == 12  # none of the first 12 is over 15 s
    assert len(first["dev"]) == 2 and len(first["eval"]) == 2
    wavs = sorted((tmp_path / "wavs").glob("*.wav"))
    assert len(wavs) == 12
    for wav in wavs:
        info = sf.info(str(wav))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert info.frames > 0
    mtimes = {w: w.stat().st_mtime_ns for w in wavs}

    second = prepare_asterisk(data_dir=tmp_path / "data2", **kwargs)
    assert second == first
    assert {w: w.stat().st_mtime_ns for w in wavs} == mtimes  # not decoded again
    for split in ("train", "dev", "eval"):
        wav_scp = check_data_dir(tmp_path / "data1" / split, "allison")
        assert list(wav_scp) == first[split]
        for name in KALDI_FILES:
            assert (tmp_path / "data1" / split / name).read_text() == (
                tmp_path / "data2" / split / name
            ).read_text()
    train_text = read_kaldi_map(tmp_path / "data1" / "train" / "text")
    assert not set(first["dev"] + first["eval"]) & set(train_text)
    # the recipe's stage 1 (local/data.sh) writes the same data dirs
    result = subprocess.run(
        [
            "bash",
            "local/data.sh",
            "--limit",
            "12",
            "--dev_size",
            "2",
            "--eval_size",
            "2",
            "--wav_dir",
            str(tmp_path / "wavs"),
            "--data_dir",
            str(tmp_path / "data3"),
        ],
        cwd=REPO_ROOT / "egs2" / "asterisk" / "prosody1",
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for split in ("train", "dev", "eval"):
        for name in KALDI_FILES:
            assert (tmp_path / "data3" / split / name).read_bytes() == (
                tmp_path / "data1" / split / name
            ).read_bytes()


# ------------------------------------------------------------------------------------------
# prepare_corpus: the common layouts of a new corpus (docs/own_corpus.md)


def _tiny_wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, [0.0, 0.1, -0.1, 0.0] * 400, 16000)


SENTENCES = {f"a{i:04d}": f"This is sentence number {i}." for i in range(1, 13)}


def test_prepare_corpus_wav_txt_layout_with_subfolders_and_orphans(tmp_path, caplog):
    from prosody_plugin.data.prepare import prepare_corpus

    for i, (utt, text) in enumerate(SENTENCES.items()):
        sub = "part1" if i < 6 else "part2"
        _tiny_wav(tmp_path / "wav" / sub / f"{utt}.wav")
        (tmp_path / "txt" / sub).mkdir(parents=True, exist_ok=True)
        (tmp_path / "txt" / sub / f"{utt}.txt").write_text(f"  {text}\n  \n")
    _tiny_wav(tmp_path / "wav" / "part1" / "no_text.wav")
    (tmp_path / "txt" / "part2" / "no_audio.txt").write_text("Lost.")
    written = prepare_corpus(
        "wav_txt",
        tmp_path / "wav",
        tmp_path / "data",
        num_dev=2,
        num_eval=3,
        speaker="me",
        text_dir=tmp_path / "txt",
    )
    assert {k: len(v) for k, v in written.items()} == {"train": 7, "dev": 2, "eval": 3}
    train = check_data_dir(tmp_path / "data" / "train", "me")
    assert all(u.startswith(("part1_a", "part2_a")) for u in train)
    text = read_kaldi_map(tmp_path / "data" / "eval" / "text")
    assert all(t.startswith("This is sentence number") for t in text.values())
    assert (
        "1 recordings have no transcript" in caplog.text and "1 transcripts have no recording" in caplog.text
    )
    # deterministic: the same split again
    again = prepare_corpus(
        "wav_txt", tmp_path / "wav", tmp_path / "data2", 2, 3, "me", text_dir=tmp_path / "txt"
    )
    assert again == written


def test_the_generic_split_logs_under_its_own_module_and_names_no_corpus(tmp_path, caplog):
    from prosody_plugin.data.prepare import prepare_corpus

    for i in range(8):  # fragments only: no full sentence for the dev/eval slots
        _tiny_wav(tmp_path / "wav" / f"f{i}.wav")
        (tmp_path / "wav" / f"f{i}.txt").write_text(f"fragment {i}")
    with caplog.at_level(logging.WARNING):
        prepare_corpus("wav_txt", tmp_path / "wav", tmp_path / "data", num_dev=2, num_eval=2)
    [record] = [r for r in caplog.records if "full sentences" in r.getMessage()]
    assert record.name == "prosody_plugin.data.split"
    # the recipes' log format: "(module) LEVEL: message"
    line = logging.Formatter("(%(module)s) %(levelname)s: %(message)s").format(record)
    assert line == "(split) WARNING: Only 0 full sentences for 4 dev/eval slots; filling up with fragments"
    # the package has no corpus's own preparation: that is in the recipes' local/
    corpus_specific = ("asterisk", "ljspeech", "spoken_corpus", "synthetic_corpus")
    assert not [p for p in (REPO_ROOT / "prosody_plugin").rglob("*.py") if p.stem.endswith(corpus_specific)]


def test_prepare_corpus_ljspeech_festival_and_kaldi_layouts(tmp_path):
    from prosody_plugin.bin.prepare_corpus import main

    lj = tmp_path / "lj"
    (lj / "wavs").mkdir(parents=True)
    with open(lj / "metadata.csv", "w") as f:
        for utt, text in SENTENCES.items():
            _tiny_wav(lj / "wavs" / f"{utt}.wav")
            f.write(f"{utt}|raw {text}|{text}\n")
    festival = tmp_path / "arctic"
    (festival / "etc").mkdir(parents=True)
    with open(festival / "etc" / "txt.done.data", "w") as f:
        for utt, text in SENTENCES.items():
            _tiny_wav(festival / "wav" / f"{utt}.wav")
            f.write(f'( {utt} "{text}" )\n')
    for layout, root in (("ljspeech", lj), ("festival", festival)):
        main(
            ["--layout", layout, "--db_root", str(root), "--data_dir", str(tmp_path / layout)]
            + ["--num_dev", "2", "--num_eval", "2", "--speaker", "spk"]
        )
        text = {}
        for name in ("train", "dev", "eval"):
            text.update(read_kaldi_map(tmp_path / layout / name / "text"))
            check_data_dir(tmp_path / layout / name, "spk")
        assert text == SENTENCES, layout
    # a Kaldi data dir (one of the above) split again
    kaldi_dir = tmp_path / "ljspeech" / "train"
    main(
        [
            "--layout",
            "kaldi",
            "--db_root",
            str(kaldi_dir),
            "--data_dir",
            str(tmp_path / "k"),
            "--num_dev",
            "1",
            "--num_eval",
            "1",
        ]
    )
    assert len(read_kaldi_map(tmp_path / "k" / "train" / "text")) == 6
    with pytest.raises(SystemExit, match="prepare_corpus: no Festival prompt list"):
        main(["--layout", "festival", "--db_root", str(lj), "--data_dir", str(tmp_path / "x")])
    (festival / "etc" / "txt.done.data").write_text('( a0001 "fine" )\nnot a prompt line\n')
    with pytest.raises(SystemExit, match=r"txt.done.data:2: expected"):
        main(["--layout", "festival", "--db_root", str(festival), "--data_dir", str(tmp_path / "x")])
