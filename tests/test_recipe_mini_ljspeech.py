"""Integration: the CI recipe (egs2/mini_ljspeech/prosody1) end to end on real speech.

The recipe runs on a copy of egs2/ in a temporary dir (the repo stays clean), with the
package's own Python, through data preparation, validation, token list, aligner durations,
statistics, stage-one training of fastspeech2 / kathaka / camp, and decoding.
"""

import contextlib
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
    """Run the whole mini recipe once; return its directory.

    For development, PROSODY_PLUGIN_TEST_RECIPE_DIR may name a mini recipe dir that has
    already run (CI never sets it; the tests then check that run's artefacts).
    """
    if os.environ.get("PROSODY_PLUGIN_TEST_RECIPE_DIR"):
        return Path(os.environ["PROSODY_PLUGIN_TEST_RECIPE_DIR"])
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
    import yaml

    for system in SYSTEMS:
        config = yaml.safe_load((recipe / "exp" / f"tts_train_{system}_cpu" / "config.yaml").read_text())
        train_data = {tuple(entry) for entry in config["train_data_path_and_name_and_type"]}
        assert ("dump/durations/train/durations", "durations", "text_int") in train_data
        stats = "exp/tts_stats_raw_phn_espeak_ng_english_us_vits/train/collect_feats"
        assert (f"{stats}/pitch.scp", "pitch", "npy") in train_data
        assert (f"{stats}/energy.scp", "energy", "npy") in train_data


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


