"""The SSML subset parser: plain text round trip, nesting, every value form, every refusal."""

import math
import string
import sys
import time
import tracemalloc
from typing import List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prosody_plugin.text.ssml import (
    BREAK_STRENGTH_SECONDS,
    PITCH_WORDS_SEMITONES,
    RANGE_WORDS,
    RATE_WORDS,
    VOLUME_WORDS_DB,
    Break,
    Controls,
    ControlSpan,
    is_ssml,
    parse_ssml,
)

PLAIN_ALPHABET = string.ascii_letters + string.digits + "éüßЖ" + " \t\n" + ".,?!'"
plain_text = st.text(alphabet=PLAIN_ALPHABET, max_size=80)


def speak(body: str) -> str:
    return f"<speak>{body}</speak>"


def controls_of(body: str) -> Controls:
    """The controls of the only span of ``<speak>body</speak>`` (neutral when there is none)."""
    doc = parse_ssml(speak(body))
    assert len(doc.spans) <= 1
    return doc.spans[0].controls if doc.spans else Controls()


# -- plain text ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(text=plain_text)
def test_plain_text_round_trip(text):
    assert not is_ssml(text)  # no "<" in the alphabet: never SSML, the plain path stays as is
    if not text.strip():
        with pytest.raises(ValueError, match="nothing to speak"):
            parse_ssml(speak(text))
        return
    doc = parse_ssml(speak(text))
    assert doc.text == " ".join(text.split())
    assert doc.spans == [] and doc.breaks == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<speak>hi</speak>", True),
        ("  \n<speak version='1.1'>hi</speak>", True),
        ("<speak/>", True),
        ("<speak", True),  # not well-formed, but meant as SSML: parse_ssml says what is wrong
        ('<?xml version="1.0"?>\n<speak>hi</speak>', True),
        ("<?xml version='1.0'?>", True),
        ("<!-- a comment -->\n<speak>hi</speak>", True),
        ("<!DOCTYPE speak><speak>hi</speak>", True),
        (" \n <!doctype html>", True),
        ("\ufeff<speak>hi</speak>", True),  # a byte order mark from a text file
        ("<speaker>hi</speaker>", False),
        ("hello <speak>hi</speak>", False),
        ("<emphasis>hi</emphasis>", False),
        ("", False),
        ("speak", False),
        # plain text with "<" and "&" stays plain
        ("I <3 you & me", False),
        ("<3 you", False),
        ("a < b && c > d", False),
        ("Tom &amp; Jerry <!DOCTYPE x>", False),
    ],
)
def test_is_ssml(text, expected):
    assert is_ssml(text) is expected


# -- nesting ------------------------------------------------------------------------------

level = st.tuples(
    st.integers(-120, 120).map(lambda t: t / 10),  # semitones
    st.integers(-200, 200).map(lambda d: d / 10),  # dB
    st.integers(10, 400),  # rate percent
    st.integers(-90, 300),  # range percent
)


@settings(max_examples=200, deadline=None)
@given(
    levels=st.lists(level, min_size=1, max_size=6),
    words=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1),
)
def test_nesting_adds_semitones_and_db_and_multiplies_rates(
    levels: List[Tuple[float, float, int, int]], words
):
    body = " ".join(words)
    for semitones, db, rate, range_ in reversed(levels):
        body = (
            f'<prosody pitch="{semitones:+.1f}st" volume="{db:+.1f}dB" rate="{rate}%" range="{range_:+d}%">'
            f"{body}</prosody>"
        )
    doc = parse_ssml(speak(body))
    assert doc.text == " ".join(words)
    expected = Controls(
        rate=math.prod(r / 100 for _, _, r, _ in levels),
        pitch_semitones=sum(s for s, _, _, _ in levels),
        pitch_range=math.prod(1 + g / 100 for _, _, _, g in levels),
        volume_db=sum(d for _, d, _, _ in levels),
    )
    got = doc.controls_at(0)
    assert got.rate == pytest.approx(expected.rate)
    assert got.pitch_semitones == pytest.approx(expected.pitch_semitones, abs=1e-9)
    assert got.pitch_range == pytest.approx(expected.pitch_range)
    assert got.volume_db == pytest.approx(expected.volume_db, abs=1e-9)
    if expected.is_neutral:
        assert doc.spans == []
    else:  # one span over all the words, spaces between them included
        assert [(s.start, s.end) for s in doc.spans] == [(0, len(doc.text))]


