"""Packing and unpacking (prosody_plugin.pack): layout, zip slip, versions, missing files, card.

A small recipe-like dir (configs, tensor checkpoints, statistics) is packed with the real
ESPnet code; the round trip of trained models through synthesis is in
test_recipe_mini_ljspeech.py.
"""

import argparse
import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from espnet2.main_funcs import pack_funcs

from prosody_plugin.pack import (
    FRONTEND_YAML,
    PackedModelError,
    check_archive,
    check_unpacked,
    check_version,
    default_unpack_dir,
    pack_model,
    unpack_model,
)
from prosody_plugin.version import __version__

STATS = "exp/tts_stats_raw_phn_espeak_ng_english_us_vits/train"
CONTEXT_EXP = "exp/context_train_kathaka_sampler_cpu"


@pytest.fixture
def recipe_dir(tmp_path):
    """exp/tts_train_kathaka_cpu + exp/context_train_kathaka_sampler_cpu as the recipe writes them."""
    return make_kathaka_exps(tmp_path / "prosody1")


def make_kathaka_exps(root: Path) -> Path:
    """Write ``root``/exp/tts_train_kathaka_cpu and its context exp (configs, checkpoints, stats)."""
    (root / STATS).mkdir(parents=True)
    for name in ("feats", "pitch", "energy"):
        np.savez(root / STATS / f"{name}_stats.npz", count=np.array(3), sum=np.ones(2), sum_square=np.ones(2))
    tts = root / "exp" / "tts_train_kathaka_cpu"
    context = root / "exp" / "context_train_kathaka_sampler_cpu"
    tts.mkdir(parents=True)
    context.mkdir(parents=True)
    train_config = dict(
        tts="kathaka",
        tts_conf=dict(adim=8, elayers=1, dlayers=1, latent_dim=4),
        token_type="phn",
        cleaner="tacotron",
        g2p="espeak_ng_english_us_vits",
        token_list=["<blank>", "<unk>", "a", "<sos/eos>"],
        feats_extract_conf=dict(fs=22050, n_fft=1024, hop_length=256, n_mels=80),
        max_epoch=2,
        optim="adam",
        normalize="global_mvn",
        normalize_conf=dict(stats_file=f"{STATS}/feats_stats.npz"),
        pitch_normalize="global_mvn",
        pitch_normalize_conf=dict(stats_file=f"{STATS}/pitch_stats.npz"),
        energy_normalize="global_mvn",
        energy_normalize_conf=dict(stats_file=f"{STATS}/energy_stats.npz"),
    )
    (tts / "config.yaml").write_text(yaml.safe_dump(train_config))
    context_config = dict(
        predictor="kathaka_sampler",
        predictor_conf=dict(latent_dim=4),
        max_epoch=3,
        optim="adam",
        frontend_conf=dict(spacy_model="en_core_web_sm"),
    )
    (context / "config.yaml").write_text(yaml.safe_dump(context_config))
    torch.save({"tts.w": torch.arange(6.0)}, tts / "valid.loss.ave.pth")
    torch.save({"predictor.w": torch.ones(3)}, context / "valid.loss.ave.pth")
    return root


def pack(root: Path, out: Path) -> Path:
    return pack_model(
        root / "exp/tts_train_kathaka_cpu", root / "exp/context_train_kathaka_sampler_cpu", out, root=root
    )


