"""The synthesis command line's arguments: a packed model or its files, clean help texts.

Synthesis itself from a packed model is tested on the mini recipe's archive
(tests/test_recipe_mini_ljspeech.py, test_synthesize_cli_from_a_packed_zip).
"""

import pytest

from prosody_plugin.bin.synthesize import get_parser, main
from prosody_plugin.inference import Text2SpeechProsody


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--model_tag", "m.zip", "--train_config", "c.yaml"],
            "--model_tag brings its own model files: not with --train_config",
        ),
        (
            ["--model_tag", "m.zip", "--model_file", "m.pth", "--context_model_file", "s.pth"],
            "not with --model_file, --context_model_file",
        ),
        (["--train_config", "c.yaml"], "give --model_tag, or --train_config and --model_file"),
        ([], "give --model_tag, or --train_config and --model_file"),
        (
            ["--model_tag", "m.zip", "--vocoder_tag", "parallel_wavegan/x", "--vocoder_file", "v.pkl"],
            "--vocoder_tag brings its own vocoder files: not with --vocoder_file",
        ),
    ],
)
def test_a_packed_model_or_its_files_not_both(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv + ["--output_dir", str(tmp_path / "out"), "Hello."])
    assert info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_missing_archive_is_named(tmp_path):
    missing = tmp_path / "packed" / "tts_train_camp_cpu.zip"
    with pytest.raises(SystemExit, match=rf"--model_tag {missing}\): no such archive: {missing}$"):
        main(["--model_tag", str(missing), "--output_dir", str(tmp_path / "out"), "Hello."])
    with pytest.raises(ValueError, match="^train_config, model_file: the packed model .* brings its own$"):
        Text2SpeechProsody.from_pretrained(missing, train_config="c.yaml", model_file="m.pth")


def test_help_shows_defaults_only_where_there_is_one():
    text = get_parser().format_help()
    assert "(default: None)" not in text and "(default: False)" not in text and "(default: [])" not in text
    assert "--model_tag MODEL_TAG" in text and "--vocoder_tag VOCODER_TAG" in text
    assert "(default: Griffin-Lim)" in text and text.count("default: Griffin-Lim") == 1
    assert "Seed of the run (default: 0)" in " ".join(text.split())
    assert "Sentences synthesised together (default: 16)" in " ".join(text.split())
