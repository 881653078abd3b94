"""Shared fixtures: a small phoneme token list, models built through the plugin's task, a browser."""

import argparse
import json
import os
import re
from pathlib import Path
from typing import Dict, List

import pytest
import torch

# A real ESPnet phoneme token list in miniature: blank, unk, word boundary, punctuation,
# phonemes and stress marks, and <sos/eos> last (FastSpeech2 uses idim - 1 as eos).
TOKENS: List[str] = [
    "<blank>", "<unk>", "<space>", ".", ",", "?", "!",
    "h", "ə", "l", "o", "ʊ", "w", "ɜ", "ː", "d", "ɪ", "z", "ˈ", "<sos/eos>",
]  # fmt: skip
TOKEN_ID: Dict[str, int] = {t: i for i, t in enumerate(TOKENS)}


def ids(tokens: str) -> torch.Tensor:
    """Token ids of a space-separated token string ("h ə <space> w")."""
    return torch.tensor([TOKEN_ID[t] for t in tokens.split()])


FS = 8000
HOP = 128
# FastSpeech2 small enough for CPU unit tests; every option is a real FastSpeech2 option.
SMALL_FASTSPEECH2 = dict(
    adim=32, aheads=2, elayers=1, eunits=32, dlayers=1, dunits=32, postnet_layers=0,
    duration_predictor_layers=1, duration_predictor_chans=16, pitch_predictor_layers=1,
    pitch_predictor_chans=16, energy_predictor_layers=1, energy_predictor_chans=16,
    pitch_embed_kernel_size=1, energy_embed_kernel_size=1,
)  # fmt: skip
MODEL_CONFS = {
    "fastspeech2": dict(SMALL_FASTSPEECH2),
    "kathaka": dict(
        SMALL_FASTSPEECH2, latent_dim=4, ref_conv_layers=2, ref_conv_chans_list=[8, 8],
        ref_gru_units=16, kl_weight=0.1, kl_anneal_start_steps=1, kl_anneal_steps=2,
    ),
    "camp": dict(SMALL_FASTSPEECH2, word_embed_dim=3, ref_conv_layers=1, ref_conv_chans=16),
    "aligner": dict(adim=16, text_conv_layers=1, bin_loss_start_steps=0),
}  # fmt: skip


