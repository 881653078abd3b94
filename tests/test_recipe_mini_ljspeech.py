"""Integration: the CI recipe (egs2/mini_ljspeech/prosody1) end to end on real speech.

The recipe runs on a copy of egs2/ in a temporary dir (the repo stays clean), with the
package's own Python, through data preparation, validation, token list, aligner durations,
statistics, stage-one training of fastspeech2 / kathaka / camp, and decoding, stage two,
scoring, listening material (samples page, MUSHRA test), packing and model repos.
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf
import yaml

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
def recipe(tmp_path_factory, ljspeech_mini):
    """Run the whole mini recipe once on ljspeech_mini (conftest.py: the real corpus, or its
    spoken stand-in outside CI); return its directory.

    For development, PROSODY_PLUGIN_TEST_RECIPE_DIR may name a mini recipe dir that has
    already run (CI never sets it; the tests then check that run's artefacts).
    """
    if os.environ.get("PROSODY_PLUGIN_TEST_RECIPE_DIR"):
        return Path(os.environ["PROSODY_PLUGIN_TEST_RECIPE_DIR"])
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(REPO / "egs2", root / "egs2", symlinks=True)
    recipe_dir = root / "egs2" / "mini_ljspeech" / "prosody1"
    log = recipe_dir / "run.log"
    with open(log, "w") as f:
        proc = subprocess.run(
            ["./run.sh", "--local_data_opts", f"--db_root {ljspeech_mini}"],
            cwd=recipe_dir,
            env=recipe_env(),
            stdout=f,
            stderr=subprocess.STDOUT,
            timeout=3600,  # about 10 min on a quiet 2-core machine; much more when shared
        )
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
            wav_dir = (
                recipe / "exp" / f"tts_train_{system}_cpu" / "decode_valid.loss.ave" / "eval" / source / "wav"
            )
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


def frames_per_utt(path: Path) -> dict:
    """``<key> <frames of each token>`` lines -> total frames per utterance."""
    return {line.split()[0]: sum(map(int, line.split()[1:])) for line in path.read_text().splitlines()}


def test_speed_calibration_on_dev_reaches_every_decode(recipe):
    """Stage 7 decodes dev without vocoder, writes each model's speed_control_alpha, and
    every eval decode (stages 7 and 11) is made at it: its durations are the frames of its
    features, and the dev totals the alpha came from give that alpha back."""
    recorded_dev = frames_per_utt(recipe / "dump" / "durations" / "dev" / "durations")
    for system in SYSTEMS:
        decodes = recipe / "exp" / f"tts_train_{system}_cpu" / "decode_valid.loss.ave"
        alpha = yaml.safe_load((decodes / "speed_calibration.yaml").read_text())["speed_control_alpha"]
        dev_decode = decodes / "speed_calibration_dev"
        assert not (dev_decode / "wav").exists(), "the calibration decodes durations only"
        decoded_dev = frames_per_utt(dev_decode / "durations" / "durations")
        assert sorted(decoded_dev) == sorted(recorded_dev)
        expected = sum(recorded_dev.values()) / sum(decoded_dev.values())
        assert alpha == pytest.approx(expected, abs=1e-4), system
        for source_dir in (decodes / "eval").iterdir():
            log = next((source_dir / "log").glob("tts_inference.1.log")).read_text()
            assert f"--speed_control_alpha {alpha}" in log, (system, source_dir.name)
            durations = frames_per_utt(source_dir / "durations" / "durations")
            shapes = dict(
                line.split()
                for line in (source_dir / "speech_shape" / "speech_shape").read_text().splitlines()
            )
            assert durations == {key: int(shape.split(",")[0]) for key, shape in shapes.items()}, (
                system,
                source_dir.name,
            )


def test_interrupted_training_resumes_and_finishes(recipe):
    """Kill a stage-one training after its first epoch; the same command finishes it."""
    cmd = [
        "./prosody.sh",
        "--stage",
        "6",
        "--stop_stage",
        "6",
        "--train_set",
        "train",
        "--valid_set",
        "dev",
        "--test_sets",
        "eval",
        "--fs",
        "22050",
        "--train_configs",
        "conf/train_kathaka_cpu.yaml",
        "--tag_suffix",
        "_resume",
        "--train_args",
        "--max_epoch 3 --batch_size 8",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=recipe,
        env=recipe_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    exp = recipe / "exp" / "tts_train_kathaka_cpu_resume"
    deadline = time.time() + 600
    # ESPnet logs the second epoch's start once the first epoch's checkpoint files are written;
    # waiting for 1epoch.pth alone can kill the trainer in the middle of writing it.
    log_file = exp / "train.log"
    while not (log_file.exists() and "2/3epoch started" in log_file.read_text()):
        assert proc.poll() is None, "training ended before it could be interrupted"
        assert time.time() < deadline
        time.sleep(0.5)
    assert (exp / "1epoch.pth").exists()
    os.killpg(proc.pid, signal.SIGKILL)  # an interruption, not a clean stop
    proc.wait()
    assert not (exp / "3epoch.pth").exists()
    subprocess.run(
        cmd,
        cwd=recipe,
        env=recipe_env(),
        check=True,
        timeout=900,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = (exp / "train.log").read_text()
    assert "resumed" in log.lower()
    assert (exp / "3epoch.pth").exists()
    assert "3epoch results" in log


def test_a_failed_training_side_by_side_stops_the_stage(recipe, tmp_path):
    """--train_jobs 2: one training fails at once; the stage exits non-zero, naming its log,
    and stops the other training instead of waiting for it."""
    bad = tmp_path / "train_broken_cpu.yaml"
    bad.write_text("tts: no_such_model\n")
    cmd = [
        "./prosody.sh",
        "--stage",
        "6",
        "--stop_stage",
        "6",
        "--train_jobs",
        "2",
        "--train_set",
        "train",
        "--valid_set",
        "dev",
        "--test_sets",
        "eval",
        "--fs",
        "22050",
        "--train_configs",
        f"conf/train_kathaka_cpu.yaml {bad}",
        "--tag_suffix",
        "_side_by_side",
        "--train_args",
        "--max_epoch 50 --batch_size 8",
    ]
    proc = subprocess.run(cmd, cwd=recipe, env=recipe_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert "tts_train_broken_cpu_side_by_side/train.log" in proc.stderr + proc.stdout
    log = (recipe / "exp" / "tts_train_kathaka_cpu_side_by_side" / "train.log").read_text()
    assert "50epoch results" not in log
    time.sleep(1)  # the stopped training is gone, not left running
    running = subprocess.run(["pgrep", "-f", "tts_train_kathaka_cpu_side_by_side"], capture_output=True)
    assert running.returncode == 1, running.stdout


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

    params = dict(
        in_channels=80,
        out_channels=1,
        channels=32,
        upsample_scales=[8, 8, 4],
        upsample_kernel_sizes=[16, 16, 8],
        resblock_kernel_sizes=[3],
        resblock_dilations=[[1, 3]],
    )
    vocoder_dir = tmp_path / "hifigan"
    vocoder_dir.mkdir()
    torch.save(
        {"model": {"generator": HiFiGANGenerator(**params).state_dict()}},
        vocoder_dir / "checkpoint-1steps.pkl",
    )
    config = dict(
        format="npy",
        sampling_rate=22050,
        hop_size=256,
        generator_type="HiFiGANGenerator",
        generator_params=params,
    )
    (vocoder_dir / "config.yml").write_text(yaml.safe_dump(config))

    exp = recipe / "exp" / "tts_train_fastspeech2_cpu"
    out = tmp_path / "decode"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "prosody_plugin.bin.tts_inference",
            "--model_file",
            str(exp / "valid.loss.ave.pth"),
            "--train_config",
            str(exp / "config.yaml"),
            "--data_path_and_name_and_type",
            f"{recipe}/dump/raw/eval/text,text,text",
            "--vocoder_file",
            str(vocoder_dir / "checkpoint-1steps.pkl"),
            "--output_dir",
            str(out),
        ],
        cwd=recipe,
        env=recipe_env(),
        check=True,
        timeout=600,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
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
        wav_dir = (
            recipe
            / "exp"
            / f"tts_train_{system}_cpu"
            / "decode_valid.loss.ave"
            / "eval"
            / "predicted"
            / "wav"
        )
        wavs = sorted(wav_dir.glob("*.wav"))
        assert len(wavs) == 4 and all(sf.info(w).samplerate == 22050 for w in wavs)


@pytest.fixture(scope="module")
def kathaka_tts(recipe):
    from prosody_plugin.inference import Text2SpeechProsody

    exp = recipe / "exp"
    # ESPnet's exp-dir configs name the statistics relative to the recipe dir (as users run them)
    with contextlib.chdir(recipe):
        return Text2SpeechProsody(
            exp / "tts_train_kathaka_cpu" / "config.yaml",
            exp / "tts_train_kathaka_cpu" / "valid.loss.ave.pth",
            exp / "context_train_kathaka_sampler_cpu" / "config.yaml",
            exp / "context_train_kathaka_sampler_cpu" / "valid.loss.ave.pth",
        )


def test_text2speech_prosody_speaks_arbitrary_text(kathaka_tts, ljspeech_mini):
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
    reference = ljspeech_mini / "wavs" / "LJ001-0001.wav"
    assert kathaka_tts("Thank you.", reference_wav=reference)["prosody"].shape == (8,)
    # long text is split into sentences and joined
    long_text = " ".join(f"This is sentence number {i} of a long text." for i in range(40))
    assert len(kathaka_tts(long_text)["prosody"]) == 40


@pytest.mark.parametrize("text", ["", "   ", "...", "?!", "🙂🙂"])
def test_text2speech_prosody_rejects_unspeakable_text(kathaka_tts, text):
    with pytest.raises(ValueError):
        kathaka_tts(text)


def test_markup_is_never_spoken_and_declarations_are_refused_before_synthesis(kathaka_tts):
    import torch
    from test_ssml import BILLION_LAUGHS

    # a comment or an XML declaration before <speak>: the SSML is spoken, exactly as its text
    plain = kathaka_tts("Thank you for calling.", seed=2)["wav"]
    for document in (
        "<!-- greeting -->\n<speak>Thank you for calling.</speak>",
        '<?xml version="1.0"?><speak>Thank you for calling.</speak>',
    ):
        assert torch.equal(kathaka_tts(document, seed=2)["wav"], plain)
    # a DOCTYPE: refused at once, naming its position; the other texts are synthesised
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"^SSML line 2, column 0: <!DOCTYPE"):
        kathaka_tts(BILLION_LAUGHS)
    assert time.perf_counter() - start < 1.0
    refused, spoken = kathaka_tts([BILLION_LAUGHS, "Thank you for calling."], seed=2, errors="return")
    assert isinstance(refused, ValueError) and str(refused).startswith(
        "item 0: SSML line 2, column 0: <!DOCTYPE"
    )
    assert torch.equal(spoken["wav"], plain)


def system_tts(recipe, system, **kwargs):
    """Text2SpeechProsody of a trained mini-recipe system (stage two for Kathaka and CAMP)."""
    from prosody_plugin.inference import Text2SpeechProsody

    exp = recipe / "exp"
    context = {}
    if system != "fastspeech2":
        predictor = dict(kathaka="kathaka_sampler", camp="camp_predictor")[system]
        context = dict(
            context_train_config=exp / f"context_train_{predictor}_cpu" / "config.yaml",
            context_model_file=exp / f"context_train_{predictor}_cpu" / "valid.loss.ave.pth",
        )
    with contextlib.chdir(recipe):
        return Text2SpeechProsody(
            exp / f"tts_train_{system}_cpu" / "config.yaml",
            exp / f"tts_train_{system}_cpu" / "valid.loss.ave.pth",
            **context,
            **kwargs,
        )


def word_phones(utterance, word):
    """Token positions of a word's phones (no boundary, no punctuation)."""
    from prosody_plugin.text.word_boundaries import is_boundary_token, is_punctuation_token

    return [
        t
        for t, (tok, w) in enumerate(zip(utterance.tokens, utterance.token_word_ids))
        if w == word and not is_boundary_token(tok) and not is_punctuation_token(tok)
    ]


def test_a_warm_up_at_load_changes_no_result(recipe):
    """The warm-up synthesises at load; what the caller's random state draws next is the same."""
    import random

    import numpy as np
    import torch

    outputs = []
    for warmup in (False, True):
        tts = system_tts(recipe, "kathaka", warmup=warmup)
        torch.manual_seed(7), np.random.seed(7), random.seed(7)
        outputs.append(tts("Thank you for calling."))  # sampled, Griffin-Lim's random phases
    assert torch.equal(outputs[0]["prosody"], outputs[1]["prosody"])
    assert torch.equal(outputs[0]["wav"], outputs[1]["wav"])


BATCH_TEXTS = [
    "Thank you.",
    "Printing, in the only sense with which we are at present concerned, differs from most arts.",
    "Is it here? Yes, it is here.",  # two sentences: two items of the batch
    "Goodbye!",
]


@pytest.mark.parametrize("system", ["fastspeech2", "kathaka", "camp"])
def test_a_batch_gives_each_text_what_it_gives_alone(recipe, system):
    """The public batched API: mixed lengths, every system, same mel and durations as alone."""
    import torch

    tts = system_tts(recipe, system, use_vocoder=False)
    together = tts(BATCH_TEXTS, temperature=0.0, batch_size=3)  # batches cut across texts
    assert len(together) == len(BATCH_TEXTS)
    for text, batched in zip(BATCH_TEXTS, together):
        alone = tts(text, temperature=0.0)
        assert torch.equal(batched["duration"], alone["duration"]), text
        torch.testing.assert_close(batched["feat_gen"], alone["feat_gen"], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(batched["pitch"], alone["pitch"], atol=1e-4, rtol=1e-4)
    # a bad item is named and, with errors="return", the good ones are kept
    mixed = tts(["Thank you.", "?!", "Goodbye!"], temperature=0.0, errors="return")
    assert isinstance(mixed[1], ValueError) and str(mixed[1]).startswith("item 1: ")
    assert torch.equal(mixed[0]["duration"], together[0]["duration"])
    assert torch.equal(mixed[2]["duration"], together[3]["duration"])
    with pytest.raises(ValueError, match="item 1: "):
        tts(["Thank you.", "?!"])
    # renditions are items of the batch too
    renditions = tts(["Thank you.", "Goodbye!"], num_samples=2, seed=3)
    assert [len(r) for r in renditions] == [2, 2]
    if system == "kathaka":  # sampled latents differ between renditions
        assert not torch.equal(renditions[0][0]["prosody"], renditions[0][1]["prosody"])


CONTROL_TEXT = "Printing differs from most arts and crafts."


@pytest.mark.parametrize("system", ["fastspeech2", "kathaka", "camp"])
def test_global_word_and_ssml_controls_reach_every_system(recipe, system):
    """Known answers on what the decoder gets (the predictions after the controls), per system."""
    import math

    import torch

    tts = system_tts(recipe, system)
    plain = tts(CONTROL_TEXT, temperature=0.0)
    octave = tts(CONTROL_TEXT, temperature=0.0, pitch_semitones=12.0)
    torch.testing.assert_close(
        octave["pitch"] - plain["pitch"], torch.full_like(plain["pitch"], math.log(2.0))
    )
    louder = tts(CONTROL_TEXT, temperature=0.0, energy_db=20.0)
    torch.testing.assert_close(louder["energy"], 10.0 * plain["energy"], rtol=1e-4, atol=1e-3)  # +20 dB: x10
    slow = tts(CONTROL_TEXT, temperature=0.0, rate=0.5)
    assert torch.equal(slow["duration"], plain["duration"] * 2)
    assert len(slow["wav"]) == pytest.approx(2 * len(plain["wav"]), rel=0.01)
    # one word: only its phones change
    utterance = tts.frontend.analyze(CONTROL_TEXT)
    assert tts.words(CONTROL_TEXT)[1] == "differs"
    word = tts(CONTROL_TEXT, temperature=0.0, word_controls={1: {"pitch_semitones": 12.0, "rate": 0.5}})
    phones = word_phones(utterance, 1)
    changed = (word["pitch"] - plain["pitch"]).abs() > 1e-5
    assert changed.nonzero().view(-1).tolist() == phones
    assert torch.equal(word["duration"][phones], plain["duration"][phones] * 2)
    # SSML: the same word by markup, and a break of 0.5 s after it
    ssml = tts(
        '<speak>Printing <prosody pitch="+12st" rate="50%">differs</prosody><break time="500ms"/> from most '
        "arts and crafts.</speak>",
        temperature=0.0,
    )
    torch.testing.assert_close(ssml["pitch"], word["pitch"])
    hop = tts.model.feats_extract.hop_length
    break_frames = round(0.5 * tts.fs / hop)
    assert int(ssml["duration"].sum()) == int(word["duration"].sum()) + break_frames
    assert len(ssml["wav"]) == pytest.approx(len(word["wav"]) + break_frames * hop, abs=hop)
    with pytest.raises(ValueError, match="unsupported tag <audio>"):
        tts('<speak>Hello <audio src="x.wav"/></speak>')
    with pytest.raises(ValueError, match="word 99 is not one of the text's 7 words"):
        tts(CONTROL_TEXT, word_controls={99: {"rate": 2.0}})


@pytest.mark.parametrize("system", ["fastspeech2", "kathaka", "camp"])
def test_emphasis_raises_the_predicted_prominence_of_the_chosen_word(recipe, system):
    """CAMP moves the word along stage 9's learnt direction; the others use the variance fallback.

    The fallback raises the word's predicted F0 range by construction. CAMP's direction is
    fitted to raise the sum of the word's predicted F0 range, log duration and energy, each
    over its spread across words (control/emphasis.py), not each part: its levels must order
    that sum (measured here with the spreads over this sentence's words)."""
    import numpy as np
    import torch

    tts = system_tts(recipe, system, use_vocoder=False)
    if system == "camp":
        assert tts.emphasis is not None and tts.emphasis.num_words > 0  # stage 9's emphasis.npz
    utterance = tts.frontend.analyze(CONTROL_TEXT)
    plain = tts(CONTROL_TEXT, temperature=0.0)
    words = [w for w in range(utterance.num_words) if len(word_phones(utterance, w)) >= 2]

    def parts(out, w):  # F0 range, mean log duration, mean energy of the word's phones
        phones = word_phones(utterance, w)
        pitch, durations = out["pitch"][phones], out["duration"][phones].float().clamp(min=1)
        return np.array(
            [
                float(pitch.max() - pitch.min()),
                float(durations.log().mean()),
                float(out["energy"][phones].mean()),
            ]
        )

    spread = np.array([parts(plain, w) for w in words]).std(axis=0)
    changes = {level: [] for level in ("reduced", "strong")}
    for level in changes:
        for w in words:
            out = tts(CONTROL_TEXT, temperature=0.0, emphasis={w: level})
            change = parts(out, w) - parts(plain, w)
            changes[level].append(float((change / spread).sum()) if system == "camp" else change[0])
            if system == "camp":  # only that word's embedding moved
                moved = (out["prosody"] - plain["prosody"]).norm(dim=1)
                assert torch.count_nonzero(moved) == 1 and moved[w] > 0
    assert np.mean(changes["strong"]) > np.mean(changes["reduced"])
    if system != "camp":
        assert np.mean(changes["strong"]) > 0


@pytest.mark.parametrize("system", ["kathaka", "camp"])
def test_controls_compose_with_renditions_temperature_batches_and_references(recipe, system, ljspeech_mini):
    """Each rendition of a batch of texts keeps its own prosody and gets exactly the asked edits."""
    import math

    import torch

    tts = system_tts(recipe, system, use_vocoder=False)
    texts = [CONTROL_TEXT, BATCH_TEXTS[1]]
    run = dict(num_samples=2, seed=7, temperature=0.7, batch_size=3)
    plain = tts(texts, **run)
    emphasised = tts(texts, **run, emphasis=[{1: "strong"}, None])
    edited = tts(texts, **run, emphasis=[{1: "strong"}, None], pitch_semitones=12.0)
    phones = word_phones(tts.frontend.analyze(CONTROL_TEXT), 1)
    for k in range(len(texts)):
        for before, stressed, after in zip(plain[k], emphasised[k], edited[k]):
            # the octave on every token, on top of the emphasis; the rendition's own prosody kept
            torch.testing.assert_close(
                after["pitch"] - stressed["pitch"], torch.full_like(stressed["pitch"], math.log(2.0))
            )
            assert torch.equal(after["prosody"], stressed["prosody"])
            if (
                system == "kathaka"
            ):  # the same sampled latent; emphasis by the variance fallback on the word's phones
                assert torch.equal(stressed["prosody"], before["prosody"])
                changed = ((stressed["pitch"] - before["pitch"]).abs() > 1e-5).nonzero().view(-1).tolist()
                assert changed == (phones if k == 0 else [])
            else:  # only the emphasised word of the first text moved in the embedding space
                moved = (stressed["prosody"] - before["prosody"]).norm(dim=1)
                assert moved.nonzero().view(-1).tolist() == ([1] if k == 0 else [])
        if system == "kathaka":  # renditions still differ from each other
            assert not torch.equal(edited[k][0]["prosody"], edited[k][1]["prosody"])
    if system == "kathaka":  # a reference recording's prosody, with the controls on top
        reference = ljspeech_mini / "wavs" / "LJ001-0001.wav"
        base = tts(CONTROL_TEXT, reference_wav=reference)
        up = tts(CONTROL_TEXT, reference_wav=reference, pitch_semitones=12.0, rate=0.5)
        assert torch.equal(up["prosody"], base["prosody"])
        torch.testing.assert_close(up["pitch"] - base["pitch"], torch.full_like(base["pitch"], math.log(2.0)))
        assert torch.equal(up["duration"], base["duration"] * 2)


def test_camp_per_word_editing_replaces_and_interpolates_a_words_embedding(recipe):
    import torch

    tts = system_tts(recipe, "camp", use_vocoder=False)
    plain = tts(CONTROL_TEXT)
    other = tts(CONTROL_TEXT, emphasis={2: "strong"})  # another rendition of word 2
    edited = tts(CONTROL_TEXT, word_prosody={2: other["prosody"][2]})
    assert torch.equal(edited["prosody"], other["prosody"]) and torch.equal(
        edited["duration"], other["duration"]
    )
    torch.testing.assert_close(edited["feat_gen"], other["feat_gen"])
    halfway = tts(CONTROL_TEXT, word_prosody={2: 0.5 * plain["prosody"][2] + 0.5 * other["prosody"][2]})
    torch.testing.assert_close(halfway["prosody"][2], 0.5 * (plain["prosody"][2] + other["prosody"][2]))
    assert torch.equal(halfway["prosody"][[0, 1, 3]], plain["prosody"][[0, 1, 3]])
    with pytest.raises(ValueError, match="word_prosody: word 2: a 8-dim embedding expected, got 3"):
        tts(CONTROL_TEXT, word_prosody={2: torch.zeros(3)})
    with pytest.raises(ValueError, match="kathaka has no per-word representation to edit"):
        system_tts(recipe, "kathaka", use_vocoder=False)(CONTROL_TEXT, word_prosody={0: torch.zeros(8)})


def test_camp_speaks_from_text_and_synthesize_cli(recipe, tmp_path):
    exp = recipe / "exp"
    out = tmp_path / "synth"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "prosody_plugin.bin.synthesize",
            "--train_config",
            str(exp / "tts_train_camp_cpu" / "config.yaml"),
            "--model_file",
            str(exp / "tts_train_camp_cpu" / "valid.loss.ave.pth"),
            "--context_train_config",
            str(exp / "context_train_camp_predictor_cpu" / "config.yaml"),
            "--context_model_file",
            str(exp / "context_train_camp_predictor_cpu" / "valid.loss.ave.pth"),
            "--output_dir",
            str(out),
            "--rate",
            "0.8",
            "--pitch_semitones",
            "1",
            "Thank you for calling.",
            "...",
            "Goodbye.",
            '<speak>Thank <emphasis level="strong">you</emphasis><break time="400ms"/> for calling.</speak>',
        ],
        cwd=recipe,
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1  # the punctuation-only line is reported, the others written
    assert "utt0002: skipped" in proc.stderr
    assert sorted(p.name for p in out.glob("*.wav")) == ["utt0001.wav", "utt0003.wav", "utt0004.wav"]
    plain, marked = (sf.info(out / f"utt000{i}.wav") for i in (1, 4))
    assert marked.frames > plain.frames + 0.3 * plain.samplerate  # the SSML's 400 ms break


# ------------------------------------------------------------------------------------------
# Model zoo: pack (stage 15 / prosody_plugin.bin.pack), unpack as ESPnet users do, synthesise.

PACKED_SYSTEMS = {"kathaka": "kathaka_sampler", "camp": "camp_predictor"}


@pytest.fixture(scope="module")
def packed(recipe, tmp_path_factory):
    """Both systems packed with the CLI from the recipe dir: {system: archive}."""
    out = tmp_path_factory.mktemp("packed")
    archives = {}
    for system, predictor in PACKED_SYSTEMS.items():
        archives[system] = out / f"tts_train_{system}_cpu.zip"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "prosody_plugin.bin.pack",
                "--tts_exp",
                f"exp/tts_train_{system}_cpu",
                "--context_exp",
                f"exp/context_train_{predictor}_cpu",
                "--inference_model",
                "valid.loss.ave.pth",
                "--speed_calibration",
                f"exp/tts_train_{system}_cpu/decode_valid.loss.ave/speed_calibration.yaml",
                "--outpath",
                str(archives[system]),
            ],
            cwd=recipe,
            env=recipe_env(),
            check=True,
            capture_output=True,
            timeout=300,
        )
    return archives


