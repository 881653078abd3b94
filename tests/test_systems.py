"""The system registry: every fact a tool needs about a system comes from its class."""

import inspect

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
    assert systems.prosody_sources("kathaka") == ["reference", "default"]  # the prior mean
    assert systems.prosody_sources("camp") == ["reference"]  # no default prosody
    assert systems.representation_size("camp", {}) == 8  # the class default
    assert systems.representation_size("kathaka", {"latent_dim": 4}) == 4


@pytest.mark.parametrize("name", list(systems.SYSTEMS))
def test_each_system_declares_its_decodes_and_reader_facing_names(name):
    cls = systems.system_class(name)
    sources = set(cls.decodes)
    assert {"reference", "predicted"} <= sources <= {"default", "reference", "predicted"}
    assert ("default" in sources) == cls.has_default_prosody  # a default decode needs a default prosody
    assert cls.title and all(description.startswith(cls.title) for _, description in cls.decodes.values())
    names = [label for label, _ in systems.decodes(name).values()]
    assert len(set(names)) == len(names) and all(n.startswith(f"{name}_") for n in names)
    for label, description in systems.decodes(name).values():
        assert systems.describe_decode(label) == description


def test_decode_names_are_the_ones_stage_12_reports():
    assert systems.decodes(systems.BASELINE) == {
        "default": ("fastspeech2", "FastSpeech2 (ESPnet), the baseline")
    }
    assert [label for label, _ in systems.decodes("kathaka").values()] == [
        "kathaka_oracle",
        "kathaka_prior",
        "kathaka_sampled",
    ]
    assert [label for label, _ in systems.decodes("camp").values()] == ["camp_oracle", "camp_predicted"]
    assert systems.describe_decode("espnet_fs2") is None  # an extra baseline


def test_one_to_many_systems_can_sample_and_read_their_targets():
    import torch

    kathaka = systems.system_class("kathaka")(
        idim=10, odim=8, adim=16, aheads=2, elayers=1, eunits=16, dlayers=1, dunits=16, latent_dim=4
    )
    assert kathaka.one_to_many and not kathaka.per_word
    draws = torch.stack([kathaka.sample_prior() for _ in range(200)])
    assert draws.shape == (200, 4) and draws.std() == pytest.approx(1.0, abs=0.15)  # N(0, I)
    target = torch.arange(8.0)  # [mu, logvar]
    assert torch.equal(kathaka.representation_of_target(target), torch.arange(4.0))
    camp = systems.system_class("camp")
    assert not camp.one_to_many and camp.per_word
