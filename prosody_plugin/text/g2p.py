"""ESPnet G2P types for English accents other than American: espeak-ng's other English voices.

Importing :mod:`prosody_plugin` registers ``espeak_ng_english_<voice>_vits`` types with the
US type's options in ESPnet's ``g2p_choices``. docs/own_corpus.md (Accent and language: G2P).
"""

from typing import Dict

#: G2P type -> espeak-ng voice (``espeak-ng --voices=en`` lists them).
ESPEAK_ENGLISH_VOICES: Dict[str, str] = {
    "espeak_ng_english_gb_vits": "en-gb",  # Southern British English
    "espeak_ng_english_gb_rp_vits": "en-gb-x-rp",  # Received Pronunciation
    "espeak_ng_english_gb_lancaster_vits": "en-gb-x-gbclan",
    "espeak_ng_english_gb_west_midlands_vits": "en-gb-x-gbcwmd",
    "espeak_ng_english_caribbean_vits": "en-029",
}


def espeak_phonemizer(phoneme_tokenizer_module, language: str):
    """ESPnet's ``espeak_ng_english_us_vits`` front end with another espeak-ng voice."""
    return phoneme_tokenizer_module.Phonemizer(
        language=language,
        backend="espeak",
        with_stress=True,
        preserve_punctuation=True,
        strip=True,
        word_separator=" ",
        phone_separator="",
        split_by_single_token=True,
    )


def register(phoneme_tokenizer_module) -> None:
    """Add :data:`ESPEAK_ENGLISH_VOICES` to ``espnet2.text.phoneme_tokenizer`` (idempotent)."""
    choices = phoneme_tokenizer_module.g2p_choices
    for name in ESPEAK_ENGLISH_VOICES:
        if name not in choices:
            choices.append(name)
    tokenizer = phoneme_tokenizer_module.PhonemeTokenizer
    if getattr(tokenizer, "_prosody_plugin_g2p", False):
        return
    espnet_init = tokenizer.__init__

    def __init__(self, g2p_type, *args, **kwargs):
        if g2p_type not in ESPEAK_ENGLISH_VOICES:
            espnet_init(self, g2p_type, *args, **kwargs)
            return
        espnet_init(self, None, *args, **kwargs)  # ESPnet's setup of everything but the G2P
        self.g2p = espeak_phonemizer(phoneme_tokenizer_module, ESPEAK_ENGLISH_VOICES[g2p_type])
        self.g2p_type = g2p_type

    __init__.__doc__ = espnet_init.__doc__
    tokenizer.__init__ = __init__
    tokenizer._prosody_plugin_g2p = True


__all__ = ["ESPEAK_ENGLISH_VOICES", "register"]
