"""Text front end of stage two: one canonical word sequence per utterance, with BERT and syntax per word.

Submodules are imported lazily (ESPnet's tokenizer, transformers and spaCy are slow to
import). docs/stage_two.md (The front end).
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