@pytest.mark.parametrize("system", sorted(PACKED_SYSTEMS))
def test_packed_model_synthesises_exactly_as_the_exp_dir(recipe, packed, system, tmp_path, monkeypatch):
    import torch
    from espnet_model_zoo.downloader import ModelDownloader

    from prosody_plugin.inference import Text2SpeechProsody
    from prosody_plugin.systems import system_class

    text, seed = "Thank you for calling, goodbye.", 3
    exp = recipe / "exp"
    monkeypatch.chdir(recipe)  # the exp dir's configs name the statistics relative to the recipe
    calibration = exp / f"tts_train_{system}_cpu" / "decode_valid.loss.ave" / "speed_calibration.yaml"
    original = Text2SpeechProsody(
        exp / f"tts_train_{system}_cpu" / "config.yaml",
        exp / f"tts_train_{system}_cpu" / "valid.loss.ave.pth",
        exp / f"context_train_{PACKED_SYSTEMS[system]}_cpu" / "config.yaml",
        exp / f"context_train_{PACKED_SYSTEMS[system]}_cpu" / "valid.loss.ave.pth",
        speed_calibration_file=calibration,
    )
    # the calibrated speed of stage 7 (its decodes' alpha) is the model's
    assert (
        original.text2speech.decode_conf["alpha"]
        == yaml.safe_load(calibration.read_text())["speed_control_alpha"]
    )
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
    per_word = system_class(system).per_word  # CAMP's archive carries its emphasis direction (stage 9)
    assert set(paths) == {
        "train_config",
        "model_file",
        "context_train_config",
        "context_model_file",
        "speed_calibration_file",
    } | ({"emphasis_file"} if per_word else set())
    assert all(Path(p).is_relative_to(tmp_path / "zoo") for p in paths.values())
    assert torch.equal(Text2SpeechProsody(**paths)(text, seed=seed)["wav"], expected)

    # 3. the Hugging Face layout of stage 16, as espnet_model_zoo reads it after snapshot_download
    hf = tmp_path / "hf"
    shutil.copytree(recipe / "exp" / f"hf_tts_train_{system}_cpu", hf)
    paths = ModelDownloader._unpack_cache_dir_for_huggingfase(str(hf))
    assert torch.equal(Text2SpeechProsody(**paths)(text, seed=seed)["wav"], expected)


