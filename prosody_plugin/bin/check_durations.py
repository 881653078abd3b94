#!/usr/bin/env python3
"""Check phone durations against the tokens and frames training will see.

FastSpeech2 needs, for every utterance, one duration per token plus one for eos, summing
to the number of feature frames; a mismatch would stop training halfway. This runs before
training with the recipe's own text processing (ESPnet's CommonPreprocessor: cleaner, G2P,
token list) and the feature frame count (``num_samples // n_shift + 1``, ESPnet's centred
STFT), names every failing utterance, and either drops it from the data dir (wav.scp, text,
utt2spk, spk2utt, utt2num_samples; listed in ``dropped``) or stops.

    python -m prosody_plugin.bin.check_durations --n_shift 256 --token_type phn \\
        --token_list tokens.txt --cleaner tacotron --g2p espeak_ng_english_us_vits \\
        --set dump/raw/train dump/durations/train/durations.raw dump/durations/train/durations \\
        --set dump/raw/dev dump/durations/dev/durations.raw dump/durations/dev/durations
"""

import argparse
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional

from espnet2.train.preprocessor import CommonPreprocessor
from tqdm import tqdm

from prosody_plugin.data.kaldi_dir import read_kaldi_map, write_kaldi_map, write_spk2utt


def duration_problem(
    durations: Optional[List[int]], num_tokens: int, num_samples: int, n_shift: int
) -> Optional[str]:
    """Return what is wrong with one utterance's durations, or None."""
    if durations is None:
        return "no durations"
    if len(durations) != num_tokens + 1:
        return f"{len(durations)} durations for {num_tokens} tokens + eos"
    if any(d < 0 for d in durations):
        return "negative duration"
    num_frames = num_samples // n_shift + 1
    if sum(durations) != num_frames:
        return f"durations sum to {sum(durations)} frames, the audio has {num_frames}"
    return None


def check_durations(
    data_dir: Path,
    durations_in: Path,
    durations_out: Path,
    preprocessor: CommonPreprocessor,
    n_shift: int,
    on_error: str = "drop",
) -> Dict[str, str]:
    """Write the durations of the valid utterances; drop or stop on the others.

    Returns:
        Dict[str, str]: Dropped utterance -> reason.

    """
    texts = read_kaldi_map(data_dir / "text")
    num_samples = {k: int(v) for k, v in read_kaldi_map(data_dir / "utt2num_samples").items()}
    all_durations = {
        k: [int(d) for d in v.split()] for k, v in read_kaldi_map(durations_in).items()
    }
    good: Dict[str, str] = {}
    dropped: Dict[str, str] = {}
    for utt, text in tqdm(texts.items(), desc=f"check durations {data_dir.name}", leave=False):
        tokens = preprocessor(utt, {"text": text})["text"]
        problem = duration_problem(all_durations.get(utt), len(tokens), num_samples[utt], n_shift)
        if problem is None:
            good[utt] = " ".join(map(str, all_durations[utt]))
            continue
        if on_error == "stop":
            raise SystemExit(f"{data_dir}: utterance {utt}: {problem} ({durations_in})")
        logging.warning(f"{data_dir}: dropping {utt}: {problem}")
        dropped[utt] = problem
    if not good:
        raise SystemExit(f"{data_dir}: no utterance has usable durations in {durations_in}")
    write_kaldi_map(durations_out, good)
    if dropped:
        for name in ("wav.scp", "text", "utt2spk", "utt2num_samples"):
            entries = read_kaldi_map(data_dir / name)
            write_kaldi_map(data_dir / name, {k: v for k, v in entries.items() if k in good})
        write_spk2utt(data_dir / "spk2utt", read_kaldi_map(data_dir / "utt2spk"))
        with open(data_dir / "dropped", "a", encoding="utf-8") as f:
            for utt, reason in sorted(dropped.items()):
                f.write(f"{utt}\tdurations: {reason}\n")
        logging.warning(f"{data_dir}: dropped {len(dropped)} of {len(texts)} utterances")
    logging.info(f"{data_dir}: {len(good)} utterances with valid durations -> {durations_out}")
    return dropped


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--set",
        nargs=3,
        action="append",
        type=Path,
        required=True,
        metavar=("DATA_DIR", "DURATIONS_IN", "DURATIONS_OUT"),
        help="A formatted data dir (with utt2num_samples), its durations (ESPnet format) and "
        "where to write the valid ones; repeat for several sets",
    )
    parser.add_argument("--n_shift", type=int, required=True, help="Feature frame shift")
    parser.add_argument("--token_type", default="phn")
    parser.add_argument("--token_list", type=Path, required=True)
    parser.add_argument("--non_linguistic_symbols", default=None)
    parser.add_argument("--cleaner", default="tacotron")
    parser.add_argument("--g2p", default="espeak_ng_english_us_vits")
    parser.add_argument("--on_error", choices=("drop", "stop"), default="drop")
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    def none_if_none(value):  # ESPnet's command lines write "none" for no cleaner / G2P
        return None if value in (None, "", "none", "None") else value

    preprocessor = CommonPreprocessor(
        train=False,
        token_type=args.token_type,
        token_list=args.token_list,
        text_cleaner=none_if_none(args.cleaner),
        g2p_type=none_if_none(args.g2p),
        non_linguistic_symbols=none_if_none(args.non_linguistic_symbols),
    )
    for data_dir, durations_in, durations_out in args.set:
        check_durations(data_dir, durations_in, durations_out, preprocessor, args.n_shift, args.on_error)


if __name__ == "__main__":
    main(sys.argv[1:])