def test_nesting_relative_and_absolute():
    inner = '<prosody pitch="+1st" rate="50%" volume="-3dB" range="-50%">x</prosody>'
    outer = '<prosody pitch="+2st" rate="1.5" volume="+6dB" range="+100%">{}</prosody>'
    assert controls_of(outer.format(inner)) == Controls(
        rate=0.75, pitch_semitones=3.0, pitch_range=1.0, volume_db=3.0
    )
    # words are absolute (W3C): they set the value whatever the enclosing elements said
    words = '<prosody pitch="low" rate="slow" volume="loud" range="high">x</prosody>'
    assert controls_of(outer.format(words)) == Controls(0.75, -3.0, 1.5, 6.0)
    default = '<prosody pitch="default" rate="default" volume="default" range="default">x</prosody>'
    assert parse_ssml(speak(outer.format(default))).spans == []
    # a relative value applies to a word's value
    assert controls_of(
        '<prosody rate="fast"><prosody rate="80%">x</prosody></prosody>'
    ).rate == pytest.approx(1.0)
    assert (
        controls_of('<prosody pitch="high"><prosody pitch="+1st">x</prosody></prosody>').pitch_semitones
        == 4.0
    )


def test_emphasis_innermost_wins_and_keeps_prosody():
    reduced = '<emphasis level="reduced">c</emphasis>'
    doc = parse_ssml(
        speak(f'<emphasis level="strong">a <prosody pitch="+2st">b {reduced}</prosody></emphasis>')
    )
    assert doc.text == "a b c"
    assert doc.spans == [
        ControlSpan(0, 1, Controls(emphasis="strong")),
        ControlSpan(2, 3, Controls(pitch_semitones=2.0, emphasis="strong")),
        ControlSpan(4, 5, Controls(pitch_semitones=2.0, emphasis="reduced")),
    ]


# -- value forms --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, rate",
    [("80%", 0.8), ("100%", 1.0), ("250%", 2.5), ("1.2", 1.2), ("0.5", 0.5), ("2", 2.0), (".5", 0.5)]
    + sorted(RATE_WORDS.items()),
)
def test_rate_values(value, rate):
    assert controls_of(f'<prosody rate="{value}">x</prosody>').rate == pytest.approx(rate)


def test_word_tables():
    assert RATE_WORDS == {
        "x-slow": 0.5,
        "slow": 0.75,
        "medium": 1.0,
        "fast": 1.25,
        "x-fast": 1.75,
        "default": 1.0,
    }
    assert PITCH_WORDS_SEMITONES == {
        "x-low": -6,
        "low": -3,
        "medium": 0,
        "high": 3,
        "x-high": 6,
        "default": 0,
    }
    assert RANGE_WORDS == {
        "x-low": 0.25,
        "low": 0.5,
        "medium": 1.0,
        "high": 1.5,
        "x-high": 2.0,
        "default": 1.0,
    }
    assert VOLUME_WORDS_DB == {"x-soft": -12, "soft": -6, "medium": 0, "loud": 6, "x-loud": 12, "default": 0}
    assert BREAK_STRENGTH_SECONDS == {
        "none": 0.0,
        "x-weak": 0.1,
        "weak": 0.25,
        "medium": 0.4,
        "strong": 0.7,
        "x-strong": 1.2,
    }


@pytest.mark.parametrize(
    "value, semitones",
    [
        ("+2st", 2.0),
        ("-3.5st", -3.5),
        ("0st", 0.0),
        ("+0st", 0.0),
        ("+12st", 12.0),
        ("+100%", 12.0),
        ("-50%", -12.0),
        ("+10%", 12 * math.log2(1.1)),
        ("-20%", 12 * math.log2(0.8)),
        ("0%", 0.0),
        (" +2st ", 2.0),
    ]
    + sorted(PITCH_WORDS_SEMITONES.items()),
)
def test_pitch_values(value, semitones):
    assert controls_of(f'<prosody pitch="{value}">x</prosody>').pitch_semitones == pytest.approx(
        semitones, abs=1e-12
    )