def test_synthesize_cli_from_a_packed_zip(packed, tmp_path):
    """A user with only the archive: --model_tag; markup is SSML or refused, never spoken."""
    from test_ssml import BILLION_LAUGHS

    archive = tmp_path / "downloads" / packed["camp"].name  # fresh: nothing unpacked beside it yet
    archive.parent.mkdir()
    shutil.copy(packed["camp"], archive)
    out = tmp_path / "synth"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "prosody_plugin.bin.synthesize",
            "--model_tag",
            str(archive),
            "--output_dir",
            str(out),
            "--seed",
            "1",
            "Thank you for calling.",
            '<!-- greeting --><speak>Thank <emphasis level="strong">you</emphasis><break time="400ms"/> for '
            "calling.</speak>",
            '<?xml version="1.0"?>\n<speak>Thank you for calling.</speak>',
            BILLION_LAUGHS,
            '<!DOCTYPE speak [<!ENTITY s SYSTEM "file:///etc/hostname">]><speak>&s;</speak>',
            "Tom & Jerry <3 calling.",
        ],
        cwd=tmp_path,
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stderr[-3000:]  # the two DOCTYPEs are reported, the others written
    assert "utt0004: skipped: SSML line 2, column 0: <!DOCTYPE" in proc.stderr
    assert "utt0005: skipped: SSML line 1, column 0: <!DOCTYPE" in proc.stderr
    assert sorted(p.name for p in out.glob("*.wav")) == [f"utt000{i}.wav" for i in (1, 2, 3, 6)]
    plain, marked = (sf.info(out / f"utt000{i}.wav") for i in (1, 2))
    assert plain.samplerate == 22050
    assert marked.frames > plain.frames + 0.3 * plain.samplerate  # the SSML's 400 ms break
    assert (archive.parent / archive.stem / "meta.yaml").is_file()  # unpacked beside the archive


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
        # stage 13's samples page travels with the model repo
        assert "(samples/index.html)" in readme and (hf / "samples" / "index.html").is_file()