def test_pack_writes_espnet_layout_and_unpacks(recipe_dir, tmp_path):
    archive = pack(recipe_dir, tmp_path / "packed" / "kathaka.zip")
    names = set(zipfile.ZipFile(archive).namelist())
    assert names == {
        "meta.yaml",
        "exp/tts_train_kathaka_cpu/config.yaml",
        "exp/tts_train_kathaka_cpu/valid.loss.ave.pth",
        "exp/context_train_kathaka_sampler_cpu/config.yaml",
        "exp/context_train_kathaka_sampler_cpu/valid.loss.ave.pth",
        f"exp/context_train_kathaka_sampler_cpu/{FRONTEND_YAML}",
        f"{STATS}/feats_stats.npz",
        f"{STATS}/pitch_stats.npz",
        f"{STATS}/energy_stats.npz",
    }
    meta = yaml.safe_load(zipfile.ZipFile(archive).read("meta.yaml"))
    assert meta["files"] == {
        "model_file": "exp/tts_train_kathaka_cpu/valid.loss.ave.pth",
        "context_model_file": "exp/context_train_kathaka_sampler_cpu/valid.loss.ave.pth",
    }
    assert set(meta["yaml_files"]) == {"train_config", "context_train_config"}
    frontend = yaml.safe_load(zipfile.ZipFile(archive).read(f"{CONTEXT_EXP}/{FRONTEND_YAML}"))
    assert frontend["prosody_plugin_version"] == __version__
    assert (frontend["cleaner"], frontend["g2p"], frontend["token_type"]) == (
        "tacotron",
        "espeak_ng_english_us_vits",
        "phn",
    )
    assert frontend["bert_model"] is None and frontend["spacy_model"] == "en_core_web_sm"
    assert "all-MiniLM-L6-v2" in frontend["defaults"]["bert_model"]

    out = tmp_path / "unpacked"
    paths = unpack_model(archive, out)
    assert set(paths) == {"train_config", "model_file", "context_train_config", "context_model_file"}
    assert all(Path(p).is_file() and Path(p).is_relative_to(out) for p in paths.values())
    config = yaml.safe_load(Path(paths["train_config"]).read_text())
    # ESPnet's unpacking rewrote the statistics' paths to the unpacked files
    assert config["normalize_conf"]["stats_file"] == str(out / STATS / "feats_stats.npz")
    assert torch.equal(torch.load(paths["model_file"])["tts.w"], torch.arange(6.0))
    assert unpack_model(archive, out) == paths  # unpacked once, then from the cache
    assert default_unpack_dir(archive) == archive.parent / "kathaka"


def test_pack_cli_and_model_zoo_user_path(recipe_dir, tmp_path):
    archive = tmp_path / "kathaka.zip"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "prosody_plugin.bin.pack",
            "--tts_exp",
            "exp/tts_train_kathaka_cpu",
            "--context_exp",
            "exp/context_train_kathaka_sampler_cpu",
            "--inference_model",
            "valid.loss.ave.pth",
            "--outpath",
            str(archive),
        ],
        cwd=recipe_dir,
        check=True,
        capture_output=True,
        timeout=120,
    )
    from espnet_model_zoo.downloader import ModelDownloader

    with pytest.warns(UserWarning, match="local model"):
        paths = ModelDownloader(cachedir=tmp_path / "zoo").download_and_unpack(str(archive))
    assert set(paths) == {"train_config", "model_file", "context_train_config", "context_model_file"}
    assert check_unpacked(paths)["prosody_plugin_version"] == __version__


def test_pack_carries_the_calibrated_speed(recipe_dir, tmp_path):
    calibration = recipe_dir / "exp/tts_train_kathaka_cpu/decode_valid.loss.ave/speed_calibration.yaml"
    calibration.parent.mkdir()
    calibration.write_text("speed_control_alpha: 1.2127\n")
    archive = pack_model(
        recipe_dir / "exp/tts_train_kathaka_cpu",
        recipe_dir / CONTEXT_EXP,
        tmp_path / "kathaka.zip",
        root=recipe_dir,
        speed_calibration=calibration,
    )
    meta = yaml.safe_load(zipfile.ZipFile(archive).read("meta.yaml"))
    assert (
        meta["files"]["speed_calibration_file"]
        == "exp/tts_train_kathaka_cpu/decode_valid.loss.ave/speed_calibration.yaml"
    )
    paths = unpack_model(archive, tmp_path / "unpacked")
    assert yaml.safe_load(Path(paths["speed_calibration_file"]).read_text()) == {
        "speed_control_alpha": 1.2127
    }
    from prosody_plugin.inference import Text2SpeechProsody

    calibration.write_text("speed: fast\n")
    with pytest.raises(ValueError, match="speed_calibration.yaml has no number speed_control_alpha"):
        Text2SpeechProsody(
            tmp_path / "config.yaml", tmp_path / "model.pth", speed_calibration_file=calibration
        )
    with pytest.raises(FileNotFoundError, match="speed_calibration"):
        pack_model(
            recipe_dir / "exp/tts_train_kathaka_cpu",
            recipe_dir / CONTEXT_EXP,
            tmp_path / "k2.zip",
            root=recipe_dir,
            speed_calibration=recipe_dir / "missing.yaml",
        )


