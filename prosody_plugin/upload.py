"""A Hugging Face model repo from a packed model (:mod:`prosody_plugin.pack`), as ESPnet's recipes do.

:func:`prepare_folder` writes the archive's files and a model card, :func:`upload` sends them
and refuses a card whose license is not given. docs/recipes.md (Stages 15-16).
"""

import logging
import re
import shutil
from pathlib import Path
from typing import Any, Dict, Optional

import yaml
from espnet2.main_funcs.pack_funcs import Archiver

from prosody_plugin.pack import FRONTEND_YAML, check_archive, check_version
from prosody_plugin.systems import system_class
from prosody_plugin.version import __version__

# corpus -> (license of the front matter, the corpus as the card names it, its license in words)
CORPORA = {
    "asterisk": (
        "cc-by-sa-3.0",
        "the Asterisk prompts (Allison Smith, Debian package asterisk-core-sounds-en)",
        "CC-BY-SA-3.0, as the Asterisk prompts it was trained on.",
    ),
    "ljspeech": (
        "other",
        "LJSpeech 1.1 (Keith Ito)",
        "LJSpeech is in the public domain; the model is released with the same terms.",
    ),
    "mini_ljspeech": (
        "other",
        "32 utterances of LJSpeech 1.1 (CI recipe)",
        "LJSpeech is in the public domain; the model is released with the same terms.",
    ),
}
#: ``license_name`` of a model card whose corpus license is unknown and was not given.
LICENSE_NOT_GIVEN = "license-not-given"


class LicenseNotGiven(ValueError):
    """Uploading a model whose license is not given."""


