"""Tests of egs2/asterisk/prosody1/local/finetune_configs.py: the cross-fitting folds and the
fine-tuning config of local/finetune_on_predictions.sh."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SCRIPT = Path(__file__).resolve().parents[1] / "egs2/asterisk/prosody1/local/finetune_configs.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def stage_two_exp(tmp_path: Path, keys) -> Path:
    shape = tmp_path / "train_shape"
    shape.write_text("".join(f"{key} {i + 3}\n" for i, key in enumerate(keys)))
    config = tmp_path / "config.yaml"
    # as ESPnet writes it: keys that are not options sit beside the options
    yaml.safe_dump(
        dict(
            config="conf/x.yaml",
            required=["output_dir"],
            version="202412",
            distributed=False,
            train_shape_file=[str(shape)],
            output_dir="exp/x",
            max_epoch=20,
        ),
        open(config, "w"),
    )
    return config


def test_every_training_utterance_is_predicted_by_the_fold_model_that_did_not_see_it(tmp_path):
    keys = [f"utt{i:02d}" for i in range(10)]
    out = tmp_path / "crossfit"
    assert (
        run("folds", "--config", stage_two_exp(tmp_path, keys), "--folds", 3, "--output_dir", out).returncode
        == 0
    )
    held_out = {}
    for k in (1, 2, 3):
        fold = yaml.safe_load(open(out / f"fold{k}.yaml"))
        assert not {"config", "required", "version", "distributed"} & set(fold)
        assert fold["output_dir"] == str(out / f"fold{k}") and fold["max_epoch"] == 20
        trained_on = {line.split()[0] for line in Path(fold["train_shape_file"][0]).read_text().splitlines()}
        held = set((out / f"fold{k}.keys").read_text().split())
        assert held and not held & trained_on and held | trained_on == set(keys)
        held_out.update({key: k for key in held})
        # each fold model predicts the whole training set; the value names the fold
        (out / f"fold{k}/predict_train").mkdir(parents=True)
        (out / f"fold{k}/predict_train/prosody.scp").write_text(
            "".join(f"{key} fold{k}/{key}.npy\n" for key in keys)
        )
    assert sorted(held_out) == keys
    assert run("merge", "--folds", 3, "--output_dir", out).returncode == 0
    merged = dict(line.split() for line in (out / "prosody.scp").read_text().splitlines())
    assert merged == {key: f"fold{held_out[key]}/{key}.npy" for key in keys}


def test_merge_names_the_fold_whose_predictions_are_missing(tmp_path):
    keys = ["a", "b", "c", "d"]
    out = tmp_path / "crossfit"
    run("folds", "--config", stage_two_exp(tmp_path, keys), "--folds", 2, "--output_dir", out)
    for k in (1, 2):
        (out / f"fold{k}/predict_train").mkdir(parents=True)
        predicted = keys if k == 1 else keys[:1]
        (out / f"fold{k}/predict_train/prosody.scp").write_text(
            "".join(f"{key} {key}.npy\n" for key in predicted)
        )
    result = run("merge", "--folds", 2, "--output_dir", out)
    assert result.returncode != 0 and "fold 2" in result.stderr and not (out / "prosody.scp").exists()


@pytest.mark.parametrize("freeze", [["tts.encoder", "tts.decoder"], []])
def test_finetune_config_starts_from_the_model_and_reads_the_predictions(tmp_path, freeze):
    config = tmp_path / "config.yaml"
    yaml.safe_dump(
        dict(
            config="conf/t.yaml",
            required=["output_dir"],
            version="1",
            distributed=False,
            init_param=[],
            freeze_param=[],
            output_dir="exp/t",
            train_data_path_and_name_and_type=[["dump/train/text", "text", "text"]],
            valid_data_path_and_name_and_type=[["dump/dev/text", "text", "text"]],
        ),
        open(config, "w"),
    )
    out = tmp_path / "ft"
    result = run(
        "finetune",
        "--config",
        config,
        "--init_param",
        "exp/t/valid.loss.ave.pth",
        "--train_prosody",
        "cf/prosody.scp",
        "--valid_prosody",
        "dev/prosody.scp",
        "--output_dir",
        out,
        *(["--freeze", *freeze] if freeze else []),
    )
    assert result.returncode == 0, result.stderr
    ft = yaml.safe_load(open(out / "finetune.yaml"))
    assert not {"config", "required", "version", "distributed"} & set(ft)
    assert ft["init_param"] == ["exp/t/valid.loss.ave.pth"] and ft["freeze_param"] == freeze
    assert ft["output_dir"] == str(out) and ft["resume"] is True
    assert ft["train_data_path_and_name_and_type"] == [
        ["dump/train/text", "text", "text"],
        ["cf/prosody.scp", "prosody", "npy"],
    ]
    assert ft["valid_data_path_and_name_and_type"][-1] == ["dev/prosody.scp", "prosody", "npy"]
