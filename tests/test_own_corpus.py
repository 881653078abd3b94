"""Integration: a corpus the project never saw, through a recipe made by setup.sh.

The corpus (tests/spoken_corpus.py: speak_corpus_with_pauses) is espeak-ng speech at a low
pitch (median about 77 Hz, most of it below the 80 Hz that the configs used to fix), 16 kHz, one wav and one
transcript file per utterance, with a second of noise before and after each prompt and
pauses between some words: where the speech is, is known. The recipe is created by
``egs2/TEMPLATE/prosody1/setup.sh`` (layout ``wav_txt``) in a copy of egs2/, and its run.sh
runs stages 1-5 (data, format + trimming + F0 range, tokens, aligner durations + pauses,
statistics) with a short aligner training. Then: the trimmed spans match the known speech,
the aligned words lie on the speech, the pauses sit on the word-boundary tokens, the F0
range holds the voice and reaches the pitch features; and stage 16 finishes without a
license (and refuses to upload).
"""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from prosody_plugin.data.kaldi_dir import read_kaldi_map
from prosody_plugin.text.word_boundaries import is_boundary_token

REPO = Path(__file__).resolve().parents[1]
SETUP = "egs2/TEMPLATE/prosody1/setup.sh"
FS, HOP, MARGIN = 16000, 256, 0.05
ALIGNER_EPOCHS = 10


def recipe_env() -> dict:
    from test_recipe_mini_ljspeech import recipe_env as env

    return env()


def run(cmd, cwd, log: Path, check: bool = True, timeout: int = 1200) -> subprocess.CompletedProcess:
    with open(log, "w") as f:
        proc = subprocess.run(
            cmd, cwd=cwd, env=recipe_env(), stdout=f, stderr=subprocess.STDOUT, timeout=timeout
        )
    if check and proc.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, cmd))} failed ({proc.returncode}); end of {log}:\n" + log.read_text()[-4000:]
        )
    return proc


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory, synthetic_corpus):
    """A copy of egs2/ and of the corpus, with one transcript that has a stray brace."""
    root, corpus = synthetic_corpus
    repo = tmp_path_factory.mktemp("repo")
    shutil.copytree(REPO / "egs2", repo / "egs2", symlinks=True)
    shutil.copytree(root, repo / "corpus")
    shutil.copy(repo / "corpus/wav/spk1_000.wav", repo / "corpus/wav/spk1_900.wav")
    (repo / "corpus/txt/spk1_900.txt").write_text("Please enter your } agent number.\n")
    return repo, corpus


@pytest.fixture(scope="module")
def recipe(repo_copy):
    """egs2/own/prosody1 made by setup.sh, after run.sh's stages 1-5.

    For development, PROSODY_PLUGIN_TEST_OWN_RECIPE_REPO may name a repo copy of an earlier
    run (its ``egs2/own/prosody1`` and ``run.log``; CI never sets it).
    """
    repo, corpus = repo_copy
    earlier = os.environ.get("PROSODY_PLUGIN_TEST_OWN_RECIPE_REPO")
    if earlier:
        return Path(earlier) / "egs2" / "own" / "prosody1", corpus, (Path(earlier) / "run.log").read_text()
    run(
        [
            "bash",
            SETUP,
            "--layout",
            "wav_txt",
            "--db_root",
            "corpus/wav",
            "--text_dir",
            "corpus/txt",
            "--fs",
            str(FS),
            "--num_dev",
            "4",
            "--num_eval",
            "4",
            "own",
        ],
        repo,
        repo / "setup.log",
    )
    recipe_dir = repo / "egs2" / "own" / "prosody1"
    run(
        [
            "./run.sh",
            "--stop_stage",
            "5",
            "--nj",
            "2",
            "--train_configs",
            "conf/train_fastspeech2_cpu.yaml",
            "--aligner_args",
            f"--max_epoch {ALIGNER_EPOCHS} --batch_size 8",
        ],
        recipe_dir,
        repo / "run.log",
    )
    return recipe_dir, corpus, (repo / "run.log").read_text()


