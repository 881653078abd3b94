"""utils/slurm.pl on a real one-node Slurm cluster (tools/slurm_one_node.sh; docs/cluster.md).

The cluster (munged, slurmctld, slurmd from Debian's packages) runs in a temporary dir for
the module. The launcher's own behaviour is checked first (array jobs, a failing job, the
resource options, the config file, an interruption); then a decode split in two jobs gives
the same files through Slurm as through the local launcher.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TOKENS, build_model

REPO = Path(__file__).resolve().parents[1]
UTILS = REPO / "egs2" / "TEMPLATE" / "prosody1" / "utils"
SLURM_PL = UTILS / "slurm.pl"
RUN_PL = UTILS / "run.pl"
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "scancel", "sinfo")


def free_port_pair() -> int:
    """A port p such that p and p + 1 are free (slurmctld's and slurmd's)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A one-node Slurm cluster for this module; yields the environment its clients need."""
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin"
    missing = [d for d in DAEMONS if shutil.which(d, path=path) is None]
    if missing:
        reason = (
            f"Slurm is not installed (missing {', '.join(missing)}): tools/install_system_deps.sh installs it"
        )
        if os.environ.get("CI"):
            raise FileNotFoundError(reason)
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("slurm")
    env = dict(os.environ, PATH=path, SLURM_ONE_NODE_PORT=str(free_port_pair()))
    script = REPO / "tools" / "slurm_one_node.sh"
    started = subprocess.run(
        [script, "start", state], check=False, env=env, capture_output=True, text=True, timeout=120
    )
    assert started.returncode == 0, started.stdout + started.stderr
    env["SLURM_CONF"] = str(state / "slurm.conf")
    try:
        yield env
    finally:
        subprocess.run([script, "stop", state], check=False, env=env, timeout=60)


def slurm_pl(cluster, cwd, *args, timeout=300):
    return subprocess.run(
        [SLURM_PL, *map(str, args)],
        check=False,
        cwd=cwd,
        env=cluster,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ended(log: Path) -> str:
    """The log's '# Ended (code N)' line, without its date."""
    line = [x for x in log.read_text().splitlines() if x.startswith("# Ended")][-1]
    return line.split(" at ")[0]


def test_an_array_job_substitutes_its_number_and_writes_each_log(cluster, tmp_path):
    # one word: a shell command line
    result = slurm_pl(cluster, tmp_path, "JOB=1:3", "log/echo.JOB.log", "echo job JOB > out.JOB; sleep 1")
    assert result.returncode == 0 and result.stderr == "", result.stderr  # not even a Perl warning
    for n in (1, 2, 3):
        assert (tmp_path / f"out.{n}").read_text() == f"job {n}\n"
        log = (tmp_path / f"log/echo.{n}.log").read_text()
        assert log.startswith(f"# echo job {n} > out.{n}; sleep 1\n# Started at "), log
        assert ended(tmp_path / f"log/echo.{n}.log") == "# Ended (code 0)"
    assert not (tmp_path / "log/echo.JOB.log").exists()
    # several words: a program and its arguments exactly as given (as utils/run.pl)
    words = ["printf", "%s\\n", "job JOB", "$HOME", ">", "it's"]
    result = slurm_pl(cluster, tmp_path, "JOB=1:2", "log/words.JOB.log", *words)
    assert result.returncode == 0, result.stderr
    for n in (1, 2):
        output = [
            x for x in (tmp_path / f"log/words.{n}.log").read_text().splitlines() if not x.startswith("#")
        ]
        assert output == [f"job {n}", "$HOME", ">", "it's"]


def test_a_failing_job_fails_the_launcher_and_names_its_log(cluster, tmp_path):
    result = slurm_pl(cluster, tmp_path, "JOB=1:3", "log/check.JOB.log", "test", "JOB", "-ne", "2")
    assert result.returncode != 0
    assert "1 / 3 failed" in result.stderr and "log/check.2.log" in result.stderr, result.stderr
    assert "check.1.log" not in result.stderr and "check.3.log" not in result.stderr
    assert ended(tmp_path / "log/check.2.log") == "# Ended (code 1)"
    assert ended(tmp_path / "log/check.3.log") == "# Ended (code 0)"
    # a log directory that cannot be made is an error before anything runs
    (tmp_path / "file").write_text("")
    result = slurm_pl(cluster, tmp_path, "file/x.log", "true")
    assert result.returncode != 0 and "file" in result.stderr