def build_model(tts: str, **overrides):
    """Build a model exactly as ``prosody_plugin.bin.tts_train`` does (real ESPnet parts)."""
    import prosody_plugin  # noqa: F401
    from prosody_plugin.tasks.tts import ProsodyTTSTask

    parser = ProsodyTTSTask.get_parser()
    args = parser.parse_args(["--token_list", "none", "--tts", tts, "--output_dir", "none"])
    args.token_list = list(TOKENS)
    args.tts_conf = dict(MODEL_CONFS[tts], **overrides)
    args.feats_extract_conf = dict(n_fft=256, hop_length=HOP, n_mels=20, fs=FS, fmax=FS // 2)
    args.normalize = None
    if tts != "aligner":
        common = dict(fs=FS, n_fft=256, hop_length=HOP)
        args.pitch_extract, args.energy_extract = "dio", "energy"
        args.pitch_extract_conf = dict(common, f0max=400, f0min=80)
        args.energy_extract_conf = dict(common, win_length=None)
        args.pitch_normalize = args.energy_normalize = None
    return ProsodyTTSTask.build_model(args)


def num_frames(num_samples: int, hop: int = HOP) -> int:
    """Frames of ESPnet's centred STFT."""
    return num_samples // hop + 1


def waveform_batch(fs: int = FS, hop: int = HOP) -> Dict[str, torch.Tensor]:
    """A padded batch of two utterances: tokens, waveforms and durations that fit them."""
    torch.manual_seed(0)
    texts = [ids("h ə l ˈ o ʊ , <space> w ˈ ɜ ː l d ."), ids("h ɪ z <space> w ɜ ?")]
    lengths = torch.tensor([len(t) for t in texts])
    text = torch.zeros(2, int(lengths.max()), dtype=torch.long)
    for i, t in enumerate(texts):
        text[i, : len(t)] = t
    t = torch.arange(fs) / fs
    speech = torch.stack([torch.sin(2 * torch.pi * 180 * t), torch.sin(2 * torch.pi * 220 * t)])
    speech = speech * 0.3 + 0.01 * torch.randn_like(speech)
    speech_lengths = torch.tensor([fs, fs * 3 // 4])
    speech[1, speech_lengths[1] :] = 0
    durations = torch.zeros(2, int(lengths.max()) + 1, dtype=torch.long)
    for i, n in enumerate(lengths.tolist()):
        frames = num_frames(int(speech_lengths[i]), hop)
        d = torch.full((n + 1,), frames // (n + 1))
        d[-1] += frames - d.sum()
        durations[i, : n + 1] = d
    return dict(
        text=text, text_lengths=lengths, speech=speech, speech_lengths=speech_lengths,
        durations=durations, durations_lengths=lengths + 1,
    )  # fmt: skip


def tts_inputs(model, batch: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The TTS module's inputs from a waveform batch, extracted as ESPnetTTSModel.forward
    does (models built here have no normalisation)."""
    assert model.normalize is None and model.pitch_normalize is None and model.energy_normalize is None
    speech, lengths = batch["speech"], batch["speech_lengths"]
    feats, feats_lengths = model.feats_extract(speech, lengths)
    durations = dict(durations=batch["durations"], durations_lengths=batch["durations_lengths"])
    pitch, pitch_lengths = model.pitch_extract(speech, lengths, feats_lengths=feats_lengths, **durations)
    energy, energy_lengths = model.energy_extract(speech, lengths, feats_lengths=feats_lengths, **durations)
    return dict(
        text=batch["text"], text_lengths=batch["text_lengths"], feats=feats, feats_lengths=feats_lengths,
        pitch=pitch, pitch_lengths=pitch_lengths, energy=energy, energy_lengths=energy_lengths, **durations,
    )  # fmt: skip


@pytest.fixture
def batch():
    """A padded batch of two utterances: tokens, waveforms and durations that fit them."""
    return waveform_batch()


def find_shared_dir(start: Path) -> Path:
    """The ``shared`` dir beside the repository (corpora for tests and the CI recipe)."""
    for parent in [start, *start.parents]:
        if (parent / "shared" / "corpora" / "ljspeech_mini").is_dir():
            return parent / "shared"
    raise FileNotFoundError("no shared/corpora/ljspeech_mini above " + str(start))


@pytest.fixture(scope="session")
def ljspeech_mini() -> Path:
    """``shared/corpora/ljspeech_mini`` (32 real LJSpeech utterances, 22.05 kHz).

    ``shared/`` is a sibling of the repo root (``/work/shared`` beside ``/work/main``).
    """
    try:
        return find_shared_dir(Path(__file__).resolve()) / "corpora" / "ljspeech_mini"
    except FileNotFoundError:
        # The corpus lives outside the repo by policy (never committed). CI always has it,
        # so there a missing corpus is a failure; elsewhere its tests are skipped.
        if os.environ.get("CI"):
            raise
        pytest.skip("shared/corpora/ljspeech_mini not found beside the repo (or above it)")


@pytest.fixture(scope="session")
def tokens_namespace():
    return argparse.Namespace(tokens=TOKENS, token_id=TOKEN_ID)


# ------------------------------------------------------------------------------------------
# A real browser for the listening pages: Debian's chromium driven by Playwright.

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (Debian's; CI installs it with tools/install_system_deps.sh)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise FileNotFoundError(f"{CHROMIUM} is missing: tools/install_system_deps.sh installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed (tools/install_system_deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


def open_page(browser, path: Path):
    """A page at ``path`` that may load only files inside the page's folder (no network)."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    errors, outside = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    folder = path.parent.resolve().as_uri()

    def guard(route):
        if route.request.url.startswith(folder + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(path.resolve().as_uri())
    return page, errors, outside


def wait_for_audio(page, selector: str = "audio") -> list:
    """(src, readyState, duration) of every audio element matched, once each has its metadata."""
    page.wait_for_function(
        f"Array.from(document.querySelectorAll({json.dumps(selector)})).every(a => a.readyState >= 1 || a.error)",
        timeout=20000,
    )
    return page.eval_on_selector_all(
        selector, "els => els.map(a => [a.getAttribute('src'), a.readyState, a.duration, a.error && a.error.code])"
    )


def check_html(path: Path) -> str:
    """Valid HTML5 (html5lib's strict parser), relative links only, every one inside the folder."""
    import html5lib

    text = path.read_text(encoding="utf-8")
    html5lib.HTMLParser(strict=True).parse(text)  # raises on any parse error
    ids = re.findall(r'\sid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "duplicate ids"
    for link in re.findall(r'(?:src|href)="([^"]+)"', text):
        assert not re.match(r"^[a-z]+:|^/|^//", link), f"not a relative link: {link}"
        if not link.startswith("#"):
            target = (path.parent / link).resolve()
            assert target.is_file() and target.is_relative_to(path.parent.resolve()), link
    assert "http://" not in text and "https://" not in text
    return text


# ------------------------------------------------------------------------------------------
# A corpus with known speech spans and pauses: espeak-ng speech at a low pitch, padded with
# a second of low-level noise (tests/synthetic_corpus.py).


@pytest.fixture(scope="session")
def synthetic_corpus(tmp_path_factory):
    """(root, {utt: synthetic_corpus.Utterance}): ``root/wav/*.wav`` (16 kHz) and ``root/txt/*.txt``."""
    from synthetic_corpus import make_corpus

    root = tmp_path_factory.mktemp("synthetic_corpus")
    return root, make_corpus(root)
