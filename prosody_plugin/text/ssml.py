"""A strict parser for the subset of SSML 1.1 that the inference API speaks (standard library only).

:func:`is_ssml` tells SSML from plain text; :func:`parse_ssml` gives an :class:`SsmlDocument`
or a ValueError naming tag, attribute, value and ``SSML line L, column C``. The subset, and
what it refuses and why: docs/prosody_control.md (SSML); the value words: the tables below.
"""

import math
import operator
import re
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, NoReturn, Optional, Tuple
from xml.parsers import expat

SUPPORTED_TAGS: Tuple[str, ...] = ("speak", "emphasis", "prosody", "break", "s", "p")

# Each attribute's words and the values they stand for: rate multiplier, pitch semitones,
# range multiplier, volume dB and break seconds.
_WORD_VALUES: Dict[str, Tuple[str, Tuple[float, ...]]] = {
    "rate": ("x-slow slow medium fast x-fast default", (0.5, 0.75, 1.0, 1.25, 1.75, 1.0)),
    "pitch": ("x-low low medium high x-high default", (-6.0, -3.0, 0.0, 3.0, 6.0, 0.0)),
    "range": ("x-low low medium high x-high default", (0.25, 0.5, 1.0, 1.5, 2.0, 1.0)),
    "volume": ("x-soft soft medium loud x-loud default", (-12.0, -6.0, 0.0, 6.0, 12.0, 0.0)),
    "break": ("none x-weak weak medium strong x-strong", (0.0, 0.1, 0.25, 0.4, 0.7, 1.2)),
}
RATE_WORDS, PITCH_WORDS_SEMITONES, RANGE_WORDS, VOLUME_WORDS_DB, BREAK_STRENGTH_SECONDS = (
    dict(zip(words.split(), values)) for words, values in _WORD_VALUES.values()
)
EMPHASIS_LEVELS: Tuple[str, ...] = ("strong", "moderate", "reduced", "none")
DEFAULT_EMPHASIS = "moderate"
DEFAULT_BREAK_STRENGTH = "medium"
MAX_BREAK_SECONDS = 10.0