def test_pack_refuses_a_mismatched_pair(recipe_dir, tmp_path):
    config = recipe_dir / "exp/context_train_kathaka_sampler_cpu/config.yaml"
    config.write_text(config.read_text().replace("kathaka_sampler", "camp_predictor"))
    with pytest.raises(PackedModelError, match="expected kathaka_sampler"):
        pack(recipe_dir, tmp_path / "x.zip")


def _zip_with(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name), data)
    return path


META = yaml.safe_dump(dict(files=dict(model_file="m.pth"), yaml_files=dict(train_config="c.yaml")))


@pytest.mark.parametrize("evil", ["../evil", "a/../../evil", "/abs/evil"])
def test_zip_slip_is_refused_before_anything_is_written(tmp_path, evil):
    archive = _zip_with(tmp_path / "evil.zip", {"meta.yaml": META, "m.pth": b"x", evil: b"pwned"})
    out = tmp_path / "sub" / "out"
    with pytest.raises(ValueError, match=evil.replace(".", r"\.")):
        unpack_model(archive, out)
    assert not out.exists() and not (tmp_path / "sub" / "evil").exists() and not (tmp_path / "evil").exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["evil.zip"]


def test_tar_slip_and_links_are_refused(tmp_path):
    def tar_with(name: str, info: tarfile.TarInfo) -> Path:
        path = tmp_path / name
        with tarfile.open(path, "w") as t:
            meta = tarfile.TarInfo("meta.yaml")
            meta.size = len(META)
            t.addfile(meta, io.BytesIO(META.encode()))
            t.addfile(info, io.BytesIO(b"pwned") if info.isfile() else None)
        return path

    evil = tarfile.TarInfo("../evil")
    evil.size = 5
    with pytest.raises(ValueError, match=r"'\.\./evil'"):
        check_archive(tar_with("a.tar", evil), tmp_path / "out")
    link = tarfile.TarInfo("exp/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with pytest.raises(ValueError, match="exp/link"):
        check_archive(tar_with("b.tar", link), tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil").exists()


def test_meta_yaml_pointing_outside_is_refused(tmp_path):
    meta = yaml.safe_dump(dict(files=dict(model_file="../../x.pth"), yaml_files={}))
    with pytest.raises(ValueError, match="model_file"):
        check_archive(_zip_with(tmp_path / "m.zip", {"meta.yaml": meta}), tmp_path / "out")


def _repack(recipe_dir: Path, out: Path, edit_frontend=None, drop=()) -> Path:
    """Pack, then change frontend.yaml or leave files out, and pack again with ESPnet's pack."""
    archive = pack(recipe_dir, out.with_suffix(".orig.zip"))
    meta = yaml.safe_load(zipfile.ZipFile(archive).read("meta.yaml"))
    frontend = recipe_dir / "exp/context_train_kathaka_sampler_cpu" / FRONTEND_YAML
    if edit_frontend is not None:
        settings = yaml.safe_load(frontend.read_text())
        edit_frontend(settings)
        frontend.write_text(yaml.safe_dump(settings))
    option = [
        n
        for n in zipfile.ZipFile(archive).namelist()
        if n != "meta.yaml" and n not in meta["files"].values() and n not in meta["yaml_files"].values()
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(recipe_dir)
        pack_funcs.pack(files=meta["files"], yaml_files=meta["yaml_files"], option=option, outpath=out)
    if drop:
        kept = out.with_suffix(".kept.zip")
        with zipfile.ZipFile(out) as src, zipfile.ZipFile(kept, "w") as dst:
            for name in src.namelist():
                if name not in drop:
                    dst.writestr(name, src.read(name))
        return kept
    return out


def test_other_major_version_is_an_error_naming_both(recipe_dir, tmp_path):
    archive = _repack(recipe_dir, tmp_path / "v.zip", lambda f: f.update(prosody_plugin_version="1.0.0"))
    with pytest.raises(
        PackedModelError, match=rf"packed by prosody_plugin 1\.0\.0, installed is {__version__}"
    ):
        unpack_model(archive, tmp_path / "out")


def test_missing_version_is_an_error(recipe_dir, tmp_path):
    archive = _repack(recipe_dir, tmp_path / "v.zip", lambda f: f.pop("prosody_plugin_version"))
    with pytest.raises(
        PackedModelError, match=rf"unknown prosody_plugin version \(installed: {__version__}\)"
    ):
        unpack_model(archive, tmp_path / "out")
    archive = _repack(recipe_dir, tmp_path / "w.zip", drop=[f"{CONTEXT_EXP}/{FRONTEND_YAML}"])
    with pytest.raises(PackedModelError, match="unknown prosody_plugin version"):
        unpack_model(archive, tmp_path / "out2")


def test_other_minor_version_warns():
    major = __version__.split(".")[0]
    with pytest.warns(UserWarning, match=rf"packed by prosody_plugin {major}\.99\.0"):
        check_version(f"{major}.99.0", "frontend.yaml")
    check_version(__version__, "frontend.yaml")  # same version: silent


def test_missing_file_is_named(recipe_dir, tmp_path):
    archive = _repack(recipe_dir, tmp_path / "m.zip", drop=[f"{CONTEXT_EXP}/valid.loss.ave.pth"])
    missing = rf"context_model_file is missing: .*{CONTEXT_EXP}/valid\.loss\.ave\.pth"
    with pytest.raises(FileNotFoundError, match=missing):
        unpack_model(archive, tmp_path / "out")


def test_checkpoint_that_needs_unpickling_is_refused(recipe_dir, tmp_path):
    torch.save({"args": argparse.Namespace(x=1)}, recipe_dir / "exp/tts_train_kathaka_cpu/valid.loss.ave.pth")
    archive = pack(recipe_dir, tmp_path / "p.zip")
    with pytest.raises(PackedModelError, match="weights_only=True"):
        unpack_model(archive, tmp_path / "out")


def test_upload_dry_run_prepares_a_complete_model_repo(recipe_dir, tmp_path):
    archive = pack(recipe_dir, tmp_path / "kathaka.zip")
    scores = tmp_path / "RESULTS.md"
    scores.write_text("| system | MCD |\n| --- | --- |\n| kathaka | 7.1 |\n")
    out = tmp_path / "hf_kathaka"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "prosody_plugin.bin.upload",
            "--packed",
            str(archive),
            "--outdir",
            str(out),
            "--corpus",
            "asterisk",
            "--scores",
            str(scores),
            "--hf_repo",
            "user/asterisk_prosody_kathaka",
            "--dry_run",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    readme = (out / "README.md").read_text()
    front = yaml.safe_load(readme.split("---")[1])
    assert {"espnet", "text-to-speech", "prosody", "kathaka"} <= set(front["tags"])
    assert front["license"] == "cc-by-sa-3.0"
    assert 'Text2SpeechProsody.from_pretrained("user/asterisk_prosody_kathaka")' in readme
    assert "| kathaka | 7.1 |" in readme and "kathaka_sampler" in readme
    meta = yaml.safe_load((out / "meta.yaml").read_text())
    for group in ("files", "yaml_files"):
        for value in meta[group].values():
            assert (out / value).is_file(), value
    # ESPnet's Hugging Face layout: the configs keep the paths relative to the repo
    config = yaml.safe_load((out / meta["yaml_files"]["train_config"]).read_text())
    assert config["normalize_conf"]["stats_file"] == f"{STATS}/feats_stats.npz"
    assert (out / STATS / "feats_stats.npz").is_file()
    assert (out / "exp/context_train_kathaka_sampler_cpu" / FRONTEND_YAML).is_file()


def test_upload_license_for_public_domain_and_unknown_corpora(recipe_dir, tmp_path):
    from prosody_plugin.upload import prepare_folder

    archive = pack(recipe_dir, tmp_path / "kathaka.zip")
    readme = (prepare_folder(archive, tmp_path / "lj", "ljspeech") / "README.md").read_text()
    front = yaml.safe_load(readme.split("---")[1])
    assert front["license"] == "other" and front["license_name"] == "public-domain"
    assert "public domain" in readme and "path/to/packed.zip" in readme
    # an unknown corpus without --license: the card says so (and a warning), nothing fails
    readme = (prepare_folder(archive, tmp_path / "x", "my_corpus") / "README.md").read_text()
    front = yaml.safe_load(readme.split("---")[1])
    assert front["license"] == "other" and front["license_name"] == "license-not-given"
    assert "**License not given.**" in readme and "my_corpus" in readme
    readme = (
        prepare_folder(archive, tmp_path / "y", "my_corpus", license="cc-by-4.0") / "README.md"
    ).read_text()
    assert yaml.safe_load(readme.split("---")[1])["license"] == "cc-by-4.0"


def test_model_repo_includes_the_samples_page_and_mushra_scores(recipe_dir, tmp_path, ljspeech_mini):
    from prosody_plugin.listening.samples import build_samples_page
    from prosody_plugin.listening.selection import Recordings, parse_systems
    from prosody_plugin.upload import prepare_folder

    data, decoded = tmp_path / "data", tmp_path / "decoded"
    data.mkdir()
    decoded.mkdir()
    (data / "text").write_text("LJ001-0002 in being comparatively modern.\n")
    (data / "wav.scp").write_text(f"LJ001-0002 {ljspeech_mini / 'wavs' / 'LJ001-0002.wav'}\n")
    (decoded / "wav.scp").write_text(
        f"LJ001-0002 {ljspeech_mini / 'wavs' / 'LJ001-0003.wav'}\n"
    )  # a stand-in decode
    page = build_samples_page(
        tmp_path / "samples",
        Recordings(data),
        parse_systems([f"kathaka_sampled={decoded}"]),
        ["LJ001-0002"],
        {"LJ001-0002": "fragment"},
    )
    mushra = tmp_path / "MUSHRA.md"
    mushra.write_text("# Listening tests\n\n| condition | mean |\n|---|---|\n| kathaka_sampled | 71.5 |\n")
    out = prepare_folder(
        pack(recipe_dir, tmp_path / "k.zip"),
        tmp_path / "hf",
        "asterisk",
        listening_scores=mushra,
        samples=page.parent,
    )
    readme = (out / "README.md").read_text()
    assert "## Listening test (MUSHRA)" in readme and "| kathaka_sampled | 71.5 |" in readme
    assert "[`samples/index.html`](samples/index.html)" in readme
    assert (out / "samples" / "index.html").read_text() == page.read_text()
    assert (out / "samples" / "audio" / "LJ001-0002" / "kathaka_sampled.wav").is_file()
    with pytest.raises(FileNotFoundError, match="not a samples page"):
        prepare_folder(pack(recipe_dir, tmp_path / "k2.zip"), tmp_path / "hf2", "asterisk", samples=tmp_path)


def test_upload_refuses_a_model_whose_license_is_not_given(recipe_dir, tmp_path, caplog):
    """Nothing reaches the hub: the CLI stops first, and upload() itself checks the card."""
    from prosody_plugin.bin.upload import main
    from prosody_plugin.upload import LicenseNotGiven, prepare_folder, upload

    archive = pack(recipe_dir, tmp_path / "kathaka.zip")
    out = tmp_path / "hf"
    with pytest.raises(SystemExit) as excinfo:
        main(["--packed", str(archive), "--outdir", str(out), "--corpus", "my_corpus", "--hf_repo", "user/x"])
    assert excinfo.value.code == 1 and not out.exists()
    assert "not uploading to user/x" in caplog.text and "--corpus_license" in caplog.text
    folder = prepare_folder(archive, out, "my_corpus")
    with pytest.raises(LicenseNotGiven, match="license is not given"):
        upload(folder, "user/x")
    # no corpus is assumed: a card never names (and licenses) a corpus nobody gave
    with pytest.raises(SystemExit) as excinfo:
        main(["--packed", str(archive), "--outdir", str(tmp_path / "unnamed"), "--dry_run"])
    assert excinfo.value.code == 2 and not (tmp_path / "unnamed").exists()
    # the dry run (and no --hf_repo) writes the folder and succeeds
    main(
        [
            "--packed",
            str(archive),
            "--outdir",
            str(tmp_path / "dry"),
            "--corpus",
            "my_corpus",
            "--hf_repo",
            "user/x",
            "--dry_run",
        ]
    )
    assert "license-not-given" in (tmp_path / "dry" / "README.md").read_text()