def test_setup_sh_writes_a_recipe(repo_copy, recipe):
    repo, _ = repo_copy
    recipe_dir, _, _ = recipe
    assert os.readlink(recipe_dir / "prosody.sh") == "../../TEMPLATE/prosody1/prosody.sh"
    run_sh = (recipe_dir / "run.sh").read_text()
    assert "fs=16000" in run_sh and "--corpus_name own" in run_sh and 'corpus_license=""' in run_sh
    data_sh = (recipe_dir / "local/data.sh").read_text()
    assert "layout=wav_txt" in data_sh and f'db_root="{repo / "corpus/wav"}"' in data_sh
    assert {p.name for p in (recipe_dir / "conf").glob("*.yaml")} >= {
        "train_aligner_cpu.yaml",
        "train_kathaka_cpu.yaml",
    }
    assert (recipe_dir / "conf/tuning/train_camp_gpu.yaml").is_file()
    # refuses to overwrite a recipe, and a name that is not a directory name
    assert run(["bash", SETUP, "own"], repo, repo / "again.log", check=False).returncode != 0
    assert "exists already" in (repo / "again.log").read_text()
    assert run(["bash", SETUP, "bad name"], repo, repo / "bad.log", check=False).returncode != 0


def test_stage_1_splits_and_stage_2_drops_the_stray_brace(recipe):
    recipe_dir, corpus, log = recipe
    sizes = {d: len(read_kaldi_map(recipe_dir / "data" / d / "text")) for d in ("train", "dev", "eval")}
    assert sizes == {"train": len(corpus) + 1 - 8, "dev": 4, "eval": 4}
    dropped = "".join((recipe_dir / "dump/raw" / d / "dropped").read_text() for d in ("train", "dev", "eval"))
    assert dropped == "spk1_900\tunusual_characters\n"
    assert "RIGHT CURLY BRACKET" in log and "spk1_900" in log


def test_trimmed_spans_match_the_known_speech(recipe):
    """Kept span = speech +- the 50 ms margins, within 30 ms; the report says how much went."""
    recipe_dir, corpus, log = recipe
    for d in ("train", "dev", "eval"):
        for utt, value in read_kaldi_map(recipe_dir / "dump/raw" / d / "trim").items():
            start, end, duration = map(float, value.split())
            u = corpus[utt]
            assert abs(start - (u.speech_start - MARGIN)) < 0.03, (utt, start, u.speech_start)
            assert abs(end - (u.speech_end + MARGIN)) < 0.03, (utt, end, u.speech_end)
            num_samples = int(read_kaldi_map(recipe_dir / "dump/raw" / d / "utt2num_samples")[utt])
            assert abs(num_samples / FS - (end - start)) < 1e-3
    report = (recipe_dir / "dump/raw/trim_report").read_text()
    assert (
        "leading silence removed: median 0.9" in report and "trailing silence removed: median 0.9" in report
    )
    assert "Silence trimmed" in log


def token_strings(recipe_dir: Path, utt_texts):
    from espnet2.text.build_tokenizer import build_tokenizer
    from espnet2.text.cleaner import TextCleaner

    tokenizer = build_tokenizer(
        token_type="phn", g2p_type="espeak_ng_english_us_vits", space_symbol="<space>"
    )
    cleaner = TextCleaner("tacotron")
    return {u: tokenizer.text2tokens(cleaner(t)) + ["<sos/eos>"] for u, t in utt_texts.items()}


def word_times(recipe_dir: Path, name: str):
    """utt -> (tokens, token boundaries in seconds of the original recording)."""
    out = {}
    for d in ("train", "dev", "eval"):
        texts = read_kaldi_map(recipe_dir / "dump/raw" / d / "text")
        tokens = token_strings(recipe_dir, texts)
        trims = read_kaldi_map(recipe_dir / "dump/raw" / d / "trim")
        for utt, value in read_kaldi_map(recipe_dir / "dump/durations" / d / name).items():
            durations = np.array(value.split(), dtype=np.int64)
            assert len(durations) == len(tokens[utt])
            offset = float(trims[utt].split()[0])
            # frame k is centred on k * hop: the boundary before it lies half a frame earlier
            bounds = offset + (np.concatenate([[0], np.cumsum(durations)]) - 0.5).clip(0) * HOP / FS
            out[utt] = (tokens[utt], bounds)
    return out


