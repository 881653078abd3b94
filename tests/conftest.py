"""Shared fixtures: a small phoneme token list, models built through the plugin's task, a browser."""

import argparse
import json
import logging
import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
import torch

# A real ESPnet phoneme token list in miniature: blank, unk, word boundary, punctuation,
# phonemes and stress marks, and <sos/eos> last (FastSpeech2 uses idim - 1 as eos).
TOKENS: List[str] = [
    "<blank>",
    "<unk>",
    "<space>",
    ".",
    ",",
    "?",
    "!",
    "h",
    "ə",
    "l",
    "o",
    "ʊ",
    "w",
    "ɜ",
    "ː",
    "d",
    "ɪ",
    "z",
    "ˈ",
    "<sos/eos>",
]
TOKEN_ID: Dict[str, int] = {t: i for i, t in enumerate(TOKENS)}


def ids(tokens: str) -> torch.Tensor:
    """Token ids of a space-separated token string ("h ə <space> w")."""
    return torch.tensor([TOKEN_ID[t] for t in tokens.split()])


FS = 8000
HOP = 128
# FastSpeech2 small enough for CPU unit tests; every option is a real FastSpeech2 option.
SMALL_FASTSPEECH2 = dict(
    adim=32,
    aheads=2,
    elayers=1,
    eunits=32,
    dlayers=1,
    dunits=32,
    postnet_layers=0,
    duration_predictor_layers=1,
    duration_predictor_chans=16,
    pitch_predictor_layers=1,
    pitch_predictor_chans=16,
    energy_predictor_layers=1,
    energy_predictor_chans=16,
    pitch_embed_kernel_size=1,
    energy_embed_kernel_size=1,
)
MODEL_CONFS = {
    "fastspeech2": dict(SMALL_FASTSPEECH2),
    "kathaka": dict(
        SMALL_FASTSPEECH2,
        latent_dim=4,
        ref_conv_layers=2,
        ref_conv_chans_list=[8, 8],
        ref_gru_units=16,
        kl_weight=0.1,
        kl_anneal_start_steps=1,
        kl_anneal_steps=2,
    ),
    "camp": dict(SMALL_FASTSPEECH2, word_embed_dim=3, ref_conv_layers=1, ref_conv_chans=16),
    "aligner": dict(adim=16, text_conv_layers=1, bin_loss_start_steps=0),
}


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
        text=text,
        text_lengths=lengths,
        speech=speech,
        speech_lengths=speech_lengths,
        durations=durations,
        durations_lengths=lengths + 1,
    )


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
        text=batch["text"],
        text_lengths=batch["text_lengths"],
        feats=feats,
        feats_lengths=feats_lengths,
        pitch=pitch,
        pitch_lengths=pitch_lengths,
        energy=energy,
        energy_lengths=energy_lengths,
        **durations,
    )


@pytest.fixture
def batch():
    """A padded batch of two utterances: tokens, waveforms and durations that fit them."""
    return waveform_batch()


# ------------------------------------------------------------------------------------------
# ljspeech_mini: 32 real LJSpeech utterances (22.05 kHz) for the tests that need real speech
# and the CI recipe. Every test finds it through the ``ljspeech_mini`` fixture.

#: The corpus dir, overriding the lookup; ``none`` means "absent" (a spoken corpus instead).
LJSPEECH_MINI_ENV = "PROSODY_PLUGIN_LJSPEECH_MINI"


def locate_ljspeech_mini(start: Path = Path(__file__).resolve()) -> Optional[Path]:
    """The real ljspeech_mini, or None where it is absent.

    ``$PROSODY_PLUGIN_LJSPEECH_MINI`` when set (a corpus dir, or ``none``: absent); else the
    first ``shared/corpora/ljspeech_mini`` above ``start`` (``shared/`` is a sibling of the
    repo root: ``/work/shared`` beside ``/work/main``; it lives outside the repo by policy).
    """
    override = os.environ.get(LJSPEECH_MINI_ENV)
    if override is not None:
        if override.strip().lower() in ("", "none"):
            return None
        corpus = Path(override).expanduser().resolve()
        if not (corpus / "metadata.csv").is_file():
            raise FileNotFoundError(
                f"{LJSPEECH_MINI_ENV}={override}: no metadata.csv there (or 'none': absent)"
            )
        return corpus
    for parent in start.parents:
        corpus = parent / "shared" / "corpora" / "ljspeech_mini"
        if corpus.is_dir():
            return corpus
    return None