@pytest.mark.parametrize(
    "value, multiplier",
    [("+50%", 1.5), ("-50%", 0.5), ("0%", 1.0), ("+100%", 2.0), ("-99%", 0.01)] + sorted(RANGE_WORDS.items()),
)
def test_range_values(value, multiplier):
    assert controls_of(f'<prosody range="{value}">x</prosody>').pitch_range == pytest.approx(multiplier)


@pytest.mark.parametrize(
    "value, db",
    [("+3dB", 3.0), ("-6dB", -6.0), ("0dB", 0.0), ("+1.5dB", 1.5)] + sorted(VOLUME_WORDS_DB.items()),
)
def test_volume_values(value, db):
    assert controls_of(f'<prosody volume="{value}">x</prosody>').volume_db == pytest.approx(db)


def test_several_attributes_and_neutral_values():
    assert controls_of(
        '<prosody rate="slow" pitch="+1st" volume="-2dB" range="x-low">x</prosody>'
    ) == Controls(0.75, 1.0, 0.25, -2.0)
    assert (
        parse_ssml(speak('<prosody rate="100%" pitch="0st" volume="0dB" range="0%">x</prosody>')).spans == []
    )
    assert Controls().is_neutral and not Controls(emphasis="none").is_neutral


@pytest.mark.parametrize(
    "attributes, level",
    [
        ("", "moderate"),
        (' level="strong"', "strong"),
        (' level="reduced"', "reduced"),
        (' level="none"', "none"),
    ],
)
def test_emphasis_levels(attributes, level):
    assert controls_of(f"<emphasis{attributes}>x</emphasis>") == Controls(emphasis=level)


# -- text, spans and breaks ---------------------------------------------------------------


def test_emphasis_spans_point_at_the_words():
    doc = parse_ssml(
        speak(
            'I <emphasis>really</emphasis>   like\n <emphasis level="strong">green tea</emphasis>, honestly.'
        )
    )
    assert doc.text == "I really like green tea, honestly."
    assert [doc.text[s.start : s.end] for s in doc.spans] == ["really", "green tea"]
    assert [s.controls.emphasis for s in doc.spans] == ["moderate", "strong"]


def test_spans_cover_only_non_space_text_and_merge_equal_neighbours():
    doc = parse_ssml(
        speak("<emphasis> a </emphasis> <emphasis> b </emphasis> c <prosody rate='slow'> d </prosody>")
    )
    assert doc.text == "a b c d"
    assert doc.spans == [
        ControlSpan(0, 3, Controls(emphasis="moderate")),
        ControlSpan(6, 7, Controls(rate=0.75)),
    ]


def test_inline_elements_add_no_space():
    doc = parse_ssml(speak("un<emphasis>believ</emphasis>able <prosody pitch='+1st'>yes</prosody>!"))
    assert doc.text == "unbelievable yes!"
    assert [doc.text[s.start : s.end] for s in doc.spans] == ["believ", "yes"]


def test_break_separates_words():
    doc = parse_ssml('<speak>a<break time="1s"/>b</speak>')
    assert doc.text == "a b" and doc.text.split() == ["a", "b"]
    assert doc.breaks == [Break(1, 1.0)]


@pytest.mark.parametrize(
    "attributes, seconds",
    [
        ('time="500ms"', 0.5),
        ('time="1.5s"', 1.5),
        ('time="10s"', 10.0),
        ('time="250ms"', 0.25),
        ('time="2s" strength="weak"', 2.0),
        ('strength="x-strong" time="20ms"', 0.02),
        ("", 0.4),
    ]
    + [(f'strength="{k}"', v) for k, v in BREAK_STRENGTH_SECONDS.items()],
)
def test_break_seconds(attributes, seconds):
    doc = parse_ssml(speak(f"Hello, <break {attributes}/> world."))
    assert doc.text == "Hello, world."
    assert doc.breaks == ([Break(6, seconds)] if seconds > 0 else [])