def test_aligned_words_lie_on_the_speech_and_pauses_on_the_boundaries(recipe):
    """The first word starts at the speech (not a second early), the last one ends with it,
    and the known pauses sit on <space>/punctuation tokens (the aligner alone: far less)."""
    recipe_dir, corpus, log = recipe
    refined, aligned = word_times(recipe_dir, "durations"), word_times(recipe_dir, "durations.checked")
    shares = {"aligned": [], "refined": []}
    for utt, (tokens, bounds) in refined.items():
        u = corpus[utt]
        inside = [k for k, t in enumerate(tokens) if not is_boundary_token(t)]
        first_start, last_end = bounds[inside[0]], bounds[inside[-1] + 1]
        assert u.speech_start - MARGIN - 0.04 <= first_start <= u.speech_start + 0.1, (
            utt,
            first_start,
            u.speech_start,
        )
        assert u.speech_end - 0.15 <= last_end <= u.speech_end + 0.05, (utt, last_end, u.speech_end)
        for name, (toks, b) in (("refined", (tokens, bounds)), ("aligned", aligned[utt])):
            for start, end in u.pauses:
                centres = np.arange(start + 0.008, end, 0.016)
                owners = np.searchsorted(b, centres, side="right") - 1
                shares[name].append(np.mean([is_boundary_token(toks[k]) for k in owners]))
    assert len(shares["refined"]) >= 12
    assert min(shares["refined"]) >= 0.7 and np.mean(shares["refined"]) >= 0.85, shares
    assert np.mean(shares["refined"]) > np.mean(shares["aligned"]) + 0.2, shares
    pauses = read_kaldi_map(recipe_dir / "dump/durations/train/pauses")
    assert sum(int(v.split()[1]) for v in pauses.values()) >= 10  # pauses placed
    assert (recipe_dir / "dump/durations/train/warnings").read_text() == ""  # no late last word
    assert "placed on word boundaries" in log


def test_f0_range_is_the_voices_and_reaches_the_pitch_features(recipe):
    """The configs' 80-400 Hz would lose most of this voice; the measured range is used."""
    recipe_dir, _, log = recipe
    f0 = yaml.safe_load((recipe_dir / "dump/raw/train/f0_range.yaml").read_text())
    assert 40 < f0["f0min"] < 70 and 90 < f0["f0max"] < 200 and f0["median"] < 80
    assert f"F0 range {f0['f0min']}-{f0['f0max']} Hz" in log
    aligner = yaml.safe_load(
        (recipe_dir / "exp/aligner_phn_espeak_ng_english_us_vits/config.yaml").read_text()
    )
    assert aligner["feats_extract_conf"]["fs"] == FS and aligner["feats_extract_conf"]["hop_length"] == HOP
    stats = recipe_dir / "exp/tts_stats_raw_phn_espeak_ng_english_us_vits"
    config = yaml.safe_load((stats / "logdir/stats.1/config.yaml").read_text())
    assert (
        config["pitch_extract_conf"]["f0min"] == f0["f0min"]
        and config["pitch_extract_conf"]["f0max"] == f0["f0max"]
    )
    # the token-averaged pitch of the training set: most voiced tokens below 80 Hz
    values = []
    for line in (stats / "train/collect_feats/pitch.scp").read_text().splitlines():
        path = line.split(maxsplit=1)[1]
        values.append(np.load(recipe_dir / path if not os.path.isabs(path) else path).reshape(-1))
    log_f0 = np.concatenate(values)
    voiced = np.exp(log_f0[log_f0 > 0])
    # (Dio's floor was 80 Hz: no median below it could come out; StoneMask may refine below the floor)
    assert voiced.size > 200 and np.median(voiced) < 80


def test_stage_16_finishes_without_a_license_and_refuses_to_upload(repo_copy):
    from test_pack import make_kathaka_exps

    from prosody_plugin.pack import pack_model

    repo, _ = repo_copy
    run(["bash", SETUP, "--fs", str(FS), "own16"], repo, repo / "setup16.log")
    recipe_dir = repo / "egs2" / "own16" / "prosody1"
    make_kathaka_exps(recipe_dir)
    exp = recipe_dir / "exp"
    (exp / "packed").mkdir()
    pack_model(
        exp / "tts_train_kathaka_cpu",
        exp / "context_train_kathaka_sampler_cpu",
        exp / "packed/tts_train_kathaka_cpu.zip",
        root=recipe_dir,
    )
    stage16 = [
        "./run.sh",
        "--stage",
        "16",
        "--stop_stage",
        "16",
        "--train_configs",
        "conf/train_kathaka_cpu.yaml",
        "--context_configs",
        "conf/train_kathaka_sampler_cpu.yaml",
    ]
    run(stage16, recipe_dir, repo / "stage16.log")
    log = (repo / "stage16.log").read_text()
    assert "license not given" in log and "Successfully finished" in log
    front = yaml.safe_load((exp / "hf_tts_train_kathaka_cpu/README.md").read_text().split("---")[1])
    assert front["license_name"] == "license-not-given"
    proc = run(stage16 + ["--hf_repo_prefix", "user/own16"], recipe_dir, repo / "upload16.log", check=False)
    assert proc.returncode != 0
    assert "not uploading to user/own16_kathaka" in (repo / "upload16.log").read_text()
