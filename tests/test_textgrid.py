"""TextGrid reading and MFA TextGrid -> tokens + durations, on real files, by hand-computed values."""

from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import pytest

from prosody_plugin.bin import check_durations
from prosody_plugin.bin.textgrid_to_durations import main as textgrid_to_durations
from prosody_plugin.data.kaldi_dir import read_kaldi_map
from prosody_plugin.data.textgrid import load_textgrid

FS = 16000
N_SHIFT = 256  # 62.5 frames per second

Tier = List[Tuple[float, float, str]]

# A 1-second utterance "hello world" as MFA aligns it: leading silence (MFA 2: ""), a pause
# "sp" between the words, a short silence inside "world" between L and D, trailing "sil".
WORDS: Tier = [
    (0.0, 0.1, ""),
    (0.1, 0.4, "hello"),
    (0.4, 0.55, ""),
    (0.55, 0.9, "world"),
    (0.9, 1.0, ""),
]
PHONES: Tier = [
    (0.0, 0.1, ""),
    (0.1, 0.18, "HH"),
    (0.18, 0.25, "AH0"),
    (0.25, 0.3, "L"),
    (0.3, 0.4, "OW1"),
    (0.4, 0.55, "sp"),
    (0.55, 0.62, "W"),
    (0.62, 0.75, "ER1"),
    (0.75, 0.8, "L"),
    (0.8, 0.82, "sil"),
    (0.82, 0.9, "D"),
    (0.9, 1.0, "sil"),
]
TOKENS = "HH AH0 L OW1 <space> W ER1 L D"
# By hand, boundaries round(t * 62.5) of the token end times (the leading silence is HH's,
# the pause is <space>'s, the silence inside "world" is split at 0.81 s, the trailing
# silence is D's, which ends with the audio):
#   HH 0.18 -> 11.25 -> 11   AH0 0.25 -> 15.625 -> 16   L 0.3 -> 18.75 -> 19   OW1 0.4 -> 25
#   <space> 0.55 -> 34.375 -> 34   W 0.62 -> 38.75 -> 39   ER1 0.75 -> 46.875 -> 47
#   L 0.81 -> 50.625 -> 51   D: audio end
# 16000 samples: 16000 // 256 + 1 = 63 frames, D ends at round(62.5) = 63, eos gets 0.
DURATIONS_16000 = [11, 5, 3, 6, 9, 5, 8, 4, 12, 0]
# 15900 samples: 15900 // 256 + 1 = 63 frames, D ends at round(62.11) = 62, eos gets 1.
DURATIONS_15900 = [11, 5, 3, 6, 9, 5, 8, 4, 11, 1]


def long_textgrid(tiers: Dict[str, Tier], xmax: float) -> str:
    """A TextGrid in Praat's long text format, written by hand as Praat and MFA write it."""
    lines = [
        'File type = "ooTextFile"',
        'Object class = "TextGrid"',
        "",
        "xmin = 0 ",
        f"xmax = {xmax} ",
        "tiers? <exists> ",
        f"size = {len(tiers)} ",
        "item []: ",
    ]
    for i, (name, intervals) in enumerate(tiers.items(), 1):
        lines += [
            f"    item [{i}]:",
            '        class = "IntervalTier" ',
            f'        name = "{name}" ',
            "        xmin = 0 ",
            f"        xmax = {xmax} ",
            f"        intervals: size = {len(intervals)} ",
        ]
        for j, (start, end, label) in enumerate(intervals, 1):
            label = label.replace('"', '""')
            lines += [
                f"        intervals [{j}]:",
                f"            xmin = {start} ",
                f"            xmax = {end} ",
                f'            text = "{label}" ',
            ]
    return "\n".join(lines) + "\n"