# Scoring (stage 12): tables, spread and plots of every system; the scorer on known answers.
DECODE = "decode_valid.loss.ave"
SCORED_SYSTEMS = {
    "fastspeech2",
    "kathaka_oracle",
    "kathaka_prior",
    "kathaka_sampled",
    "camp_oracle",
    "camp_predicted",
}
WORD_METRICS = [
    f"word_{k}_{s}"
    for k in ("duration_ms", "mean_log_f0_cents", "f0_range_cents", "energy_db")
    for s in ("rmse", "corr")
]
AUDIO_METRICS = [
    f"audio_word_{k}_{s}"
    for k in ("mean_log_f0_cents", "f0_range_cents", "energy_db")
    for s in ("rmse", "corr")
]


def read_scores(path: Path) -> dict:
    import csv

    with open(path) as f:
        return {(row["system"], row["metric"]): row for row in csv.DictReader(f)}


def test_decodes_write_predicted_pitch_and_energy_per_token(recipe):
    import numpy as np

    for system, source in [("fastspeech2", "default"), ("kathaka", "reference"), ("camp", "predicted")]:
        d = recipe / "exp" / f"tts_train_{system}_cpu" / DECODE / "eval" / source
        durations = dict(
            line.split(maxsplit=1) for line in (d / "durations" / "durations").read_text().splitlines()
        )
        for name in ("pitch", "energy"):
            values = dict(line.split(maxsplit=1) for line in (d / name / name).read_text().splitlines())
            assert values.keys() == durations.keys()
            for utt, v in values.items():
                assert len(v.split()) == len(durations[utt].split())
        log_f0 = np.array(
            [float(x) for line in (d / "pitch" / "pitch").read_text().splitlines() for x in line.split()[1:]]
        )
        assert 4.0 < np.median(log_f0) < 6.5  # denormalised log-F0: 55-665 Hz, not z-scores


