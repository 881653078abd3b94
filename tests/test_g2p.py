"""The plugin's espeak-ng English accents as ESPnet G2P types (real espeak-ng, real ESPnet)."""

import prosody_plugin  # noqa: F401  (registers the G2P types)
from prosody_plugin.text.g2p import ESPEAK_ENGLISH_VOICES


def tokens(g2p: str, text: str):
    from espnet2.text.build_tokenizer import build_tokenizer
    from espnet2.text.cleaner import TextCleaner

    tokenizer = build_tokenizer(token_type="phn", g2p_type=g2p, space_symbol="<space>")
    return tokenizer.text2tokens(TextCleaner("tacotron")(text))


def test_british_english_differs_from_american_where_the_accents_do():
    text = "A bath, the car, a lot."
    us, gb, rp = (tokens(f"espeak_ng_english_{v}_vits", text) for v in ("us", "gb", "gb_rp"))
    # same layout: words separated by <space>, punctuation kept, stress marks as tokens
    assert us.count("<space>") == gb.count("<space>") == rp.count("<space>") == 5
    assert gb.count(",") == 2 and gb[-1] == "." and "ˈ" in gb

    def word(result, i):  # the i-th word's tokens
        words = " ".join(result).replace(",", "").replace(".", "").split("<space>")
        return words[i].split()

    # bath: TRAP vowel in en-us, a in en-gb, long BATH vowel in RP
    assert "æ" in word(us, 1) and "a" in word(gb, 1) and "ɑ" in word(rp, 1) and "ː" in word(rp, 1)
    # car: rhotic in en-us only; lot: unrounded in en-us, rounded in British English
    assert "ɹ" in word(us, 3) and "ɹ" not in word(gb, 3)
    assert "ɑ" in word(us, 5) and "ɒ" in word(gb, 5)


def test_every_registered_voice_phonemizes():
    for g2p in ESPEAK_ENGLISH_VOICES:
        result = tokens(g2p, "Hello world.")
        assert "<space>" in result and result[-1] == ".", (g2p, result)


def test_espnet_parsers_accept_the_new_types(tmp_path):
    from espnet2.tasks.tts import TTSTask

    from prosody_plugin.bin import tokenize_text

    args = TTSTask.get_parser().parse_args(["--g2p", "espeak_ng_english_gb_vits", "--output_dir", "x"])
    assert args.g2p == "espeak_ng_english_gb_vits"
    text = tmp_path / "text"
    text.write_text("u1 A bath.\nu2 The car park.\n")  # no LOT vowel: no ɒ
    out = tmp_path / "tokens.txt"
    tokenize_text.main(
        [
            "--token_type",
            "phn",
            "--g2p",
            "espeak_ng_english_gb_vits",
            "--cleaner",
            "tacotron",
            "-f",
            "2-",
            "--input",
            str(text),
            "--output",
            str(out),
            "--write_vocabulary",
            "true",
        ]
    )
    vocabulary = out.read_text().split()
    assert "ɒ" not in vocabulary and "ɑ" in vocabulary and "<space>" in vocabulary and "ɹ" not in vocabulary
    assert "a" in vocabulary  # bath
