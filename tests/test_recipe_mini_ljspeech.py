"""Integration: the CI recipe (egs2/mini_ljspeech/prosody1) end to end on real speech.

The recipe runs on a copy of egs2/ in a temporary dir (the repo stays clean), with the
package's own Python, through data preparation, validation, token list, aligner durations,
statistics, stage-one training of fastspeech2 / kathaka / camp, and decoding.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from conftest import find_shared_dir

REPO = Path(__file__).resolve().parents[1]
SYSTEMS = ("fastspeech2", "kathaka", "camp")


def recipe_env() -> dict:
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)  # path.sh: keep this env
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    """Run the whole mini recipe once; return its directory."""
    corpus = find_shared_dir(REPO) / "corpora" / "ljspeech_mini"
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(REPO / "egs2", root / "egs2", symlinks=True)
    recipe_dir = root / "egs2" / "mini_ljspeech" / "prosody1"
    log = recipe_dir / "run.log"
    with open(log, "w") as f:
        proc = subprocess.run(
            ["./run.sh", "--local_data_opts", f"--db_root {corpus}"],
            cwd=recipe_dir, env=recipe_env(), stdout=f, stderr=subprocess.STDOUT, timeout=1800,
        )  # fmt: skip
    if proc.returncode != 0:
        pytest.fail(f"run.sh failed ({proc.returncode}); end of {log}:\n" + log.read_text()[-4000:])
    return recipe_dir


def test_recipe_writes_checkpoints_for_every_system(recipe):
    exp = recipe / "exp"
    assert (exp / "aligner_phn_espeak_ng_english_us_vits" / "valid.loss.ave.pth").exists()
    for system in SYSTEMS:
        d = exp / f"tts_train_{system}_cpu"
        assert (d / "valid.loss.ave.pth").exists() and (d / "checkpoint.pth").exists()
        assert f"tts: {system}" in (d / "config.yaml").read_text()


def test_durations_pitch_and_energy_are_shared_by_all_systems(recipe):
    for system in SYSTEMS:
        config = (recipe / "exp" / f"tts_train_{system}_cpu" / "config.yaml").read_text()
        assert "dump/durations/train/durations,durations,text_int" in config
        assert "collect_feats/pitch.scp,pitch,npy" in config


def test_decoded_wavs_have_corpus_rate_and_plausible_lengths(recipe):
    eval_dir = recipe / "dump" / "raw" / "eval"
    references = dict(line.split(maxsplit=1) for line in (eval_dir / "wav.scp").read_text().splitlines())
    expected = {
        "fastspeech2": ["default"],
        "kathaka": ["default", "reference"],
        "camp": ["reference"],
    }
    for system, sources in expected.items():
        for source in sources:
            wav_dir = recipe / "exp" / f"tts_train_{system}_cpu" / "decode_valid.loss.ave" / "eval" / source / "wav"
            wavs = sorted(wav_dir.glob("*.wav"))
            assert [w.stem for w in wavs] == sorted(references), (system, source)
            for wav in wavs:
                info = sf.info(wav)
                ref = sf.info(references[wav.stem])
                assert info.samplerate == 22050 == ref.samplerate
                # two epochs on 24 utterances: lengths are those of an untrained duration
                # predictor, but they must be speech-like, not empty or runaway
                assert 0.1 * ref.duration < info.duration < 10 * ref.duration, (wav, info.duration)
                audio, _ = sf.read(wav)
                assert abs(audio).max() > 1e-3


def test_interrupted_training_resumes_and_finishes(recipe):
    """Kill a stage-one training after its first epoch; the same command finishes it."""
    cmd = [
        "./prosody.sh", "--stage", "6", "--stop_stage", "6",
        "--train_set", "train", "--valid_set", "dev", "--test_sets", "eval", "--fs", "22050",
        "--train_configs", "conf/train_kathaka_cpu.yaml", "--tag_suffix", "_resume",
        "--train_args", "--max_epoch 3 --batch_size 8",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=recipe, env=recipe_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    exp = recipe / "exp" / "tts_train_kathaka_cpu_resume"
    deadline = time.time() + 600
    while not (exp / "1epoch.pth").exists():
        assert proc.poll() is None, "training ended before it could be interrupted"
        assert time.time() < deadline
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # an interruption, not a clean stop
    proc.wait()
    assert not (exp / "3epoch.pth").exists()
    subprocess.run(cmd, cwd=recipe, env=recipe_env(), check=True, timeout=900,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    log = (exp / "train.log").read_text()
    assert "resumed" in log.lower()
    assert (exp / "3epoch.pth").exists()
    assert "3epoch results" in log