def test_break_positions():
    body = '<break time="1s"/> one <break time="200ms"/>two<break/><break strength="weak"/> three <break time="3s"/> '
    doc = parse_ssml(speak(body))
    assert doc.text == "one two three"
    assert doc.breaks == [Break(0, 1.0), Break(3, 0.2), Break(7, 0.4), Break(7, 0.25), Break(13, 3.0)]
    for b in doc.breaks[1:-1]:  # between two words: the text before ends a word, the text after starts one
        assert doc.text[b.position - 1] != " " and doc.text[b.position] == " "
    zero = parse_ssml(speak('a<break time="0ms"/>b<break strength="none"/>c'))
    assert zero.text == "a b c" and zero.breaks == []


def test_sentences_and_paragraphs():
    doc = parse_ssml(speak("<p><s>One.</s><s>Two<emphasis>!</emphasis></s></p><p>Three</p>four"))
    assert doc.text == "One. Two! Three four"
    assert [doc.text[s.start : s.end] for s in doc.spans] == ["!"]
    nested = parse_ssml(speak("<prosody rate='fast'><p>a</p><p>b</p></prosody>"))
    assert nested.text == "a b" and nested.spans == [ControlSpan(0, 3, Controls(rate=1.25))]


def test_entities_and_character_references():
    doc = parse_ssml(speak("Tom &amp; Jerry &lt;3 &gt; &quot;q&quot; &apos;a&apos; caf&#233; &#x263A;"))
    assert doc.text == "Tom & Jerry <3 > \"q\" 'a' café ☺"
    # offsets count decoded characters
    doc = parse_ssml(speak("a &amp; <emphasis>b</emphasis>"))
    assert doc.text == "a & b" and doc.spans[0].start == 4


def test_root_attributes_comments_and_declaration():
    doc = parse_ssml(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis"\n'
        '       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
        '       xsi:schemaLocation="http://www.w3.org/2001/10/synthesis '
        'http://www.w3.org/TR/speech-synthesis11/synthesis.xsd"\n'
        '       xml:lang="en-US">\n  Hello <!-- a comment --> there <![CDATA[a<b]]>\n</speak>\n'
    )
    assert doc.text == "Hello there a<b"


