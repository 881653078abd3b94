"""Read Praat TextGrid files (as Montreal Forced Aligner writes them), without dependencies.

Both of Praat's text formats are read, the long one::

    File type = "ooTextFile"
    Object class = "TextGrid"

    xmin = 0
    xmax = 1.5
    tiers? <exists>
    size = 1
    item []:
        item [1]:
            class = "IntervalTier"
            name = "phones"
            xmin = 0
            xmax = 1.5
            intervals: size = 2
            intervals [1]:
                xmin = 0
                xmax = 0.7
                text = "HH"
            ...

and the short one (the same values, one per line, without the keys). As Praat itself does,
the reader takes the values in order (numbers, ``"strings"`` with ``""`` for a quote, and
``<flags>``) and skips everything else (keys, ``=``, ``[1]`` indices, ``!`` comments), so
one reader serves both formats. Files are UTF-8 (MFA) or UTF-16 with a byte order mark
(Praat's choice when a label is not ASCII); a UTF-8 BOM is accepted too. Binary TextGrids
are not supported.

Tiers are returned as ``name -> [(xmin, xmax, label), ...]`` in file order; point tiers
(``TextTier``) give ``(time, time, mark)``. Malformed input raises ValueError naming the
file.
"""

import re
from collections import OrderedDict
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Tuple, Union

PathLike = Union[str, Path]
Interval = Tuple[float, float, str]

# One value of the token stream: a quoted string (may span lines; "" is a quote), an index
# in brackets (skipped), a <flag>, a number, or a "!" comment up to the end of the line.
_TOKEN_RE = re.compile(
    r'"(?P<string>(?:[^"]|"")*)"'
    r"|(?P<index>\[[^\]\n]*\])"
    r"|(?P<flag><[A-Za-z]+>)"
    r"|(?<![\w.])(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.])"
    r"|(?P<comment>![^\n]*)"
)


class TextGrid(NamedTuple):
    """A parsed TextGrid: its time domain and its tiers (name -> intervals)."""

    xmin: float
    xmax: float
    tiers: Dict[str, List[Interval]]


def decode_textgrid_bytes(data: bytes, path: PathLike = "<bytes>") -> str:
    """Decode a TextGrid file: UTF-16 (BOM, or NUL bytes without one) or UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"  # the BOM tells the byte order
    elif data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif len(data) >= 2 and b"\x00" in data[:200]:
        # UTF-16 without BOM: ASCII characters have a NUL high byte
        encoding = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a UTF-8 or UTF-16 TextGrid ({encoding}: {e})") from None


class _Reader:
    """Sequential access to the values of a TextGrid's text, with located errors."""

    def __init__(self, text: str, path: PathLike):
        self.path = path
        self.text = text
        self.values: Iterator[Tuple[str, str, int]] = self._scan()

    def _scan(self) -> Iterator[Tuple[str, str, int]]:
        for m in _TOKEN_RE.finditer(self.text):
            kind = m.lastgroup
            if kind in ("index", "comment"):
                continue
            value = m.group(kind)
            if kind == "string":
                value = value.replace('""', '"')
            yield kind, value, m.start()

    def error(self, message: str, pos: int = -1) -> ValueError:
        where = f" (line {self.text.count(chr(10), 0, pos) + 1})" if pos >= 0 else ""
        return ValueError(f"{self.path}: malformed TextGrid{where}: {message}")

    def next(self, what: str) -> Tuple[str, str, int]:
        try:
            return next(self.values)
        except StopIteration:
            raise self.error(f"file ends before {what}") from None

    def string(self, what: str) -> str:
        kind, value, pos = self.next(what)
        if kind != "string":
            raise self.error(f"expected a quoted string for {what}, got {value!r}", pos)
        return value

    def number(self, what: str) -> float:
        kind, value, pos = self.next(what)
        if kind != "number":
            raise self.error(f"expected a number for {what}, got {value!r}", pos)
        return float(value)

    def count(self, what: str) -> int:
        kind, value, pos = self.next(what)
        if kind != "number" or not re.fullmatch(r"\+?\d+", value):
            raise self.error(f"expected a count for {what}, got {value!r}", pos)
        return int(value)

    def flag(self, what: str) -> str:
        kind, value, pos = self.next(what)
        if kind != "flag":
            raise self.error(f"expected <exists> or <absent> for {what}, got {value!r}", pos)
        return value


def parse_textgrid(text: str, path: PathLike = "<string>") -> TextGrid:
    """Parse the text of a TextGrid (long or short format)."""
    reader = _Reader(text, path)
    file_type = reader.string("the file type")
    if not file_type.startswith("ooTextFile"):
        raise reader.error(f'file type is {file_type!r}, expected "ooTextFile"')
    object_class = reader.string("the object class")
    if object_class != "TextGrid":
        raise reader.error(f'object class is {object_class!r}, expected "TextGrid"')
    xmin = reader.number("the TextGrid xmin")
    xmax = reader.number("the TextGrid xmax")
    if xmax < xmin:
        raise reader.error(f"TextGrid xmax {xmax} is before its xmin {xmin}")
    tiers: Dict[str, List[Interval]] = OrderedDict()
    if reader.flag("tiers?") == "<exists>":
        num_tiers = reader.count("the number of tiers")
        for t in range(1, num_tiers + 1):
            tier_class = reader.string(f"the class of tier {t}")
            name = reader.string(f"the name of tier {t}")
            if name in tiers:
                raise reader.error(f"tier name {name!r} appears twice")
            reader.number(f"the xmin of tier {name!r}")
            reader.number(f"the xmax of tier {name!r}")
            size = reader.count(f"the size of tier {name!r}")
            entries: List[Interval] = []
            if tier_class == "IntervalTier":
                for i in range(1, size + 1):
                    what = f"interval {i} of tier {name!r}"
                    start = reader.number(f"the xmin of {what}")
                    end = reader.number(f"the xmax of {what}")
                    label = reader.string(f"the text of {what}")
                    if end < start:
                        raise reader.error(f"{what} ends ({end}) before it starts ({start})")
                    entries.append((start, end, label))
            elif tier_class == "TextTier":
                for i in range(1, size + 1):
                    time = reader.number(f"the time of point {i} of tier {name!r}")
                    mark = reader.string(f"the mark of point {i} of tier {name!r}")
                    entries.append((time, time, mark))
            else:
                raise reader.error(f"tier {name!r} has unknown class {tier_class!r}")
            tiers[name] = entries
    for kind, value, pos in reader.values:
        raise reader.error(f"unexpected {value!r} after the last tier", pos)
    return TextGrid(xmin, xmax, tiers)


def load_textgrid(path: PathLike) -> TextGrid:
    """Read a TextGrid file: its time domain and tiers."""
    path = Path(path)
    data = path.read_bytes()
    if data.startswith(b"ooBinaryFile"):
        raise ValueError(f"{path}: binary TextGrids are not supported; save it as text")
    return parse_textgrid(decode_textgrid_bytes(data, path), path)


def read_textgrid(path: PathLike) -> Dict[str, List[Interval]]:
    """Read a TextGrid file into ``tier name -> [(xmin, xmax, label), ...]``."""
    return load_textgrid(path).tiers