def extract(packed: Path, outdir: Path) -> Dict[str, Any]:
    """Extract the archive as it is packed (relative paths) into ``outdir``; return meta.yaml."""
    check_archive(packed, outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    with Archiver(packed) as archive:
        for info in archive:
            archive.extract(info, path=outdir)
    with open(outdir / "meta.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def _summary(train_config: Dict[str, Any], context_config: Dict[str, Any], frontend: Dict[str, Any]) -> str:
    tts_conf = train_config.get("tts_conf") or {}
    feats = train_config.get("feats_extract_conf") or {}
    predictor_conf = {
        k: v for k, v in (context_config.get("predictor_conf") or {}).items() if k != "vocab_sizes"
    }
    from prosody_plugin.systems import representation_size, system_class

    system = train_config.get("tts")
    size_key = system_class(system).size_key
    rows = [
        (
            "stage one",
            f"{system} (ESPnet FastSpeech2 + prosody), {size_key} {representation_size(system, tts_conf)}",
        ),
        (
            "encoder / decoder",
            f"{tts_conf.get('encoder_type', 'transformer')} x {tts_conf.get('elayers')} / "
            f"{tts_conf.get('decoder_type', 'transformer')} x {tts_conf.get('dlayers')}, "
            f"adim {tts_conf.get('adim')}",
        ),
        (
            "features",
            f"{feats.get('n_mels')}-dim log-mel, fs {feats.get('fs')}, n_fft {feats.get('n_fft')}, "
            f"hop {feats.get('hop_length')}",
        ),
        (
            "text",
            f"{frontend.get('token_type')} tokens, cleaner {frontend.get('cleaner')}, "
            f"g2p {frontend.get('g2p')}, {len(train_config.get('token_list') or [])} tokens",
        ),
        ("stage-one training", f"{train_config.get('max_epoch')} epochs, optim {train_config.get('optim')}"),
        ("stage two", f"{context_config.get('predictor')} {predictor_conf}"),
        (
            "stage-two training",
            f"{context_config.get('max_epoch')} epochs, optim {context_config.get('optim')}",
        ),
        ("BERT", frontend.get("bert_model") or f"default: {frontend['defaults']['bert_model']}"),
        ("spaCy", frontend.get("spacy_model") or f"default: {frontend['defaults']['spacy_model']}"),
        ("packed by", f"prosody_plugin {frontend.get('prosody_plugin_version')}"),
    ]
    return "\n".join(["| | |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in rows)])


def make_model_card(
    folder: Path,
    meta: Dict[str, Any],
    corpus: str,
    license: Optional[str] = None,
    scores: Optional[Path] = None,
    hf_repo: Optional[str] = None,
    listening_scores: Optional[Path] = None,
    samples: Optional[str] = None,
) -> str:
    """The README.md of the model repo (``samples``: the samples page's path in the repo)."""
    known = CORPORA.get(corpus)
    not_given = license is None and known is None
    if not_given:
        logging.warning(
            f"corpus {corpus!r} has no known license ({', '.join(CORPORA)} have) and none was given: the model "
            "card says 'license not given' (give it with --license; the recipe's --corpus_license); uploading "
            "is refused until it is"
        )
        license = "other"
    license = license or known[0]
    corpus_text = known[1] if known else corpus
    if not_given:
        license_text = (
            f"**License not given.** The license of the training corpus ({corpus}) was not stated when this "
            "card was written (`--license`; the recipe's `--corpus_license`). The model is derived from that "
            "corpus: until its license is known, assume no right to use or redistribute the model beyond "
            "what the corpus's owner allows."
        )
    else:
        license_text = known[2] if known and license == known[0] else f"{license}"
    load = lambda key: yaml.safe_load((folder / meta["yaml_files"][key]).read_text(encoding="utf-8"))  # noqa: E731
    train_config, context_config = load("train_config"), load("context_train_config")
    context_dir = Path(meta["yaml_files"]["context_train_config"]).parent
    frontend = yaml.safe_load((folder / context_dir / FRONTEND_YAML).read_text(encoding="utf-8"))
    system = train_config.get("tts")
    front = dict(
        tags=["espnet", "audio", "text-to-speech", "prosody", system],
        language=["en"],
        library_name="espnet",
        pipeline_tag="text-to-speech",
        license=license,
    )
    if not_given:
        front.update(license_name=LICENSE_NOT_GIVEN)
    elif license == "other":
        front.update(
            license_name="public-domain" if known and known[0] == "other" else "other"
        )  # the known "other": public domain
    model_ref = hf_repo or "path/to/packed.zip"
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False).strip(),
        "---",
        "",
        f"# {system_class(system).title}: prosody from text context, ESPnet TTS",
        "",
        f"A two-stage {system} model of the ESPnet plugin prosody_plugin, trained on "
        f"{corpus_text}: stage one is ESPnet's FastSpeech2 with a learned prosody representation, "
        f"stage two predicts that representation from the text (BERT + syntax).",
        "",
        "## Usage",
        "",
        f"Install prosody_plugin {frontend.get('prosody_plugin_version')} (same major version) and "
        "`espnet_model_zoo`, then:",
        "",
        "```python",
        "import soundfile as sf",
        "from prosody_plugin.inference import Text2SpeechProsody",
        "",
        f'tts = Text2SpeechProsody.from_pretrained("{model_ref}")',
        'out = tts("Please enter your agent number.", seed=0)',
        'sf.write("out.wav", out["wav"].numpy(), tts.fs)',
        "```",
        "",
        "The waveform comes from Griffin-Lim unless a vocoder is given (`vocoder_file=` a "
        'ParallelWaveGAN-family `.pkl`, or `vocoder_tag="parallel_wavegan/<tag>"`).',
        "",
        "## Model",
        "",
        _summary(train_config, context_config, frontend),
        "",
        "Files (ESPnet's packed layout, `meta.yaml`):",
        "",
        *(f"- `{k}`: `{v}`" for group in ("yaml_files", "files") for k, v in meta[group].items()),
        "",
    ]
    if scores is not None:
        # the scores file's own headings go below this section's
        text = Path(scores).read_text(encoding="utf-8").strip()
        text = re.sub(r"^(#+) ", lambda m: "#" * min(len(m.group(1)) + 2, 6) + " ", text, flags=re.M)
        lines += ["## Results", "", text, ""]
    if listening_scores is not None:
        text = Path(listening_scores).read_text(encoding="utf-8").strip()
        text = re.sub(r"^(#+) ", lambda m: "#" * min(len(m.group(1)) + 2, 6) + " ", text, flags=re.M)
        lines += ["## Listening test (MUSHRA)", "", text, ""]
    if samples is not None:
        lines += [
            "## Samples",
            "",
            f"[`{samples}`]({samples}): the recordings and every system of the recipe side by side on chosen "
            "eval sentences, with their scores, F0 contours and several renditions of one text (Kathaka). "
            "The folder is self-contained: download the repo (or the folder) and open the page in a browser.",
            "",
        ]
    lines += [
        "## License",
        "",
        license_text,
        "",
        f"Trained with ESPnet {meta.get('espnet')} and torch {meta.get('torch')}.",
        "",
    ]
    return "\n".join(lines)


def prepare_folder(
    packed: Path,
    outdir: Path,
    corpus: str,
    license: Optional[str] = None,
    scores: Optional[Path] = None,
    hf_repo: Optional[str] = None,
    listening_scores: Optional[Path] = None,
    samples: Optional[Path] = None,
) -> Path:
    """Write the model repo folder: the packed files, README.md and a copy of the samples page."""
    meta = extract(Path(packed), Path(outdir))
    samples_link = None
    if samples is not None:
        if not (Path(samples) / "index.html").is_file():
            raise FileNotFoundError(f"{samples}/index.html is missing: not a samples page (recipe stage 13)")
        target = Path(outdir) / "samples"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(samples, target)
        samples_link = "samples/index.html"
    frontend = Path(outdir) / Path(meta["yaml_files"]["context_train_config"]).parent / FRONTEND_YAML
    check_version((yaml.safe_load(frontend.read_text()) or {}).get("prosody_plugin_version"), frontend)
    card = make_model_card(
        Path(outdir),
        meta,
        corpus,
        license=license,
        scores=scores,
        hf_repo=hf_repo,
        listening_scores=listening_scores,
        samples=samples_link,
    )
    (Path(outdir) / "README.md").write_text(card, encoding="utf-8")
    return Path(outdir)


def card_license(folder: Path) -> Dict[str, Any]:
    """The front matter of a model repo folder's README.md (license, license_name, ...)."""
    text = (Path(folder) / "README.md").read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise ValueError(f"{folder}/README.md has no front matter")
    return yaml.safe_load(text.split("---")[1]) or {}


def upload(folder: Path, hf_repo: str) -> None:
    """Create the repo if needed and upload the folder (needs a Hugging Face token).

    Raises:
        LicenseNotGiven: When the card's license is not given (nothing is uploaded).
    """
    if card_license(folder).get("license_name") == LICENSE_NOT_GIVEN:
        raise LicenseNotGiven(
            f"not uploading {folder} to {hf_repo}: its license is not given; pass --license "
            "(the recipe's --corpus_license) with the training corpus's license"
        )
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(hf_repo, repo_type="model", exist_ok=True)
    api.upload_folder(
        folder_path=str(folder),
        repo_id=hf_repo,
        repo_type="model",
        commit_message=f"Upload packed model (prosody_plugin {__version__})",
    )