# -- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document, fragments",
    [
        # unsupported tags and attributes
        (speak("<say-as interpret-as='date'>x</say-as>"), ["line 1, column 7", "unsupported tag <say-as>"]),
        (speak("<audio src='a.wav'/>"), ["unsupported tag <audio>"]),
        (speak("<phoneme ph='x'>x</phoneme>"), ["unsupported tag <phoneme>"]),
        (speak("<voice name='x'>x</voice>"), ["unsupported tag <voice>"]),
        (speak("<speak>x</speak>"), ["<speak> may only be the root"]),
        (
            speak("<prosody duration='2s'>x</prosody>"),
            ["<prosody", "duration", "2s", "unsupported attribute"],
        ),
        (
            speak("<emphasis strength='strong'>x</emphasis>"),
            ["<emphasis", "strength", "strong", "unsupported"],
        ),
        (speak("<break duration='1s'/>"), ["<break", "duration", "1s"]),
        (speak("<s xml:lang='en'>x</s>"), ["<s", "xml:lang", "en", "unsupported attribute"]),
        ("<speak gender='female'>x</speak>", ["<speak", "gender", "female", "line 1, column 0"]),
        (speak("<prosody>x</prosody>"), ["<prosody>", "at least one"]),
        # bad values of each attribute
        (speak("<prosody rate='warp'>x</prosody>"), ['<prosody rate="warp">', "unknown rate value 'warp'"]),
        (speak("<prosody rate='0%'>x</prosody>"), ['rate="0%"', "above 0"]),
        (speak("<prosody rate='0'>x</prosody>"), ['rate="0"', "above 0"]),
        (speak("<prosody rate='-20%'>x</prosody>"), ['rate="-20%"', "without a sign"]),
        (speak("<prosody rate='+10%'>x</prosody>"), ['rate="+10%"', "without a sign"]),
        (speak("<prosody rate='1e2'>x</prosody>"), ['rate="1e2"', "unknown rate value"]),
        (speak("<prosody pitch='2st'>x</prosody>"), ['pitch="2st"', "needs a sign"]),
        (speak("<prosody pitch='10%'>x</prosody>"), ['pitch="10%"', "needs a sign"]),
        (speak("<prosody pitch='+2'>x</prosody>"), ['pitch="+2"', "unknown pitch value"]),
        (speak("<prosody pitch='loud'>x</prosody>"), ['pitch="loud"', "unknown pitch value"]),
        (speak("<prosody pitch='-100%'>x</prosody>"), ['pitch="-100%"', "above -100%"]),
        (speak("<prosody pitch='-150%'>x</prosody>"), ['pitch="-150%"', "above -100%"]),
        (speak("<prosody pitch='+20Hz'>x</prosody>"), ['pitch="+20Hz"', "Hz is not supported", "mean F0"]),
        (speak("<prosody pitch='200Hz'>x</prosody>"), ['pitch="200Hz"', "Hz is not supported"]),
        (speak("<prosody range='+2st'>x</prosody>"), ['range="+2st"', "semitones is not supported"]),
        (speak("<prosody range='+20Hz'>x</prosody>"), ['range="+20Hz"', "Hz is not supported"]),
        (speak("<prosody range='-100%'>x</prosody>"), ['range="-100%"', "above -100%"]),
        (speak("<prosody range='wide'>x</prosody>"), ['range="wide"', "unknown range value"]),
        (speak("<prosody volume='silent'>x</prosody>"), ['volume="silent"', "not supported"]),
        (speak("<prosody volume='3dB'>x</prosody>"), ['volume="3dB"', "needs a sign"]),
        (speak("<prosody volume='+3'>x</prosody>"), ['volume="+3"', "unknown volume value"]),
        (speak("<prosody volume='50%'>x</prosody>"), ['volume="50%"', "unknown volume value"]),
        (speak("<emphasis level='loud'>x</emphasis>"), ['<emphasis level="loud">', "unknown emphasis level"]),
        (speak("<break time='1'/>"), ['<break time="1">', "unknown break time"]),
        (speak("<break time='-1s'/>"), ['<break time="-1s">', "unknown break time"]),
        (speak("<break time='1min'/>"), ['<break time="1min">', "unknown break time"]),
        (speak("<break time='11s'/>"), ['<break time="11s">', "at most 10 s"]),
        (speak("<break time='10001ms'/>"), ['<break time="10001ms">', "at most 10 s"]),
        (speak("<break strength='huge'/>"), ['<break strength="huge">', "unknown break strength"]),
        (speak("<break time='1s' strength='huge'/>"), ['strength="huge"', "unknown break strength"]),
        # structure
        (speak("<break>x</break>"), ["<break>", "must be empty", "'x'"]),
        (speak("<break><emphasis/></break>"), ["<break>", "must be empty", "<emphasis>"]),
        (speak("<s><p>x</p></s>"), ["<p>", "inside <s>"]),
        (speak("<s><s>x</s></s>"), ["<s>", "inside <s>"]),
        (speak("<emphasis><s>x</s></emphasis>"), ["<s>", "inside <emphasis>"]),
        ("<prosody rate='slow'>x</prosody>", ["root element must be <speak>", "<prosody>"]),
        ("<speak>x</speak>and more", ["line 1, column 16", "malformed XML", "junk after document element"]),
        ("<speak>x</speak><speak>y</speak>", ["line 1, column 16", "malformed XML"]),
        ("<speak>a <emphasis>x</speak>", ["line 1, column 22", "malformed XML", "mismatched tag"]),
        ("<speak>\n  unclosed", ["line 2, column 10", "malformed XML", "no element found"]),
        ("<speak>a &nbsp; b</speak>", ["malformed XML", "undefined entity"]),
        ("<speak>a < b</speak>", ["malformed XML"]),
        ("", ["line 1, column 0", "empty document"]),
        ("  \n ", ["empty document"]),
        ("<speak>  </speak>", ["<speak>", "nothing to speak"]),
        ('<speak><break time="1s"/></speak>', ["<speak>", "nothing to speak"]),
        ("<speak><?beep?>x</speak>", ["processing instruction", "beep"]),
        ('<!DOCTYPE speak [<!ENTITY x SYSTEM "file:///etc/passwd">]><speak>&x;</speak>', ["DOCTYPE"]),
        ('<!DOCTYPE speak [<!ENTITY a "aaaa">]><speak>&a;</speak>', ["DOCTYPE"]),
    ],
)
def test_refusals(document, fragments):
    with pytest.raises(ValueError) as info:
        parse_ssml(document)
    message = str(info.value)
    assert message.startswith("SSML line ") and ", column " in message
    for fragment in fragments:
        assert fragment in message


