"""The system registry: every fact a tool needs about a system comes from its class."""

import inspect
import subprocess
import sys

import pytest

from prosody_plugin import systems


@pytest.mark.parametrize("name", list(systems.SYSTEMS))
def test_each_system_pairs_with_a_predictor_that_shares_its_size_key(name):
    from prosody_plugin.tasks.prosody_context import predictor_choices

    cls = systems.system_class(name)
    predictor = predictor_choices.get_class(cls.predictor_name)
    assert cls.size_key in inspect.signature(cls.__init__).parameters
    assert cls.size_key in inspect.signature(predictor.__init__).parameters
    assert systems.system_of_predictor(cls.predictor_name) == name
    assert systems.check_pair({"tts": name}, {"predictor": cls.predictor_name}) == name


def test_espnet_knows_the_registered_systems():
    from espnet2.tasks.tts import tts_choices

    for name in systems.SYSTEMS:
        assert tts_choices.get_class(name) is systems.system_class(name)


def test_pairing_and_unknown_names_are_refused_clearly():
    with pytest.raises(ValueError, match="does not go with camp; expected camp_predictor"):
        systems.check_pair({"tts": "camp"}, {"predictor": "kathaka_sampler"})
    with pytest.raises(ValueError, match="not a prosody system"):
        systems.check_pair({"tts": "fastspeech2"}, {"predictor": "camp_predictor"})
    with pytest.raises(ValueError, match="unknown predictor 'nope'"):
        systems.system_of_predictor("nope")
    with pytest.raises(ValueError, match="unknown prosody system 'nope'"):
        systems.system_class("nope")


def test_decoding_sources_follow_the_default_prosody():
    assert systems.prosody_sources(systems.BASELINE) == ["default"]
    assert systems.prosody_sources("kathaka") == ["default", "reference"]  # the prior mean
    assert systems.prosody_sources("camp") == ["reference"]  # no default prosody
    assert systems.representation_size("camp", {}) == 8  # the class default
    assert systems.representation_size("kathaka", {"latent_dim": 4}) == 4


def test_the_recipe_reads_the_same_facts_from_the_shell():
    facts = subprocess.run(
        [sys.executable, "-m", "prosody_plugin.bin.systems", "--shell"], capture_output=True, text=True, check=True
    ).stdout
    script = facts + 'echo "$prosody_systems|$system_sources_kathaka|$predictor_system_camp_predictor|$system_size_key_kathaka"'
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "kathaka camp|default reference|camp|latent_dim"
