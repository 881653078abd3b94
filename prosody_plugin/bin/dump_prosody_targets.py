#!/usr/bin/env python3
"""Write stage two's targets: the stage-one prosody representation of every recording.

    python -m prosody_plugin.bin.dump_prosody_targets \\
        --train_config exp/tts_train_camp_cpu/config.yaml \\
        --model_file exp/tts_train_camp_cpu/valid.loss.ave.pth \\
        --set dump/raw/train dump/durations/train/durations dump/context/train/num_words \\
              dump/prosody_targets/tts_train_camp_cpu/train \\
        --set dump/raw/dev ...

Kathaka: [mu, logvar] of the reference encoder's posterior, (2 * latent_dim,).
CAMP: the word prosody embeddings, (num_words, word_embed_dim); the word count is checked
against the front end's (``--num_words``), and an utterance whose counts differ is named
and left out (listed in ``failed``), never shifted.
Writes ``target.scp`` + npy files (ESPnet's NpyScpWriter) and ``target_shape``.
"""

import argparse
import logging
import sys
from pathlib import Path

import prosody_plugin  # noqa: F401  (registers the plugin's TTS classes)
from prosody_plugin.context.targets import dump_targets
from prosody_plugin.tasks.tts import ProsodyTTSTask


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Write the stage-one prosody representations (stage two's targets)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--train_config", type=Path, required=True, help="Stage-one config.yaml")
    parser.add_argument("--model_file", type=Path, required=True, help="Stage-one checkpoint")
    parser.add_argument(
        "--set",
        nargs=4,
        action="append",
        type=Path,
        required=True,
        metavar=("DATA_DIR", "DURATIONS", "NUM_WORDS", "OUTPUT_DIR"),
        help="A formatted data dir (text, wav.scp), its phone durations, the front end's word "
        "counts (context dir's num_words) and the output dir; repeat for several sets",
    )
    return parser


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s (%(module)s) %(levelname)s: %(message)s")
    args = get_parser().parse_args(argv)
    model, train_args = ProsodyTTSTask.build_model_from_file(args.train_config, args.model_file, "cpu")
    model.eval()
    if not hasattr(model.tts, "prosody_target"):
        raise SystemExit(f"{args.model_file} holds a {type(model.tts).__name__}, which has no prosody representation")
    preprocess = ProsodyTTSTask.build_preprocess_fn(train_args, False)
    for data_dir, durations, num_words, output_dir in args.set:
        dump_targets(model, preprocess, data_dir, durations, num_words, output_dir)


if __name__ == "__main__":
    main(sys.argv[1:])