def test_decoding_with_a_parallel_wavegan_family_vocoder(recipe, tmp_path):
    """--vocoder_file: a HiFi-GAN generator checkpoint in ParallelWaveGAN's format.

    The generator is untrained (no trained vocoder can be downloaded here), but the path is
    the one a user's checkpoint takes: ESPnet's build_vocoder_from_file, parallel_wavegan's
    load_model, the config.yml beside the .pkl, and the vocoder's sampling rate for the wav.
    """
    import torch
    import yaml

    from prosody_plugin.vocoder_compat import enable_parallel_wavegan

    enable_parallel_wavegan()
    from parallel_wavegan.models import HiFiGANGenerator

    params = dict(in_channels=80, out_channels=1, channels=32, upsample_scales=[8, 8, 4],
                  upsample_kernel_sizes=[16, 16, 8], resblock_kernel_sizes=[3],
                  resblock_dilations=[[1, 3]])  # fmt: skip
    vocoder_dir = tmp_path / "hifigan"
    vocoder_dir.mkdir()
    torch.save({"model": {"generator": HiFiGANGenerator(**params).state_dict()}},
               vocoder_dir / "checkpoint-1steps.pkl")  # fmt: skip
    config = dict(format="npy", sampling_rate=22050, hop_size=256,
                  generator_type="HiFiGANGenerator", generator_params=params)  # fmt: skip
    (vocoder_dir / "config.yml").write_text(yaml.safe_dump(config))

    exp = recipe / "exp" / "tts_train_fastspeech2_cpu"
    out = tmp_path / "decode"
    subprocess.run(
        [sys.executable, "-m", "prosody_plugin.bin.tts_inference",
         "--model_file", str(exp / "valid.loss.ave.pth"), "--train_config", str(exp / "config.yaml"),
         "--data_path_and_name_and_type", f"{recipe}/dump/raw/eval/text,text,text",
         "--vocoder_file", str(vocoder_dir / "checkpoint-1steps.pkl"), "--output_dir", str(out)],
        cwd=recipe, env=recipe_env(), check=True, timeout=600,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    shapes = dict(line.split() for line in (out / "speech_shape" / "speech_shape").read_text().splitlines())
    for wav in sorted((out / "wav").glob("*.wav")):
        frames = int(shapes[wav.stem].split(",")[0])
        info = sf.info(wav)
        assert info.samplerate == 22050
        assert info.frames == frames * 256  # the generator upsamples each frame by hop_size
    assert len(list((out / "wav").glob("*.wav"))) == 4


def test_stage_two_features_targets_and_text_only_decodes(recipe):
    import numpy as np

    for dset in ("train", "dev", "eval"):
        context = recipe / "dump" / "context" / dset
        num_words = dict(line.split() for line in (context / "num_words").read_text().splitlines())
        bert = dict(line.split() for line in (context / "bert.scp").read_text().splitlines())
        assert set(num_words) == set(bert)
        utt = sorted(bert)[0]
        assert np.load(recipe / bert[utt]).shape == (int(num_words[utt]), 384)
        camp_targets = recipe / "dump" / "prosody_targets" / "tts_train_camp_cpu" / dset / "target.scp"
        target = dict(line.split() for line in camp_targets.read_text().splitlines())
        assert np.load(recipe / target[utt]).shape == (int(num_words[utt]), 8)  # words agree, D = 8
    for predictor in ("kathaka_sampler", "camp_predictor"):
        assert (recipe / "exp" / f"context_train_{predictor}_cpu" / "valid.loss.ave.pth").exists()
    for system in ("kathaka", "camp"):
        wav_dir = recipe / "exp" / f"tts_train_{system}_cpu" / "decode_valid.loss.ave" / "eval" / "predicted" / "wav"
        wavs = sorted(wav_dir.glob("*.wav"))
        assert len(wavs) == 4 and all(sf.info(w).samplerate == 22050 for w in wavs)


@pytest.fixture(scope="module")
def kathaka_tts(recipe):
    from prosody_plugin.inference import Text2SpeechProsody

    exp = recipe / "exp"
    # ESPnet's exp-dir configs name the statistics relative to the recipe dir (as users run them)
    with contextlib.chdir(recipe):
        return Text2SpeechProsody(
            exp / "tts_train_kathaka_cpu" / "config.yaml", exp / "tts_train_kathaka_cpu" / "valid.loss.ave.pth",
            exp / "context_train_kathaka_sampler_cpu" / "config.yaml",
            exp / "context_train_kathaka_sampler_cpu" / "valid.loss.ave.pth",
        )  # fmt: skip


def test_text2speech_prosody_speaks_arbitrary_text(kathaka_tts):
    import torch

    out = kathaka_tts("Printing, in the only sense with which we are at present concerned.")
    assert set(out) >= {"wav", "feat_gen", "duration", "prosody"}
    assert out["wav"].dim() == 1 and out["feat_gen"].shape[1] == 80 and out["prosody"].shape == (8,)
    assert kathaka_tts.fs == 22050
    # a seed reproduces the waveform (sampler and Griffin-Lim); renditions differ
    a, b = kathaka_tts("Thank you.", seed=5)["wav"], kathaka_tts("Thank you.", seed=5)["wav"]
    assert torch.equal(a, b)
    renditions = kathaka_tts("Thank you for calling.", num_samples=3, seed=1)
    assert len(renditions) == 3
    assert not torch.equal(renditions[0]["prosody"], renditions[1]["prosody"])
    mean = [kathaka_tts("Thank you.", temperature=0.0)["prosody"] for _ in range(2)]
    assert torch.equal(mean[0], mean[1])
    # prosody transfer from a recording
    reference = find_shared_dir(REPO) / "corpora" / "ljspeech_mini" / "wavs" / "LJ001-0001.wav"
    assert kathaka_tts("Thank you.", reference_wav=reference)["prosody"].shape == (8,)
    # long text is split into sentences and joined
    long_text = " ".join(f"This is sentence number {i} of a long text." for i in range(40))
    assert len(kathaka_tts(long_text)["prosody"]) == 40


@pytest.mark.parametrize("text", ["", "   ", "...", "?!", "🙂🙂"])
def test_text2speech_prosody_rejects_unspeakable_text(kathaka_tts, text):
    with pytest.raises(ValueError):
        kathaka_tts(text)


def test_camp_speaks_from_text_and_synthesize_cli(recipe, tmp_path):
    exp = recipe / "exp"
    out = tmp_path / "synth"
    proc = subprocess.run(
        [sys.executable, "-m", "prosody_plugin.bin.synthesize",
         "--train_config", str(exp / "tts_train_camp_cpu" / "config.yaml"),
         "--model_file", str(exp / "tts_train_camp_cpu" / "valid.loss.ave.pth"),
         "--context_train_config", str(exp / "context_train_camp_predictor_cpu" / "config.yaml"),
         "--context_model_file", str(exp / "context_train_camp_predictor_cpu" / "valid.loss.ave.pth"),
         "--output_dir", str(out), "Thank you for calling.", "...", "Goodbye."],
        cwd=recipe, env=recipe_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 1  # the punctuation-only line is reported, the others written
    assert "utt0002: skipped" in proc.stderr
    assert sorted(p.name for p in out.glob("*.wav")) == ["utt0001.wav", "utt0003.wav"]


# ------------------------------------------------------------------------------------------
# Model zoo: pack (stage 13 / prosody_plugin.bin.pack), unpack as ESPnet users do, synthesise.

PACKED_SYSTEMS = {"kathaka": "kathaka_sampler", "camp": "camp_predictor"}


@pytest.fixture(scope="module")
def packed(recipe, tmp_path_factory):
    """Both systems packed with the CLI from the recipe dir: {system: archive}."""
    out = tmp_path_factory.mktemp("packed")
    archives = {}
    for system, predictor in PACKED_SYSTEMS.items():
        archives[system] = out / f"tts_train_{system}_cpu.zip"
        subprocess.run(
            [sys.executable, "-m", "prosody_plugin.bin.pack", "--tts_exp", f"exp/tts_train_{system}_cpu",
             "--context_exp", f"exp/context_train_{predictor}_cpu", "--inference_model", "valid.loss.ave.pth",
             "--outpath", str(archives[system])],
            cwd=recipe, env=recipe_env(), check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    return archives


@pytest.mark.parametrize("system", sorted(PACKED_SYSTEMS))
def test_packed_model_synthesises_exactly_as_the_exp_dir(recipe, packed, system, tmp_path, monkeypatch):
    import torch
    from espnet_model_zoo.downloader import ModelDownloader

    from prosody_plugin.inference import Text2SpeechProsody

    text, seed = "Thank you for calling, goodbye.", 3
    exp = recipe / "exp"
    monkeypatch.chdir(recipe)  # the exp dir's configs name the statistics relative to the recipe
    original = Text2SpeechProsody(
        exp / f"tts_train_{system}_cpu" / "config.yaml", exp / f"tts_train_{system}_cpu" / "valid.loss.ave.pth",
        exp / f"context_train_{PACKED_SYSTEMS[system]}_cpu" / "config.yaml",
        exp / f"context_train_{PACKED_SYSTEMS[system]}_cpu" / "valid.loss.ave.pth",
    )  # fmt: skip
    expected = original(text, seed=seed)["wav"]
    del original
    monkeypatch.chdir(tmp_path)  # the unpacked models must not depend on the recipe dir

    # 1. Text2SpeechProsody.from_pretrained(<zip>): unpacked beside the archive
    tts = Text2SpeechProsody.from_pretrained(packed[system])
    assert (packed[system].parent / f"tts_train_{system}_cpu" / "meta.yaml").is_file()
    assert torch.equal(tts(text, seed=seed)["wav"], expected)
    del tts

    # 2. the espnet_model_zoo user path: ModelDownloader on the local zip
    with pytest.warns(UserWarning):
        paths = ModelDownloader(cachedir=tmp_path / "zoo").download_and_unpack(str(packed[system]))
    assert set(paths) == {"train_config", "model_file", "context_train_config", "context_model_file"}
    assert all(Path(p).is_relative_to(tmp_path / "zoo") for p in paths.values())
    assert torch.equal(Text2SpeechProsody(**paths)(text, seed=seed)["wav"], expected)

    # 3. the Hugging Face layout of stage 14, as espnet_model_zoo reads it after snapshot_download
    hf = tmp_path / "hf"
    shutil.copytree(recipe / "exp" / f"hf_tts_train_{system}_cpu", hf)
    paths = ModelDownloader._unpack_cache_dir_for_huggingfase(str(hf))
    assert torch.equal(Text2SpeechProsody(**paths)(text, seed=seed)["wav"], expected)


def test_recipe_stages_pack_and_prepare_model_repos(recipe):
    import yaml

    for system in PACKED_SYSTEMS:
        name = f"tts_train_{system}_cpu"
        assert (recipe / "exp" / "packed" / f"{name}.zip").is_file()
        hf = recipe / "exp" / f"hf_{name}"
        readme = (hf / "README.md").read_text()
        front = yaml.safe_load(readme.split("---")[1])
        assert {"espnet", "text-to-speech", "prosody", system} <= set(front["tags"])
        assert front["license"] == "other" and "public domain" in readme  # mini_ljspeech
        assert "Text2SpeechProsody.from_pretrained(" in readme
        meta = yaml.safe_load((hf / "meta.yaml").read_text())
        for group in ("files", "yaml_files"):
            for value in meta[group].values():
                assert (hf / value).is_file(), value
