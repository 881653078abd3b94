"""Every `python -m prosody_plugin.bin.<x>` entry point answers `--help`."""

import importlib
import pkgutil
import subprocess
import sys

import pytest

import prosody_plugin.bin

ENTRY_POINTS = sorted(m.name for m in pkgutil.iter_modules(prosody_plugin.bin.__path__))


def test_every_entry_point_is_listed():
    assert "synthesize" in ENTRY_POINTS and "tts_train" in ENTRY_POINTS


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_help_exits_zero_with_usage(name, capsys):
    module = importlib.import_module(f"prosody_plugin.bin.{name}")
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code in (0, None), name
    assert "usage:" in capsys.readouterr().out.lower(), name


def test_help_through_python_dash_m():
    # one real `python -m` call: the module's `if __name__ == "__main__"` path
    result = subprocess.run(
        [sys.executable, "-m", "prosody_plugin.bin.synthesize", "--help"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout.lower()