def short_textgrid(tiers: Dict[str, Tier], xmax: float) -> str:
    """The same in Praat's short text format."""
    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "0", str(xmax)]
    lines += ["<exists>", str(len(tiers))]
    for name, intervals in tiers.items():
        lines += ['"IntervalTier"', f'"{name}"', "0", str(xmax), str(len(intervals))]
        for start, end, label in intervals:
            lines += [str(start), str(end), '"' + label.replace('"', '""') + '"']
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ parser
def test_long_format(tmp_path: Path):
    path = tmp_path / "a.TextGrid"
    path.write_text(long_textgrid({"words": WORDS, "phones": PHONES}, 1.0), encoding="utf-8")
    grid = load_textgrid(path)
    assert (grid.xmin, grid.xmax) == (0.0, 1.0)
    assert list(grid.tiers) == ["words", "phones"]
    assert grid.tiers["words"] == WORDS
    assert grid.tiers["phones"] == PHONES


def test_short_format_with_quotes_and_point_tier(tmp_path: Path):
    tiers = {"words": [(0.0, 0.5, 'say "hi"'), (0.5, 1.25, "")]}
    text = short_textgrid(tiers, 1.25)
    # a point tier appended by hand (TextTier: time, mark)
    text = text.replace("<exists>\n1\n", "<exists>\n2\n") + '"TextTier"\n"events"\n0\n1.25\n1\n0.3\n"click"\n'
    path = tmp_path / "b.TextGrid"
    path.write_text(text, encoding="utf-8")
    assert load_textgrid(path).tiers == {"words": tiers["words"], "events": [(0.3, 0.3, "click")]}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_utf16_and_bom(tmp_path: Path, encoding: str):
    tiers = {"phones": [(0.0, 0.3, "ɛ"), (0.3, 0.6, "ŋ")], "words": [(0.0, 0.6, "Ŋɛ")]}
    path = tmp_path / "c.TextGrid"
    # "utf-16" writes a byte order mark, as Praat does
    path.write_bytes(long_textgrid(tiers, 0.6).encode(encoding))
    assert load_textgrid(path).tiers == tiers


HEADER = 'File type = "ooTextFile"\nObject class = "TextGrid"\n\n0\n1\n<exists>\n1\n"IntervalTier"\n"words"\n0\n1\n'


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "IndexError"),
        (HEADER.replace("TextGrid", "Sound"), "substring not found"),
        (HEADER + '1\n0.6\n0.5\n"a"\n', r"start time of an interval \(0.6\) cannot occur after its end"),
        (HEADER + '2\n0\n0.6\n"a"\n0.5\n1\n"b"\n', "overlap"),
        (HEADER + '1\nzero\n0.5\n"a"\n', "could not convert string to float: 'zero'"),
        (
            short_textgrid({"w": [(0.0, 1.0, "a")]}, 1.0).replace("<exists>\n1\n", "<exists>\n2\n")
            + '"IntervalTier"\n"w"\n0\n1\n1\n0\n1\n"b"\n',
            "same name 'w'",
        ),
    ],
)
def test_malformed_names_the_file(tmp_path: Path, text: str, message: str):
    path = tmp_path / "bad.TextGrid"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as e:
        load_textgrid(path)
    assert str(e.value).startswith(f"{path}: malformed TextGrid")


# --------------------------------------------------------------------------- converter
def write_data_dir(data: Path, num_samples: Dict[str, int]) -> None:
    """A formatted Kaldi data dir (as format_data writes it), by hand."""
    data.mkdir(parents=True)
    utts = sorted(num_samples)
    (data / "wav.scp").write_text("".join(f"{u} /corpus/{u}.wav\n" for u in utts))
    (data / "text").write_text("".join(f"{u} Hello, world!\n" for u in utts))
    (data / "utt2spk").write_text("".join(f"{u} spk{u[-1]}\n" for u in utts))
    (data / "spk2utt").write_text("".join(f"spk{u[-1]} {u}\n" for u in utts))
    (data / "utt2num_samples").write_text("".join(f"{u} {num_samples[u]}\n" for u in utts))