def pytest_report_header(config):
    try:
        corpus = locate_ljspeech_mini()
    except FileNotFoundError as e:
        return f"ljspeech_mini: {e}"
    if corpus is not None:
        return f"ljspeech_mini: {corpus}"
    if os.environ.get("CI"):
        return "ljspeech_mini: not found (CI is set: the tests that need it fail)"
    return "ljspeech_mini: not found; the tests that need it use a synthetic corpus spoken by espeak-ng"


@pytest.fixture(scope="session")
def ljspeech_mini(tmp_path_factory) -> Path:
    """A corpus dir in ljspeech_mini's layout: ``wavs/LJ001-00NN.wav`` (22.05 kHz mono) and
    ``metadata.csv`` (``id|transcript|normalized transcript``), ids LJ001-0001 .. LJ001-0032.

    The real corpus (:func:`locate_ljspeech_mini`) where it is found. Without it, CI (``CI``
    set) fails: CI always has the corpus. Elsewhere 32 English sentences spoken by espeak-ng
    stand in (``tests/spoken_corpus.py``), so every user runs the whole suite.
    """
    corpus = locate_ljspeech_mini()
    if corpus is not None:
        return corpus
    if os.environ.get("CI"):
        # CI always has the corpus: there a missing corpus is a failure, not a stand-in
        if os.environ.get(LJSPEECH_MINI_ENV) is not None:
            raise FileNotFoundError(
                f"{LJSPEECH_MINI_ENV}={os.environ[LJSPEECH_MINI_ENV]}: ljspeech_mini absent (CI needs it)"
            )
        raise FileNotFoundError("no shared/corpora/ljspeech_mini above " + str(Path(__file__).resolve()))
    from spoken_corpus import speak_ljspeech_style_corpus

    corpus = speak_ljspeech_style_corpus(tmp_path_factory.mktemp("ljspeech_mini_spoken") / "ljspeech_mini")
    logging.getLogger(__name__).warning(
        "ljspeech_mini not found: using a corpus spoken by espeak-ng at %s", corpus
    )
    _SPOKEN_CORPUS.append(corpus)
    return corpus


_SPOKEN_CORPUS: List[Path] = []  # the espeak-ng stand-in, once built (for the summary line)


def pytest_terminal_summary(terminalreporter):
    """One line at the end (also with -q) when the tests ran on the espeak-ng stand-in."""
    for corpus in _SPOKEN_CORPUS:
        terminalreporter.write_line(
            f"ljspeech_mini not found: the tests that need it ran on a corpus spoken by espeak-ng ({corpus}); "
            "CI runs them on the real corpus"
        )


@pytest.fixture(scope="session")
def ljspeech_mini_is_spoken(ljspeech_mini) -> bool:
    """Whether ``ljspeech_mini`` is the espeak-ng stand-in (for the few known-answer tests
    whose expected values depend on human speech, e.g. a predicted MOS)."""
    from spoken_corpus import is_spoken_corpus

    return is_spoken_corpus(ljspeech_mini)


@pytest.fixture(scope="session")
def ljspeech_metadata(ljspeech_mini) -> List[Tuple[str, str, str]]:
    """``(id, transcript, normalized transcript)`` of every line of the corpus's metadata.csv."""
    lines = (ljspeech_mini / "metadata.csv").read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("|", 2)) for line in lines if line.strip()]


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
            raise FileNotFoundError(
                f"{CHROMIUM} is missing: tools/install_system_deps.sh installs Debian's chromium"
            )
        pytest.skip("Debian's chromium is not installed (tools/install_system_deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
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
        selector,
        "els => els.map(a => [a.getAttribute('src'), a.readyState, a.duration, a.error && a.error.code])",
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
# a second of low-level noise (tests/spoken_corpus.py).


@pytest.fixture(scope="session")
def synthetic_corpus(tmp_path_factory):
    """(root, {utt: spoken_corpus.Utterance}): ``root/wav/*.wav`` (16 kHz) and ``root/txt/*.txt``."""
    from spoken_corpus import speak_corpus_with_pauses

    root = tmp_path_factory.mktemp("synthetic_corpus")
    return root, speak_corpus_with_pauses(root)