_SPEAK_ATTRIBUTES = ("version", "xml:lang", "xmlns", "xsi:schemaLocation")  # and xmlns:*
_PROSODY_ATTRIBUTES = ("rate", "pitch", "volume", "range")
_ATTRIBUTES: Dict[str, Tuple[str, ...]] = {
    "speak": _SPEAK_ATTRIBUTES,
    "emphasis": ("level",),
    "prosody": _PROSODY_ATTRIBUTES,
    "break": ("time", "strength"),
    "s": (),
    "p": (),
}
# Ancestors an element may not have (W3C's content models, the part that matters here).
_FORBIDDEN_ANCESTORS: Dict[str, Tuple[str, ...]] = {"p": ("s", "p", "emphasis"), "s": ("s", "emphasis")}

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"  # decimal only: no exponent, no inf/nan
_SIGNED = re.compile(rf"([+-]?)({_NUMBER})(st|%|dB)")
_UNSIGNED = re.compile(rf"({_NUMBER})(%?)")
_HERTZ = re.compile(rf"[+-]?{_NUMBER}\s*hz", re.IGNORECASE)
_TIME = re.compile(rf"({_NUMBER})(ms|s)")
# Markup first (after blanks and a byte order mark): "<?", "<!" or "<speak" as a whole name
# ("<speaker" is not SSML).
_BLANK = "\\s\ufeff"
_SSML_START = re.compile(rf"[{_BLANK}]*(?:<[?!]|<speak(?![\w.:-]))")
# What may come before a DOCTYPE: blanks, processing instructions (the XML declaration), comments.
_PROLOG_ITEM = re.compile(rf"[{_BLANK}]+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_DECLARATION = re.compile(r"<!(\[?[A-Za-z]*)")


@dataclass(frozen=True)
class Controls:
    """Effective prosody controls of a stretch of text, after nesting.

    Attributes:
        rate: Speaking-rate multiplier (< 1: slower).
        pitch_semitones: Pitch shift in semitones.
        pitch_range: Multiplier of the pitch movement around the mean.
        volume_db: Loudness change in decibels.
        emphasis: An :data:`EMPHASIS_LEVELS` entry, or None where no emphasis element applies.
    """

    rate: float = 1.0
    pitch_semitones: float = 0.0
    pitch_range: float = 1.0
    volume_db: float = 0.0
    emphasis: Optional[str] = None

    @property
    def is_neutral(self) -> bool:
        """True when the controls change nothing (tolerating float error of nested products)."""
        return (
            math.isclose(self.rate, 1.0, abs_tol=1e-9)
            and math.isclose(self.pitch_semitones, 0.0, abs_tol=1e-9)
            and math.isclose(self.pitch_range, 1.0, abs_tol=1e-9)
            and math.isclose(self.volume_db, 0.0, abs_tol=1e-9)
            and self.emphasis is None
        )


NEUTRAL = Controls()


@dataclass(frozen=True)
class ControlSpan:
    """Non-neutral controls for ``text[start:end]`` (end exclusive; starts and ends on non-space text)."""

    start: int
    end: int
    controls: Controls


@dataclass(frozen=True)
class Break:
    """A pause of ``seconds`` at ``position``: ``text[:position]`` comes before it, ``text[position:]`` after."""

    position: int
    seconds: float


@dataclass(frozen=True)
class SsmlDocument:
    """A parsed SSML document.

    Attributes:
        text: The plain text to speak (tags removed, whitespace collapsed; ``<emphasis>`` and
            ``<prosody>`` add no space, breaks, ``<s>`` and ``<p>`` do).
        spans: The maximal disjoint stretches of text with the same non-neutral controls, in order.
        breaks: The pauses in document order (several at one position add up; 0 s left out).
    """

    text: str
    spans: List[ControlSpan] = field(default_factory=list)
    breaks: List[Break] = field(default_factory=list)

    def controls_at(self, index: int) -> Controls:
        """The controls of the character ``text[index]`` (neutral outside every span)."""
        for span in self.spans:
            if span.start <= index < span.end:
                return span.controls
        return NEUTRAL


def is_ssml(text: str) -> bool:
    """True when ``text`` starts (after blanks) with ``<speak``, ``<?`` or ``<!``; ``<speaker`` does not count."""
    return isinstance(text, str) and _SSML_START.match(text) is not None


def refuse_declarations(text: str) -> None:
    """Raise ValueError (with line and column) when the prolog holds a markup declaration.

    A linear scan before the XML parser runs, so a DOCTYPE is refused before anything expands.
    """
    position = 0
    while True:
        item = _PROLOG_ITEM.match(text, position)
        if item is None:
            break
        position = item.end()
    declaration = _DECLARATION.match(text, position)
    if declaration is None or text.startswith("<!--", position):
        return
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1)
    raise ValueError(
        f"SSML line {line}, column {column}: <!{declaration.group(1)}: a DOCTYPE or other markup declaration is "
        "not accepted (no DTD, no entity declarations: only XML's own entities such as &amp; decode)"
    )


def parse_ssml(text: str) -> SsmlDocument:
    """Parse an SSML document; a ValueError starting ``SSML line L, column C:`` for anything outside the subset."""
    return _Parser().parse(text)


class _ValueProblem(Exception):
    """Why an attribute value is refused; the parser adds the position, tag and attribute."""


@dataclass
class _Open:
    """An open element: its name, its position and the controls of the text inside it."""

    tag: str
    line: int
    column: int
    controls: Controls


class _Parser:
    """One document's parse: expat events build the text, the spans and the breaks."""

    def __init__(self) -> None:
        # No namespace processing: "xml:lang" and "xmlns:x" arrive as plain attribute names,
        # and a prefixed element ("ssml:speak") is simply an unsupported tag.
        self.expat = expat.ParserCreate()
        self.expat.buffer_text = True
        self.expat.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.expat.StartElementHandler = self._start
        self.expat.EndElementHandler = self._end
        self.expat.CharacterDataHandler = self._characters
        self.expat.StartDoctypeDeclHandler = self._doctype
        self.expat.EntityDeclHandler = self._entity
        self.expat.ProcessingInstructionHandler = self._processing_instruction
        self.stack: List[_Open] = []
        self.root: Optional[_Open] = None
        self.chars: List[str] = []
        self.owners: List[Optional[Controls]] = []  # per output character; None for spaces
        self.pending_space = False
        self.breaks: List[Break] = []

    # -- entry point ---------------------------------------------------------------------

    def parse(self, text: str) -> SsmlDocument:
        if not isinstance(text, str):
            raise ValueError(f"SSML must be a str, got {type(text).__name__}")
        if not text.strip():
            raise ValueError("SSML line 1, column 0: empty document")
        refuse_declarations(text)
        try:
            self.expat.Parse(text, True)
        except expat.ExpatError as e:
            reason = expat.ErrorString(e.code)
            if reason == expat.errors.XML_ERROR_JUNK_AFTER_DOC_ELEMENT:
                reason += " (text or elements after </speak>)"
            elif reason == expat.errors.XML_ERROR_NO_ELEMENTS:
                reason += " (a tag is not closed, or there is no <speak> element)"
            raise ValueError(f"SSML line {e.lineno}, column {e.offset}: malformed XML: {reason}") from None
        spoken = "".join(self.chars)
        if not spoken:
            assert self.root is not None  # expat refuses a document without an element
            self._fail(self.root, "nothing to speak (the document has no text)")
        return SsmlDocument(text=spoken, spans=self._spans(), breaks=self.breaks)

    # -- expat handlers ------------------------------------------------------------------

    def _start(self, tag: str, attributes: Dict[str, str]) -> None:
        here = _Open(tag, self.expat.CurrentLineNumber, self.expat.CurrentColumnNumber, NEUTRAL)
        if not self.stack:
            if tag != "speak":
                self._fail(here, f"the root element must be <speak>, not <{tag}>", tagged=False)
            self.root = here
        else:
            parent = self.stack[-1]
            if parent.tag == "break":
                self._fail(parent, f"a break must be empty, found <{tag}> inside it")
            if tag == "speak":
                self._fail(here, "<speak> may only be the root element", tagged=False)
            if tag not in SUPPORTED_TAGS:
                self._fail(
                    here, f"unsupported tag <{tag}> (supported: {', '.join(SUPPORTED_TAGS)})", tagged=False
                )
            for ancestor in self.stack:
                if ancestor.tag in _FORBIDDEN_ANCESTORS.get(tag, ()):
                    self._fail(here, f"<{tag}> may not be inside <{ancestor.tag}>")
            here.controls = parent.controls
        self._check_attribute_names(here, attributes)
        if tag == "emphasis":
            level = attributes.get("level", DEFAULT_EMPHASIS)
            if level not in EMPHASIS_LEVELS:
                self._fail(
                    here,
                    f"unknown emphasis level {level!r} (use {', '.join(EMPHASIS_LEVELS)})",
                    "level",
                    level,
                )
            here.controls = replace(here.controls, emphasis=level)
        elif tag == "prosody":
            here.controls = self._prosody(here, attributes)
        elif tag == "break":
            self._break(here, attributes)
        elif tag in ("s", "p"):
            self.pending_space = True
        self.stack.append(here)

    def _end(self, tag: str) -> None:
        self.stack.pop()
        if tag in ("s", "p"):
            self.pending_space = True

    def _characters(self, data: str) -> None:
        if not self.stack:  # whitespace around the root; expat refuses anything else there
            return
        top = self.stack[-1]
        if top.tag == "break":
            if data.strip():
                self._fail(top, f"a break must be empty, found text {data.strip()!r} inside it")
            return
        for ch in data:
            if ch.isspace():  # str.isspace, as str.split: the plain-text path splits the same way
                self.pending_space = True
                continue
            if self.pending_space and self.chars:
                self.chars.append(" ")
                self.owners.append(None)
            self.pending_space = False
            self.chars.append(ch)
            self.owners.append(top.controls)

    def _doctype(self, name: str, system_id: Optional[str], public_id: Optional[str], internal: bool) -> None:
        line, column = self.expat.CurrentLineNumber, self.expat.CurrentColumnNumber
        # Refusing the DTD refuses entity declarations with it: no external or expanding entities.
        raise ValueError(
            f"SSML line {line}, column {column}: a DOCTYPE is not accepted (no DTD, no entities)"
        )

    def _entity(self, name: str, *_: object) -> None:
        line, column = self.expat.CurrentLineNumber, self.expat.CurrentColumnNumber
        raise ValueError(f"SSML line {line}, column {column}: entity declaration {name!r} is not accepted")

    def _processing_instruction(self, target: str, data: str) -> None:
        line, column = self.expat.CurrentLineNumber, self.expat.CurrentColumnNumber
        raise ValueError(
            f"SSML line {line}, column {column}: processing instruction <?{target}?> is not supported"
        )

    # -- elements ------------------------------------------------------------------------

    def _check_attribute_names(self, here: _Open, attributes: Dict[str, str]) -> None:
        allowed = _ATTRIBUTES[here.tag]
        for name, value in attributes.items():
            if name in allowed or (here.tag == "speak" and name.startswith("xmlns:")):
                continue
            supported = ", ".join(allowed + (("xmlns:*",) if here.tag == "speak" else ())) or "none"
            self._fail(here, f"unsupported attribute {name!r} (supported: {supported})", name, value)
        if here.tag == "prosody" and not attributes:
            self._fail(here, f"<prosody> needs at least one of {', '.join(_PROSODY_ATTRIBUTES)}")

    def _prosody(self, here: _Open, attributes: Dict[str, str]) -> Controls:
        controls = here.controls
        for name, value in attributes.items():
            field_name, combine, words, relative = _PROSODY_VALUES[name]
            word = value.strip()
            try:  # a word sets the value, a relative value changes the inherited one
                amount = (
                    words[word] if word in words else combine(getattr(controls, field_name), relative(value))
                )
            except _ValueProblem as problem:
                self._fail(here, str(problem), name, value)
            controls = replace(controls, **{field_name: amount})
        return controls

    def _break(self, here: _Open, attributes: Dict[str, str]) -> None:
        strength = attributes.get("strength", DEFAULT_BREAK_STRENGTH)
        if strength not in BREAK_STRENGTH_SECONDS:
            words = ", ".join(BREAK_STRENGTH_SECONDS)
            self._fail(here, f"unknown break strength {strength!r} (use {words})", "strength", strength)
        seconds = BREAK_STRENGTH_SECONDS[strength]
        if "time" in attributes:  # time wins over strength (W3C)
            value = attributes["time"]
            try:
                seconds = _time(value)
            except _ValueProblem as problem:
                self._fail(here, str(problem), "time", value)
        if seconds > 0:
            # At the end of the text so far: a pending space (the one the break asks for) comes after it.
            self.breaks.append(Break(position=len(self.chars), seconds=seconds))
        self.pending_space = True

    # -- results and errors --------------------------------------------------------------

    def _spans(self) -> List[ControlSpan]:
        spans: List[ControlSpan] = []
        start, last, current = 0, 0, None
        for i, owner in enumerate(self.owners):
            if owner is None:  # spaces belong to a span only between two of its characters
                continue
            if owner != current:
                if current is not None and not current.is_neutral:
                    spans.append(ControlSpan(start, last + 1, current))
                start, current = i, owner
            last = i
        if current is not None and not current.is_neutral:
            spans.append(ControlSpan(start, last + 1, current))
        return spans

    def _fail(
        self,
        where: _Open,
        reason: str,
        attribute: Optional[str] = None,
        value: Optional[str] = None,
        tagged: bool = True,
    ) -> NoReturn:
        """Raise the ValueError: position, then ``<tag attribute="value">`` unless the reason names the tag itself."""
        prefix = f"SSML line {where.line}, column {where.column}: "
        if not tagged:
            raise ValueError(prefix + reason)
        shown = f'<{where.tag} {attribute}="{value}">' if attribute is not None else f"<{where.tag}>"
        raise ValueError(f"{prefix}{shown}: {reason}")


# -- attribute values ------------------------------------------------


def _signed(value: str, units: Tuple[str, ...]) -> Optional[Tuple[float, str]]:
    """``(number, unit)`` of a signed value like ``+2st``; None when it is not of that form."""
    match = _SIGNED.fullmatch(value.strip())
    if match is None or match.group(3) not in units:
        return None
    sign, number, unit = match.groups()
    amount = float(number)
    if not sign and amount != 0:
        raise _ValueProblem(f"a relative value needs a sign: +{value.strip()} or -{value.strip()}")
    return (-amount if sign == "-" else amount), unit


def _rate(value: str) -> float:
    word = value.strip()
    match = _UNSIGNED.fullmatch(word)
    if match is not None:
        multiplier = float(match.group(1)) / (100.0 if match.group(2) else 1.0)
        if multiplier <= 0:
            raise _ValueProblem("a rate must be above 0")
        return multiplier
    if _SIGNED.fullmatch(word) is not None or _UNSIGNED.fullmatch(word.lstrip("+-")) is not None:
        raise _ValueProblem(
            "a rate is a positive percentage or number without a sign (SSML 1.1: 110% or 1.1 = 10% faster)"
        )
    raise _ValueProblem(f"unknown rate value {value!r} (use a percentage, a number or x-slow..x-fast)")


def _pitch(value: str) -> float:
    word = value.strip()
    if _HERTZ.fullmatch(word):
        raise _ValueProblem(
            "pitch in Hz is not supported: it needs the speaker's mean F0 "
            "(use semitones like +2st or a percentage like +10%)"
        )
    parsed = _signed(word, ("st", "%"))
    if parsed is None:
        raise _ValueProblem(
            f"unknown pitch value {value!r} (use semitones like +2st, a percentage like +10% or x-low..x-high)"
        )
    amount, unit = parsed
    if unit == "st":
        return amount
    if amount <= -100:
        raise _ValueProblem("a pitch change must be above -100%")
    return 12.0 * math.log2(1.0 + amount / 100.0)


def _range(value: str) -> float:
    word = value.strip()
    if _HERTZ.fullmatch(word):
        raise _ValueProblem(
            "a range in Hz is not supported: it needs the speaker's F0 (use a percentage like +50%)"
        )
    parsed = _signed(word, ("st", "%"))
    if parsed is None:
        raise _ValueProblem(f"unknown range value {value!r} (use a percentage like +50% or x-low..x-high)")
    amount, unit = parsed
    if unit == "st":
        raise _ValueProblem(
            "a range in semitones is not supported (use a percentage like +50% or x-low..x-high)"
        )
    if amount <= -100:
        raise _ValueProblem("a range change must be above -100%")
    return 1.0 + amount / 100.0


def _volume(value: str) -> float:
    word = value.strip()
    if word == "silent":
        raise _ValueProblem("volume 'silent' is not supported (leave the text out, or use a break)")
    parsed = _signed(word, ("dB",))
    if parsed is None:
        raise _ValueProblem(
            f"unknown volume value {value!r} (use signed decibels like +3dB or x-soft..x-loud)"
        )
    return parsed[0]


# <prosody> attribute -> (the Controls field it sets, how a relative value combines with the
# inherited one, its words, the parser of its relative values)
_PROSODY_VALUES: Dict[str, Tuple[str, Callable, Dict[str, float], Callable]] = {
    "rate": ("rate", operator.mul, RATE_WORDS, _rate),
    "pitch": ("pitch_semitones", operator.add, PITCH_WORDS_SEMITONES, _pitch),
    "range": ("pitch_range", operator.mul, RANGE_WORDS, _range),
    "volume": ("volume_db", operator.add, VOLUME_WORDS_DB, _volume),
}


def _time(value: str) -> float:
    match = _TIME.fullmatch(value.strip())
    if match is None:
        raise _ValueProblem(
            f"unknown break time {value!r} (use a non-negative number with unit ms or s: 500ms, 1.5s)"
        )
    seconds = float(match.group(1)) / (1000.0 if match.group(2) == "ms" else 1.0)
    if seconds > MAX_BREAK_SECONDS:
        raise _ValueProblem(f"a break is at most {MAX_BREAK_SECONDS:g} s")
    return seconds
