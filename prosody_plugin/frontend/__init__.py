"""Text front end of stage two: one canonical word sequence per utterance.

:mod:`prosody_plugin.frontend.words` turns raw text into ESPnet's phoneme tokens and the
word sequence the acoustic models see (``prosody_plugin.text.word_boundaries`` rules);
:mod:`prosody_plugin.frontend.bert` and :mod:`prosody_plugin.frontend.syntax` compute one
vector / one row of syntax ids per word of that sequence.

Submodules are imported lazily (ESPnet's tokenizer, transformers and spaCy are slow to
import), so ``from prosody_plugin.frontend import TextFrontend`` only loads what it needs.
"""

import importlib

_EXPORTS = {
    "TextFrontend": "words",
    "Utterance": "words",
    "split_sentences": "words",
    "WordEmbedder": "bert",
    "SyntaxAnalyzer": "syntax",
    "WordSyntax": "syntax",
    "edge_index": "syntax",
    "dependency_edges": "syntax",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