def test_resource_options_reach_the_job(cluster, tmp_path):
    result = slurm_pl(
        cluster,
        tmp_path,
        "--num_threads",
        2,
        "--mem",
        "300M",
        "log/r.log",
        "echo cpus=$SLURM_CPUS_PER_TASK mem=$SLURM_MEM_PER_NODE > out",
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out").read_text() == "cpus=2 mem=300\n"
    assert "threads=2" in (tmp_path / "log/r.log").read_text()  # the log's accounting line
    # the node has no GPU: Slurm refuses --gres=gpu:1, and the launcher says so
    result = slurm_pl(cluster, tmp_path, "--gpu", 1, "log/g.log", "true")
    assert result.returncode != 0 and "--gres=gpu:1" in result.stderr and "gres" in result.stderr.lower()
    # --gpu 0 asks for no GPU; an option the launcher does not know goes to sbatch
    result = slurm_pl(cluster, tmp_path, "--gpu", 0, "--partition", "no_such_partition", "log/p.log", "true")
    assert result.returncode != 0 and "--partition=no_such_partition" in result.stderr


def test_config_file_sets_the_command_and_defaults(cluster, tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf/slurm.conf").write_text(
        "command sbatch --export=ALL --comment=from_config  # every job\n"
        "option num_threads=* --cpus-per-task=$0\n"
        "default num_threads=2\n"
        "option gpu=0\n"
    )
    # conf/slurm.conf of the current directory is the default --config
    cmd = [
        "log/c.log",
        "echo $SLURM_CPUS_PER_TASK > out && scontrol show job $SLURM_JOB_ID | grep -o Comment=from_config >> out",
    ]
    result = slurm_pl(cluster, tmp_path, *cmd)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out").read_text() == "2\nComment=from_config\n"
    result = slurm_pl(cluster, tmp_path, "--gpu", 1, "log/g.log", "true")
    assert result.returncode != 0 and "gpu=0" in result.stderr  # the config knows only gpu=0
    (tmp_path / "bad.conf").write_text("command sbatch\npartition gpu\n")
    result = slurm_pl(cluster, tmp_path, "--config", "bad.conf", "log/b.log", "true")
    assert result.returncode != 0 and "bad.conf, line 2" in result.stderr


def test_an_interrupted_launcher_cancels_its_jobs(cluster, tmp_path):
    proc = subprocess.Popen(
        [SLURM_PL, "JOB=1:2", "log/s.JOB.log", "sleep", "300"],
        cwd=tmp_path,
        env=cluster,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while not (tmp_path / "log/s.1.log").exists():  # the first job runs
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "cancelled Slurm job" in err
    job = err.split("cancelled Slurm job ")[1].split()[0]
    while True:
        queued = subprocess.run(
            ["squeue", "-h", "-j", job], check=False, env=cluster, capture_output=True, text=True
        )
        if not queued.stdout.strip():
            break
        assert time.time() < deadline, queued.stdout
        time.sleep(0.5)


# ---------------------------------------------------------------------------- a recipe's decode
def local_launcher(env: dict, cwd: Path, jobs: str, log: str, *command: str) -> None:
    """utils/run.pl when the recipe has it; until then the same interface, run here: each
    job's words (a program and its arguments, JOB substituted) all at once, its log written."""
    if RUN_PL.exists():
        subprocess.run([RUN_PL, jobs, log, *command], cwd=cwd, env=env, check=True, timeout=600)
        return
    name, span = jobs.split("=")
    first, last = map(int, span.split(":"))
    procs = []
    for n in range(first, last + 1):
        path = cwd / log.replace(name, str(n))
        path.parent.mkdir(parents=True, exist_ok=True)
        words = [word.replace(name, str(n)) for word in command]
        with open(path, "w") as f:
            f.write("# " + " ".join(words) + "\n")
            f.flush()
            procs.append(
                (path, subprocess.Popen(words, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT))
            )
    for path, proc in procs:
        assert proc.wait(timeout=600) == 0, f"{path}:\n{path.read_text()}"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A small FastSpeech2 exp (config.yaml + model.pth) built as the trainer builds it
    (conftest.build_model: real ESPnet parts, random weights), and a 4-utterance text."""
    import torch
    from espnet2.utils.yaml_no_alias_safe_dump import yaml_no_alias_safe_dump

    from prosody_plugin.tasks.tts import ProsodyTTSTask

    captured = {}
    build = ProsodyTTSTask.build_model.__func__

    def spy(cls, args):
        captured["args"] = args
        return build(cls, args)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(ProsodyTTSTask, "build_model", classmethod(spy))
        torch.manual_seed(0)
        model = build_model("fastspeech2")
    exp = tmp_path_factory.mktemp("tiny_exp")
    config = json.loads(json.dumps(vars(captured["args"]), default=str))  # plain lists, as ESPnet writes
    (exp / "config.yaml").write_text(yaml_no_alias_safe_dump(config, indent=4, sort_keys=False))
    torch.save(model.state_dict(), exp / "model.pth")
    assert "ɜ" in TOKENS
    texts = [
        "h ə l ˈ o ʊ <space> w ˈ ɜ ː l d .",
        "h ɪ z <space> w ɜ ?",
        "w ˈ ɜ ː l d <space> h ə l o ,",
        "d ɪ d <space> h ɪ z <space> w ɜ ː l d !",
    ]
    (exp / "text").write_text("".join(f"utt{i} {t}\n" for i, t in enumerate(texts, 1)), encoding="utf-8")
    for n, keys in ((1, "utt1\nutt2\n"), (2, "utt3\nutt4\n")):
        (exp / f"keys.{n}.scp").write_text(keys)
    return exp


def test_a_decode_split_in_two_jobs_gives_the_same_files_through_slurm_as_locally(
    cluster, tiny_model, tmp_path
):
    """The recipe's stage-7 decode (prosody_plugin.bin.tts_inference with JOB=1:2 key files)
    through slurm.pl and through the local launcher: every output file the same, byte for
    byte (features, shapes, durations, pitch, energy, Griffin-Lim wavs)."""
    command = [
        sys.executable,
        "-m",
        "prosody_plugin.bin.tts_inference",
        "--ngpu",
        "0",
        "--data_path_and_name_and_type",
        f"{tiny_model}/text,text,text",
        "--train_config",
        f"{tiny_model}/config.yaml",
        "--model_file",
        f"{tiny_model}/model.pth",
        "--key_file",
        f"{tiny_model}/keys.JOB.scp",
        "--output_dir",
        "decode/output.JOB",
    ]
    local, slurm = tmp_path / "local", tmp_path / "slurm"
    local.mkdir()
    slurm.mkdir()
    # the recipe's environment: the package of this checkout on PYTHONPATH
    pythonpath = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
    env = dict(cluster, PYTHONPATH=pythonpath)
    submitted = subprocess.Popen(
        [SLURM_PL, "JOB=1:2", "decode/log/tts_inference.JOB.log", *command],
        cwd=slurm,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    local_launcher(env, local, "JOB=1:2", "decode/log/tts_inference.JOB.log", *command)
    _, err = submitted.communicate(timeout=600)
    assert submitted.returncode == 0 and err == "", err + "".join(
        p.read_text() for p in slurm.glob("decode/log/*.log")
    )

    def outputs(root: Path) -> dict:
        return {
            p.relative_to(root): p.read_bytes()
            for p in sorted((root / "decode").rglob("*"))
            if p.is_file() and "log" not in p.relative_to(root).parts
        }

    expected = outputs(local)
    for n, keys in ((1, ("utt1", "utt2")), (2, ("utt3", "utt4"))):
        assert sorted(p.stem for p in (local / f"decode/output.{n}/wav").glob("*.wav")) == list(keys)
        for sub in ("durations/durations", "speech_shape/speech_shape", "pitch/pitch", "energy/energy"):
            assert Path(f"decode/output.{n}/{sub}") in expected, sub
    got = outputs(slurm)
    assert sorted(got) == sorted(expected)
    different = [str(p) for p in expected if got[p] != expected[p]]
    assert not different, different
    for n in (1, 2):
        log = (slurm / f"decode/log/tts_inference.{n}.log").read_text()
        assert (
            f"--key_file {tiny_model}/keys.{n}.scp" in log
            and ended(slurm / f"decode/log/tts_inference.{n}.log") == "# Ended (code 0)"
        )