@pytest.fixture
def mfa_setup(tmp_path: Path):
    data, grids = tmp_path / "data", tmp_path / "mfa"
    grids.mkdir()
    write_data_dir(data, {"utt1": 16000, "utt2": 15900, "utt3": 16000, "utt4": 8000})
    hello_world = long_textgrid({"words": WORDS, "phones": PHONES}, 1.0)
    (grids / "utt1.TextGrid").write_text(hello_world, encoding="utf-8")
    # utt2 in a speaker folder (MFA's output layout), short format, UTF-16 as Praat saves it
    (grids / "spk2").mkdir()
    (grids / "spk2" / "utt2.TextGrid").write_bytes(
        short_textgrid({"words": WORDS, "phones": PHONES}, 1.0).encode("utf-16")
    )
    # utt3: no TextGrid; utt4: 0.5 s of audio for a 1 s TextGrid
    (grids / "utt4.TextGrid").write_text(hello_world, encoding="utf-8")
    return data, grids, tmp_path / "durations" / "durations.raw"


def run_converter(data: Path, grids: Path, out: Path, *extra: str) -> None:
    textgrid_to_durations(
        [
            "--fs",
            str(FS),
            "--n_shift",
            str(N_SHIFT),
            "--textgrid_dir",
            str(grids),
            *extra,
            str(data),
            str(out),
        ]
    )


def test_converter_durations_text_and_drops(mfa_setup):
    data, grids, out = mfa_setup
    run_converter(data, grids, out)

    durations = {u: [int(d) for d in v.split()] for u, v in read_kaldi_map(out).items()}
    assert durations == {"utt1": DURATIONS_16000, "utt2": DURATIONS_15900}
    for utt, samples in (("utt1", 16000), ("utt2", 15900)):
        assert sum(durations[utt]) == samples // N_SHIFT + 1
    assert read_kaldi_map(data / "text") == {"utt1": TOKENS, "utt2": TOKENS}
    assert len(TOKENS.split()) + 1 == len(DURATIONS_16000)  # one per token plus eos
    assert read_kaldi_map(data / "text.orig")["utt3"] == "Hello, world!"

    # utt3 and utt4 are named in dropped and gone from every file of the data dir
    dropped = dict(line.split("\t", 1) for line in (data / "dropped").read_text().splitlines())
    assert set(dropped) == {"utt3", "utt4"}
    assert dropped["utt3"].startswith("missing_textgrid") and "utt3.TextGrid" in dropped["utt3"]
    assert dropped["utt4"].startswith("textgrid_too_long")
    for name in ("wav.scp", "text", "utt2spk", "utt2num_samples"):
        assert list(read_kaldi_map(data / name)) == ["utt1", "utt2"], name
    assert read_kaldi_map(data / "spk2utt") == {"spk1": "utt1", "spk2": "utt2"}

    # a second run (stage 2 resumed) gives the same result and keeps the original text
    snapshot = {p.name: p.read_bytes() for p in data.iterdir()}
    first_durations = out.read_bytes()
    run_converter(data, grids, out)
    assert {p.name: p.read_bytes() for p in data.iterdir()} == snapshot
    assert out.read_bytes() == first_durations


def test_converter_stop_names_the_utterance(mfa_setup):
    data, grids, out = mfa_setup
    before = (data / "text").read_text()
    with pytest.raises(SystemExit, match="utt3: missing_textgrid"):
        run_converter(data, grids, out, "--on_error", "stop")
    assert (data / "text").read_text() == before and not out.exists()


def test_converter_spn_and_speaker_tiers(tmp_path: Path):
    """MFA's multi-speaker tier names, an unknown word's spn, no silences at all."""
    data, grids, out = tmp_path / "data", tmp_path / "mfa", tmp_path / "durations"
    grids.mkdir()
    write_data_dir(data, {"utt1": 8000})  # 0.5 s: 8000 // 256 + 1 = 32 frames
    words = [(0.0, 0.2, "<unk>"), (0.2, 0.5, "a")]
    phones = [(0.0, 0.2, "spn"), (0.2, 0.5, "AH0")]
    (grids / "utt1.TextGrid").write_text(
        long_textgrid({"spk1 - words": words, "spk1 - phones": phones}, 0.5), encoding="utf-8"
    )
    run_converter(data, grids, out)
    assert read_kaldi_map(data / "text") == {"utt1": "spn <space> AH0"}
    # spn 0.2 s -> 12.5 -> 13; <space> 0 frames; AH0 to round(31.25) = 31; eos 32 - 31
    assert read_kaldi_map(out) == {"utt1": "13 0 18 1"}


