"""ESPnet G2P types for English accents other than American: espeak-ng's English voices.

ESPnet's ``espeak_ng_english_us_vits`` runs espeak-ng's ``en-us`` voice through phonemizer
(stress marks kept, punctuation kept, ``<space>`` between words: the VITS recipe's front
end). espeak-ng has other English voices, which transcribe the same text with another
accent's phonemes (``bath``: ``b ˈ æ θ`` in en-us, ``b ˈ ɑː θ`` in en-gb; non-rhotic vowels,
``ɒ`` in ``lot``). Importing :mod:`prosody_plugin` registers one ESPnet G2P type per voice,
with exactly the US type's options, so that ``--g2p espeak_ng_english_gb_vits`` works in
every ESPnet parser and tokenizer of a process that imported the plugin (the recipe's
stages all do; stage 3 runs ``prosody_plugin.bin.tokenize_text``, ESPnet's tokenizer CLI
with the plugin loaded). A packed model records its G2P type in its config, so inference
with :mod:`prosody_plugin.inference` uses the same front end.

Registration adds the names to ESPnet's ``g2p_choices`` (the list its argument parsers
check) and lets ``PhonemeTokenizer`` build them; ESPnet's own types are untouched.
espeak-ng's Scottish voice (en-gb-scotland) is left out: it writes long vowels with an ASCII
colon (``bˈa:θ``), which the word-boundary rules would take for punctuation.
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
