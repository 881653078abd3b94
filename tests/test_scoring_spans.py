"""The scorer's reference side: speech-only word spans and the voice's F0 range from the model's config."""

import numpy as np
import pytest
import torch
import yaml
from conftest import FS, HOP, MODEL_CONFS, TOKENS


@pytest.fixture(scope="module")
def reference_files(tmp_path_factory):
    """A FastSpeech2 config.yaml + checkpoint as training writes them, a data dir and durations."""
    import soundfile as sf

    from prosody_plugin.tasks.tts import ProsodyTTSTask

    root = tmp_path_factory.mktemp("scoring")
    args = ProsodyTTSTask.get_parser().parse_args(
        ["--token_list", "none", "--tts", "fastspeech2", "--output_dir", "x"]
    )
    args.token_list = list(TOKENS)
    args.tts_conf = dict(MODEL_CONFS["fastspeech2"])
    args.feats_extract_conf = dict(n_fft=256, hop_length=HOP, n_mels=20, fs=FS, fmax=FS // 2)
    args.normalize = args.pitch_normalize = args.energy_normalize = None
    args.pitch_extract, args.energy_extract = "dio", "energy"
    args.pitch_extract_conf = dict(fs=FS, n_fft=256, hop_length=HOP, f0min=55, f0max=210)
    args.energy_extract_conf = dict(fs=FS, n_fft=256, hop_length=HOP, win_length=None)
    args.g2p, args.cleaner, args.token_type = "espeak_ng_english_us_vits", "tacotron", "phn"
    model = ProsodyTTSTask.build_model(args)
    (root / "config.yaml").write_text(yaml.safe_dump(vars(args)))
    torch.save(model.state_dict(), root / "model.pth")
    data = root / "data"
    data.mkdir()
    t = np.arange(FS) / FS
    sf.write(data / "u1.wav", 0.3 * np.sin(2 * np.pi * 150 * t), FS)
    (data / "wav.scp").write_text(f"u1 {data / 'u1.wav'}\n")
    (data / "text").write_text("u1 Hello, world.\n")
    return root, data


def test_word_spans_are_speech_only_and_the_f0_range_is_the_models(reference_files):
    from prosody_plugin.evaluation.scoring import Reference

    root, data = reference_files
    tokens = "h ə l ˈ o ʊ , <space> w ˈ ɜ ː l d . <sos/eos>".split()
    frames = FS // HOP + 1
    durations = np.ones(len(tokens), dtype=np.int64)
    durations[7] = 20  # a pause on <space>
    durations[-1] = frames - durations[:-1].sum()  # trailing silence on eos
    (root / "durations").write_text("u1 " + " ".join(map(str, durations)) + "\n")
    reference = Reference(root / "config.yaml", root / "model.pth", data, root / "durations", None)
    word_ids, num_words = reference.token_word_ids("u1")
    assert num_words == 2
    expected = [0, 0, 0, 0, 0, 0, -1, -1, 1, 1, 1, 1, 1, 1, -1, -1]  # ",", <space>, "." and eos: no word
    assert word_ids.tolist() == expected
    from prosody_plugin.evaluation.metrics import word_prosody

    pitch, energy = reference.token_pitch_energy("u1", reference.load_wav("u1"))
    words = word_prosody(durations, pitch, energy, word_ids, num_words, reference.frame_shift_s)
    assert words.duration_ms.tolist() == pytest.approx(
        [6 * HOP / FS * 1000, 6 * HOP / FS * 1000]
    )  # phones only
    # the wav-level F0 range: the model's pitch extraction's, unless given
    assert (reference.f0_floor, reference.f0_ceil) == (55.0, 210.0)
    f0, _ = reference.world(reference.load_wav("u1"), "u1")
    assert np.median(f0[f0 > 0]) == pytest.approx(150, rel=0.02)
    other = Reference(
        root / "config.yaml", root / "model.pth", data, root / "durations", None, f0min=60.0, f0max=300.0
    )
    assert (other.f0_floor, other.f0_ceil) == (60.0, 300.0)


def test_no_f0_range_in_the_config_is_an_error(reference_files, tmp_path):
    from prosody_plugin.evaluation.scoring import Reference

    root, data = reference_files
    config = yaml.safe_load((root / "config.yaml").read_text())
    del config["pitch_extract_conf"]["f0min"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "durations").write_text("")
    with pytest.raises(SystemExit, match="pass --f0min and --f0max"):
        Reference(tmp_path / "config.yaml", root / "model.pth", data, tmp_path / "durations", None)