# -- markup before <speak>: comments and the XML declaration pass, declarations never -----

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol0 "lol">\n'
    + "".join(f' <!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">\n' for i in range(1, 10))
    + "]>\n<speak>&lol9;</speak>"
)  # expanded: 10**9 "lol"s


def test_comments_and_the_xml_declaration_before_speak():
    for document in (
        "<!-- greeting -->\n<speak>Hello there.</speak>",
        '<?xml version="1.0" encoding="UTF-8"?>\n<!-- greeting -->\n<speak>Hello there.</speak>\n<!-- end -->',
        "\ufeff<speak>Hello there.</speak>",
    ):
        assert is_ssml(document)
        assert parse_ssml(document).text == "Hello there."


@pytest.mark.parametrize(
    "document, position, declaration",
    [
        ("<!DOCTYPE speak><speak>hi</speak>", "line 1, column 0", "<!DOCTYPE"),
        (
            '<?xml version="1.0"?>\n<!-- c -->\n  <!DOCTYPE speak SYSTEM "x.dtd"><speak>hi</speak>',
            "line 3, column 2",
            "<!DOCTYPE",
        ),
        ('<!ENTITY x "y"><speak>&x;</speak>', "line 1, column 0", "<!ENTITY"),
        ("<!doctype html><p>hi</p>", "line 1, column 0", "<!doctype"),
        ("<![CDATA[hi]]>", "line 1, column 0", "<![CDATA"),
        (BILLION_LAUGHS, "line 2, column 0", "<!DOCTYPE"),
    ],
)
def test_declarations_are_refused_with_their_position(document, position, declaration):
    assert is_ssml(document)  # so that Text2SpeechProsody never reads it aloud
    with pytest.raises(ValueError) as info:
        parse_ssml(document)
    assert str(info.value).startswith(f"SSML {position}: {declaration}:")
    assert "DOCTYPE or other markup declaration is not accepted" in str(info.value)


def test_billion_laughs_is_refused_at_once_in_bounded_memory():
    tracemalloc.start()
    try:
        start = time.perf_counter()
        with pytest.raises(ValueError, match=r"^SSML line 2, column 0: <!DOCTYPE"):
            parse_ssml(BILLION_LAUGHS)
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seconds < 0.1 and peak < 1_000_000  # expanded, it would be gigabytes


def test_an_external_entity_is_refused_without_opening_its_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the secret")
    opened = []

    def audit(event, args):
        if event == "open" and args and str(args[0]).endswith("secret.txt"):
            opened.append(args[0])

    sys.addaudithook(audit)  # stays for the session; it only records opens of this file
    document = f'<!DOCTYPE speak [<!ENTITY s SYSTEM "file://{secret}">]>\n<speak>Read &s; aloud.</speak>'
    with pytest.raises(ValueError, match=r"^SSML line 1, column 0: <!DOCTYPE"):
        parse_ssml(document)
    secret.read_text()  # the hook sees an open of that file
    assert len(opened) == 1


def test_error_positions_on_later_lines():
    with pytest.raises(ValueError, match=r"^SSML line 3, column 4: unsupported tag <say-as>"):
        parse_ssml("<speak>\n  <s>one</s>\n    <say-as>x</say-as>\n</speak>")
    with pytest.raises(ValueError, match=r'^SSML line 2, column 2: <prosody pitch="\+9Hz">'):
        parse_ssml("<speak>héé\n€ <prosody pitch='+9Hz'>x</prosody></speak>")
