"""The recipe's decisions (prosody_plugin.recipe) on constructed experiment dirs, and the local
job launcher (egs2/TEMPLATE/prosody1/utils/run.pl) that prosody.sh runs every heavy step through."""

import subprocess
from pathlib import Path

import pytest
import yaml

from prosody_plugin.bin import recipe as recipe_bin
from prosody_plugin.recipe import Recipe, RecipeError, demote_headings, keep_lines, yaml_value

REPO = Path(__file__).resolve().parents[1]
RUN_PL = REPO / "egs2" / "TEMPLATE" / "prosody1" / "utils" / "run.pl"
TAG = "decode_valid.loss.ave"


def write_yaml(path: Path, data: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture
def recipe_dir(tmp_path, monkeypatch):
    """A recipe dir with three trained stage-one exps, two context configs and some decodes.

    The kathaka config nests a ``latent_dim`` under another key before ``tts_conf``: the old
    shell lookup took the first ``latent_dim:`` at any depth; the recipe reads tts_conf's.
    """
    monkeypatch.chdir(tmp_path)
    conf = Path("conf")
    train = [write_yaml(conf / f"train_{s}_cpu.yaml", {"tts": s}) for s in ("fastspeech2", "kathaka", "camp")]
    context = [
        write_yaml(conf / "train_kathaka_sampler_cpu.yaml", {"predictor": "kathaka_sampler"}),
        write_yaml(conf / "train_camp_predictor_cpu.yaml", {"predictor": "camp_predictor"}),
    ]
    exp = Path("exp")
    write_yaml(
        exp / "tts_train_fastspeech2_cpu" / "config.yaml", {"tts": "fastspeech2", "tts_conf": {"adim": 8}}
    )
    write_yaml(
        exp / "tts_train_kathaka_cpu" / "config.yaml",
        {"aux": {"latent_dim": 99}, "tts": "kathaka", "tts_conf": {"latent_dim": 6}},
    )
    write_yaml(exp / "tts_train_camp_cpu" / "config.yaml", {"tts": "camp", "tts_conf": {}})
    for decode in [
        "tts_train_fastspeech2_cpu/*/eval/default",
        "tts_train_kathaka_cpu/*/eval/reference",
        "tts_train_kathaka_cpu/*/eval/default",
        "tts_train_kathaka_cpu/*/eval/predicted",
        "tts_train_camp_cpu/*/eval/reference",
    ]:
        d = exp / decode.replace("*", TAG)
        d.mkdir(parents=True)
        (d / "wav.scp").write_text("utt1 a.wav\n")
    return Recipe("exp", train, context, "", TAG)


def test_experiments_are_found_by_their_config_yaml(recipe_dir):
    r = recipe_dir
    assert r.model_type("exp/tts_train_kathaka_cpu") == "kathaka"
    assert r.stage_one_exp("camp") == "exp/tts_train_camp_cpu"
    assert r.context_exp_of("kathaka") == "exp/context_train_kathaka_sampler_cpu"
    assert r.stage_one_decodes() == [
        ("exp/tts_train_fastspeech2_cpu", ["default"]),
        ("exp/tts_train_kathaka_cpu", ["reference", "default"]),
        ("exp/tts_train_camp_cpu", ["reference"]),
    ]
    assert r.prosody_exps() == [("kathaka", "exp/tts_train_kathaka_cpu"), ("camp", "exp/tts_train_camp_cpu")]
    pairs = {p["system"]: p for p in r.stage_two_pairs()}
    assert pairs["kathaka"]["size"] == "6"  # tts_conf's latent_dim, not the first one in the file
    assert pairs["camp"]["size_key"] == "word_embed_dim" and pairs["camp"]["size"] == "8"  # the class default
    assert pairs["camp"]["context_exp"] == "exp/context_train_camp_predictor_cpu"


def test_decodes_oracles_and_the_one_to_many_system(recipe_dir):
    r = recipe_dir
    decodes = r.recipe_decodes("eval")
    names = [name for name, _ in decodes]
    assert names == ["fastspeech2", "kathaka_oracle", "kathaka_prior", "kathaka_sampled", "camp_oracle"]
    assert decodes[3][1] == f"exp/tts_train_kathaka_cpu/{TAG}/eval/predicted"
    assert Recipe.oracle_args(names) == [
        "--oracle",
        "kathaka_prior=kathaka_oracle",
        "--movement",
        "kathaka_oracle=kathaka_prior",
        "--oracle",
        "kathaka_sampled=kathaka_oracle",
    ]  # camp has no predicted decode here: no pair
    extra = Path("exp/extra_vits") / TAG / "eval"
    assert r.decoded_systems("eval", ["vits=some/tag.zip"]) == decodes  # not decoded yet
    extra.mkdir(parents=True)
    (extra / "wav.scp").write_text("")
    assert r.decoded_systems("eval", ["vits=some/tag.zip"])[-1] == ("vits", str(extra))
    assert r.one_to_many() == (
        "kathaka",
        "exp/tts_train_kathaka_cpu",
        "exp/context_train_kathaka_sampler_cpu",
    )
    assert Recipe("exp", r.train_configs, r.context_configs[1:], "", TAG).one_to_many() is None


def test_missing_experiments_and_bad_configs_are_named(recipe_dir, tmp_path):
    r = recipe_dir
    untrained = Recipe("exp", ["conf/train_kathaka_cpu.yaml"], [], "_new", TAG)
    assert untrained.stage_one_exp("kathaka") is None
    with pytest.raises(RecipeError, match="tts_train_kathaka_cpu_new/config.yaml is missing"):
        untrained.stage_one_decodes()
    with pytest.raises(RecipeError, match="no trained kathaka system among --train_configs"):
        Recipe("exp", ["conf/train_camp_cpu.yaml"], r.context_configs, "", TAG).stage_two_pairs()
    bad = write_yaml(tmp_path / "conf" / "bad.yaml", {"predictor": "nothing"})
    with pytest.raises(RecipeError, match="bad.yaml: unknown predictor 'nothing'"):
        Recipe("exp", r.train_configs, [bad], "", TAG).context_system(bad)


def test_the_bert_model_of_the_context_configs(tmp_path):
    a = write_yaml(
        tmp_path / "a.yaml", {"predictor": "x", "frontend_conf": {"bert_model": "bert-base-cased"}}
    )
    b = write_yaml(tmp_path / "b.yaml", {"predictor": "y", "other": {"bert_model": "not this one"}})
    c = write_yaml(tmp_path / "c.yaml", {"frontend_conf": {"bert_model": "roberta-base"}})
    assert Recipe(context_configs=[b, a]).bert_model() == "bert-base-cased"
    assert Recipe(context_configs=[b]).bert_model() == ""
    with pytest.raises(RecipeError, match="different BERT models"):
        Recipe(context_configs=[a, c]).bert_model()


def test_the_command_line_answers_in_lines(recipe_dir, capsys, caplog):
    configs = [
        "--train_configs",
        " ".join(recipe_dir.train_configs),
        "--context_configs",
        " ".join(recipe_dir.context_configs),
    ]
    recipe_bin.main(["decodes", *configs])
    assert capsys.readouterr().out.splitlines()[1] == "exp/tts_train_kathaka_cpu reference default"
    recipe_bin.main(["targets", *configs])
    assert capsys.readouterr().out.splitlines() == [
        "kathaka exp/tts_train_kathaka_cpu 0",
        "camp exp/tts_train_camp_cpu 1",
    ]
    recipe_bin.main(["pairs", *configs])
    assert capsys.readouterr().out.splitlines()[0] == (
        "conf/train_kathaka_sampler_cpu.yaml kathaka kathaka_sampler latent_dim 6 exp/tts_train_kathaka_cpu "
        "exp/context_train_kathaka_sampler_cpu"
    )
    with pytest.raises(SystemExit):
        recipe_bin.main(["pairs", "--context_configs", "conf/train_camp_predictor_cpu.yaml"])
    assert "Error: no trained camp system" in caplog.text


def test_yaml_values_kept_lines_and_demoted_headings(tmp_path):
    calibration = write_yaml(tmp_path / "speed.yaml", {"speed_control_alpha": 1.2215, "nested": {"f0min": 1}})
    assert yaml_value(calibration, "speed_control_alpha") == "1.2215"
    assert yaml_value(calibration, "f0min") == ""  # top-level keys only
    keys = tmp_path / "wav.scp"
    keys.write_text("b x.wav\na y.wav\n")
    parts = [tmp_path / "1", tmp_path / "2"]
    parts[0].write_text("b 1 2\nc 3\n")
    parts[1].write_text("a 4\nab 5\n")
    keep_lines(keys, parts, tmp_path / "out" / "sorted", sort=True)
    assert (tmp_path / "out" / "sorted").read_text() == "a 4\nb 1 2\n"
    keep_lines(keys, parts, tmp_path / "kept", sort=False)
    assert (tmp_path / "kept").read_text() == "b 1 2\na 4\n"
    assert demote_headings("# Title\n\ntext # not\n## Sub\n") == "## Title\n\ntext # not\n### Sub\n"


def run_pl(*args, cwd):
    return subprocess.run([str(RUN_PL), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_run_pl_runs_each_job_with_its_number_and_log(tmp_path):
    proc = run_pl(
        "--num_threads",
        2,
        "--gpu",
        0,
        "JOB=1:3",
        "log/job.JOB.log",
        "printf",
        "%s|",
        "JOB",
        "a b",
        "-n",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    for job in (1, 2, 3):
        lines = (tmp_path / "log" / f"job.{job}.log").read_text().splitlines()
        assert lines[0] == f"# printf '%s|' {job} 'a b' -n"  # the command, as a shell would read it back
        assert lines[1].startswith("# Started at")
        assert lines[3].startswith(f"{job}|a b|-n|")  # the job's output, arguments as given
        assert lines[-1].startswith("# Ended (code 0) at")
    one = run_pl("single.log", "echo one | tr o O", cwd=tmp_path)  # one word: a shell command line
    assert one.returncode == 0 and "One" in (tmp_path / "single.log").read_text()


def test_run_pl_names_the_log_of_a_failed_job(tmp_path):
    proc = run_pl(
        "--max_jobs_run",
        1,
        "JOB=1:3",
        "log/x.JOB.log",
        "bash",
        "-c",
        "echo out JOB; [ JOB != 2 ]",
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "log is in log/x.2.log" in proc.stderr and "out 2" in proc.stderr
    assert "# Ended (code 1)" in (tmp_path / "log" / "x.2.log").read_text()
    assert "# Ended (code 0)" in (tmp_path / "log" / "x.3.log").read_text()  # the others still ran
    assert run_pl("JOB=1:2", "same.log", "true", cwd=tmp_path).returncode != 0  # the jobs would share a log
    # as Kaldi's: options after JOB=1:N too, a cluster's options ignored
    ok = run_pl("JOB=1:2", "--max_jobs_run", 1, "--partition", "gpu", "ok.JOB.log", "true", cwd=tmp_path)
    assert ok.returncode == 0 and (tmp_path / "ok.2.log").is_file()