def test_scoring_stage_writes_tables_spread_plots_and_results(recipe):
    out = recipe / "exp" / f"scores_{DECODE}" / "eval"
    scores = read_scores(out / "scores.csv")
    movement = "kathaka_oracle vs kathaka_prior"  # prosody.sh asks how far the oracle latent moves prosody
    assert {system for system, _ in scores} == SCORED_SYSTEMS | {
        "(recordings)",
        "(recordings, vocoded)",
        movement,
    }
    assert {metric for system, metric in scores if system == "(recordings)"} == {"distillmos"}
    # the noise floor: the recordings through mel and Griffin-Lim, measured as the systems' audio
    assert {metric for system, metric in scores if system == "(recordings, vocoded)"} == set(AUDIO_METRICS)
    floor = float(scores["(recordings, vocoded)", "audio_word_mean_log_f0_cents_rmse"]["value"])
    assert 0 < floor < float(scores["fastspeech2", "audio_word_mean_log_f0_cents_rmse"]["value"])
    assert 1.0 <= float(scores["(recordings)", "distillmos"]["value"]) <= 5.0
    assert float(scores[movement, "word_duration_ms_rms_difference"]["value"]) >= 0
    for system in SCORED_SYSTEMS:
        assert 0.3 < float(scores[system, "duration_ratio"]["value"]) < 3
        for metric in ["mcd_db", "log_f0_rmse_cents", "f0_pearson", "vde"] + WORD_METRICS + AUDIO_METRICS:
            row = scores[system, metric]
            assert row["num_utterances"] == "4"
            if metric.endswith("rmse") or metric in ("mcd_db", "vde"):
                assert float(row["value"]) >= 0 and float(row["ci_low"]) <= float(row["value"]) <= float(
                    row["ci_high"]
                )
    assert scores["camp_predicted", "word_mean_log_f0_cents_rmse"]["oracle"] == "camp_oracle"
    assert scores["kathaka_sampled", "word_duration_ms_rmse"]["gap_closure"] != ""
    table = (out / "scores.md").read_text()
    assert "c0 (energy) excluded" in table and "## Gap closure" in table
    assert "## Word level on the audio" in table and "## Speaking time" in table
    spread = (out / "spread_kathaka" / "spread.md").read_text()
    for source in ("sampler", "prior", "recordings"):
        assert f"| {source} |" in spread
    plots = {p.name for p in (out / "plots").glob("*.png")}
    assert {"latent_space.png", "training_curves.png"} <= plots
    assert len([p for p in plots if p.startswith("f0_")]) == 2
    results = (recipe / "exp" / "RESULTS.md").read_text()
    assert "Prosody scores" in results and "One-to-many" in results
    card = (recipe / "exp" / "hf_tts_train_kathaka_cpu" / "README.md").read_text()
    assert "## Results" in card and "#### Waveform level" in card  # stage 16 puts the scores in the card