def test_converter_missing_tier_named(tmp_path: Path):
    data, grids, out = tmp_path / "data", tmp_path / "mfa", tmp_path / "durations"
    grids.mkdir()
    write_data_dir(data, {"utt1": 16000, "utt2": 16000})
    (grids / "utt1.TextGrid").write_text(long_textgrid({"words": WORDS, "phones": PHONES}, 1.0))
    (grids / "utt2.TextGrid").write_text(long_textgrid({"words": WORDS, "phons": PHONES}, 1.0))
    with pytest.raises(SystemExit, match=r"utt2: missing_tier: no tier 'phones'.*'phons'"):
        run_converter(data, grids, out, "--on_error", "stop")
    run_converter(data, grids, out)
    assert list(read_kaldi_map(out)) == ["utt1"]
    assert "utt2\tmissing_tier" in (data / "dropped").read_text()


def test_check_durations_accepts_the_result(mfa_setup, tmp_path: Path):
    """The recipe's stage-4 check, with the recipe's text options for MFA phones."""
    data, grids, out = mfa_setup
    run_converter(data, grids, out)
    phones = sorted({t for line in read_kaldi_map(data / "text").values() for t in line.split()})
    phones.remove("<space>")
    token_list = tmp_path / "tokens.txt"
    token_list.write_text("\n".join(["<blank>", "<unk>", *phones, "<space>", "<sos/eos>"]) + "\n")
    checked = tmp_path / "durations" / "durations"
    check_durations.main(
        [
            "--n_shift",
            str(N_SHIFT),
            "--on_error",
            "stop",
            "--token_type",
            "phn",
            "--token_list",
            str(token_list),
            "--non_linguistic_symbols",
            "none",
            "--cleaner",
            "none",
            "--g2p",
            "none",
            "--set",
            str(data),
            str(out),
            str(checked),
        ]
    )
    assert read_kaldi_map(checked) == read_kaldi_map(out)
    assert list(read_kaldi_map(data / "wav.scp")) == ["utt1", "utt2"]


def test_converter_shifts_the_times_of_trimmed_audio(tmp_path: Path):
    """Stage 2 trimmed 0.1 s at the start and 0.1 s at the end (data dir's ``trim``): the
    TextGrid of the original recording still converts, 0.1 s earlier, to the trimmed frames."""
    data, grids, out = tmp_path / "data", tmp_path / "mfa", tmp_path / "durations"
    grids.mkdir()
    write_data_dir(data, {"utt1": 12800})  # 0.8 s kept of 1.0 s: 12800 // 256 + 1 = 51 frames
    (data / "trim").write_text("utt1 0.1000 0.9000 1.0000\n")
    (grids / "utt1.TextGrid").write_text(long_textgrid({"words": WORDS, "phones": PHONES}, 1.0))
    run_converter(data, grids, out)
    durations = list(map(int, read_kaldi_map(out)["utt1"].split()))
    assert sum(durations) == 51 and len(durations) == len(TOKENS.split()) + 1
    # the same boundaries as untrimmed, shifted by 0.1 s (6.25 frames): HH ends at 0.18 - 0.1 s
    bounds = np.cumsum(durations)
    assert bounds[0] == round(0.08 * 62.5) and bounds[4] == round((0.55 - 0.1) * 62.5)
    # without the trim file, the 1.0 s TextGrid is longer than the 0.8 s audio: dropped
    (data / "trim").unlink()
    with pytest.raises(SystemExit, match="textgrid_too_long"):
        run_converter(data, grids, out, "--on_error", "stop")