def test_scorer_gives_known_answers_for_the_recordings_themselves(recipe, tmp_path):
    """The recordings scored as a system: MCD 0, every word-level RMSE 0 and correlation 1."""
    from prosody_plugin.bin.score_prosody import main as score_main
    from prosody_plugin.evaluation.scoring import Reference

    exp = recipe / "exp" / "tts_train_fastspeech2_cpu"
    with contextlib.chdir(recipe):
        reference = Reference(
            exp / "config.yaml",
            exp / "valid.loss.ave.pth",
            Path("dump/raw/eval"),
            Path("dump/durations/eval/durations"),
            None,
        )
        itself = tmp_path / "recording"
        for name in ("durations", "pitch", "energy"):
            (itself / name).mkdir(parents=True)
        (itself / "wav.scp").write_text((recipe / "dump/raw/eval/wav.scp").read_text())
        (itself / "durations/durations").write_text((recipe / "dump/durations/eval/durations").read_text())
        with open(itself / "pitch/pitch", "w") as p, open(itself / "energy/energy", "w") as e:
            for utt in sorted(reference.texts):
                pitch, energy = reference.token_pitch_energy(utt, reference.load_wav(utt))
                p.write(utt + " " + " ".join(map(str, pitch)) + "\n")
                e.write(utt + " " + " ".join(map(str, energy)) + "\n")
        score_main(
            [
                "--data_dir",
                "dump/raw/eval",
                "--durations",
                "dump/durations/eval/durations",
                "--train_config",
                str(exp / "config.yaml"),
                "--model_file",
                str(exp / "valid.loss.ave.pth"),
                "--system",
                f"fastspeech2={exp / DECODE / 'eval' / 'default'}",
                "--system",
                f"recording={itself}",
                "--baseline",
                "fastspeech2",
                "--oracle",
                "recording=recording",
                "--num_resamples",
                "50",
                "--output_dir",
                str(tmp_path / "scores"),
            ]
        )
    scores = read_scores(tmp_path / "scores" / "scores.csv")
    assert float(scores["recording", "mcd_db"]["value"]) < 1e-6
    assert float(scores["recording", "vde"]["value"]) == 0
    for metric in WORD_METRICS + AUDIO_METRICS:  # its audio is the recording: the same values
        expected = 0.0 if metric.endswith("rmse") else 1.0
        assert abs(float(scores["recording", metric]["value"]) - expected) < 1e-3, metric  # float32 text
    assert float(scores["recording", "duration_ratio"]["value"]) == pytest.approx(1.0)
    # a system that is its own oracle closes 100% of the gap
    assert float(scores["recording", "word_duration_ms_rmse"]["gap_closure"]) == pytest.approx(1.0)
    # the recordings scored as a system get the recordings' own naturalness
    assert float(scores["recording", "distillmos"]["value"]) == pytest.approx(
        float(scores["(recordings)", "distillmos"]["value"]), abs=1e-4
    )


def test_extra_baseline_from_an_espnet_packed_model(recipe):
    """An ESPnet-packed FastSpeech2 as an extra baseline: decoded and scored by stage 12.

    It is the same model as the recipe's baseline, so its word-level scores (the model's own
    durations, pitch and energy, deterministic) must equal the baseline's.
    """
    exp = "exp/tts_train_fastspeech2_cpu"
    stats_dir = next((recipe / "exp").glob("tts_stats_raw_*"))
    packed = recipe / "exp" / "packed" / "espnet_fastspeech2.zip"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "espnet2.bin.pack",
            "tts",
            "--train_config",
            f"{exp}/config.yaml",
            "--model_file",
            f"{exp}/valid.loss.ave.pth",
            "--outpath",
            str(packed),
            *[
                a
                for f in ("feats", "pitch", "energy")
                for a in ("--option", str(stats_dir / "train" / f"{f}_stats.npz"))
            ],
        ],
        cwd=recipe,
        env=recipe_env(),
        check=True,
        capture_output=True,
    )
    proc = subprocess.run(
        [
            "./run.sh",
            "--stage",
            "12",
            "--stop_stage",
            "12",
            "--extra_baselines",
            f"espnet_fs2={packed}",
            "--spread_samples",
            "0",
            "--score_f0_plots",
            "1",
            "--controls_utts",
            "0",
        ],
        cwd=recipe,
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    scores = read_scores(recipe / "exp" / f"scores_{DECODE}" / "eval" / "scores.csv")
    for metric in WORD_METRICS:
        assert float(scores["espnet_fs2", metric]["value"]) == pytest.approx(
            float(scores["fastspeech2", metric]["value"])
        )


def test_scorer_names_the_system_and_utterance_of_a_silent_synthesis(recipe, tmp_path):
    import numpy as np

    from prosody_plugin.bin.score_prosody import main as score_main

    exp = recipe / "exp" / "tts_train_fastspeech2_cpu"
    decoded = exp / DECODE / "eval" / "default"
    broken = tmp_path / "broken"
    shutil.copytree(decoded, broken, ignore=shutil.ignore_patterns("log"))
    scp = dict(line.split() for line in (decoded / "wav.scp").read_text().splitlines())
    utt = sorted(scp)[0]
    sf.write(broken / "silent.wav", np.zeros(22050, dtype=np.float32), 22050)
    scp[utt] = str(broken / "silent.wav")
    (broken / "wav.scp").write_text("".join(f"{k} {v}\n" for k, v in sorted(scp.items())))
    with contextlib.chdir(recipe), pytest.raises(SystemExit, match=f"broken / {utt}: cannot score"):
        score_main(
            [
                "--data_dir",
                "dump/raw/eval",
                "--durations",
                "dump/durations/eval/durations",
                "--train_config",
                str(exp / "config.yaml"),
                "--model_file",
                str(exp / "valid.loss.ave.pth"),
                "--system",
                f"fastspeech2={decoded}",
                "--system",
                f"broken={broken}",
                "--baseline",
                "fastspeech2",
                "--output_dir",
                str(tmp_path / "scores"),
            ]
        )


# Listening (stages 13, 14): the samples page and the MUSHRA test of the recipe's systems.
LISTENED_SYSTEMS = [
    "fastspeech2",
    "kathaka_oracle",
    "kathaka_prior",
    "kathaka_sampled",
    "camp_oracle",
    "camp_predicted",
]


def test_listening_stage_writes_a_samples_page_that_plays_in_chromium(recipe, browser):
    from conftest import check_html, open_page, wait_for_audio

    index = recipe / "exp" / f"samples_{DECODE}" / "eval" / "index.html"
    text = check_html(index)
    utts = sorted(line.split()[0] for line in (recipe / "dump/raw/eval/text").read_text().splitlines())
    assert (
        sorted(re.findall(r'<section class="utterance" id="utt-([^"]+)"', text)) == utts
    )  # 4 eval utts, all shown
    for utt in utts:
        for name in ["recording", *LISTENED_SYSTEMS]:
            assert (index.parent / "audio" / utt / f"{name}.wav").is_file(), (utt, name)
        renditions = [index.parent / "audio" / utt / f"kathaka_rendition{i}.wav" for i in (1, 2)]
        assert renditions[0].read_bytes() != renditions[1].read_bytes()  # one text, two readings
        assert (index.parent / "plots" / f"f0_{utt}.png").is_file()
    page, errors, outside = open_page(browser, index)
    players = wait_for_audio(page)
    assert len(players) == len(utts) * (1 + len(LISTENED_SYSTEMS) + 2)
    assert all(error is None and ready >= 1 and duration > 0 for _, ready, duration, error in players)
    assert page.eval_on_selector_all("img", "imgs => imgs.every(i => i.complete && i.naturalWidth > 0)")
    assert not errors and not outside
    page.context.close()
    log = (recipe / "run.log").read_text()
    assert f"Samples page (stage 13): {index}" in log  # printed next to the wav folders


def test_listening_stages_write_a_mushra_test_and_score_it_once_there_are_results(recipe):
    import csv

    from prosody_plugin.listening.mushra import MushraDesign

    folder = recipe / "exp" / f"mushra_{DECODE}" / "eval"
    design = MushraDesign.load(folder)
    assert design.conditions == ["reference", "anchor", *LISTENED_SYSTEMS] and len(design.trials) == 4
    assert (folder / design.webmushra_config).is_file() and (folder / "index.html").is_file()
    log = (recipe / "run.log").read_text()
    assert "Stage 14: no listener results" in log and f"MUSHRA test (stage 13): {folder}/index.html" in log
    assert not (recipe / "exp" / "MUSHRA.md").exists()  # nothing to score: nothing written
    with open(folder / "results" / "mushra_listener1.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
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
        for i, trial in enumerate(design.trial_ids):
            for j, condition in enumerate(design.conditions):
                rating = {"reference": 100, "anchor": 10, "fastspeech2": 40}.get(condition, 70)
                writer.writerow(
                    [
                        design.test_id,
                        design.design_hash,
                        "listener1",
                        i + 1,
                        trial,
                        condition,
                        "ABCDEFGH"[j],
                        rating,
                        1,
                        5.0,
                        "",
                    ]
                )
    proc = subprocess.run(
        ["./run.sh", "--stage", "14", "--stop_stage", "14"],
        cwd=recipe,
        env=recipe_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = (recipe / "exp" / "MUSHRA.md").read_text()
    assert (
        "| kathaka_sampled | system | 4 | 70.0" in report and "| 50 [50, 50]% |" in report
    )  # (70-40)/(100-40)
