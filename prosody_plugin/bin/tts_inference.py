#!/usr/bin/env python3
"""Synthesise a data dir: ``espnet2.bin.tts_inference`` with prosody inputs.

Same flags and outputs as ESPnet's (``--model_file``, ``--train_config``,
``--data_path_and_name_and_type``, ``--vocoder_file``, Griffin-Lim when no vocoder is
given, ``--use_teacher_forcing``, ...), plus ``--use_reference_prosody``, ``--synthesize_wav`` and the
``prosody`` data name; the loop and its outputs are described in :func:`prosody_plugin.decode.decode`.
"""

import logging
import sys

import espnet2.bin.tts_inference as espnet_tts_inference
from espnet.utils.cli_utils import get_commandline_args
from espnet2.utils import config_argparse
from espnet2.utils.types import str2bool

from prosody_plugin.decode import decode


def get_parser() -> config_argparse.ArgumentParser:
    """ESPnet's TTS inference parser plus the prosody options."""
    parser = espnet_tts_inference.get_parser()
    group = parser.add_argument_group("Prosody related")
    group.add_argument(
        "--use_reference_prosody",
        type=str2bool,
        default=False,
        help="Condition Kathaka/CAMP on the prosody of the data's own recording (speech, "
        "and durations for CAMP) instead of the default or a given `prosody`",
    )
    group.add_argument(
        "--synthesize_wav",
        type=str2bool,
        default=True,
        help="false: no vocoder, only the features and durations (e.g. for a speed calibration)",
    )
    return parser


def main(cmd=None):
    """Run TTS model inference."""
    print(get_commandline_args(), file=sys.stderr)
    kwargs = vars(get_parser().parse_args(cmd))
    kwargs.pop("config", None)
    logging.basicConfig(
        level=kwargs.pop("log_level"), format="%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"
    )
    if kwargs.pop("batch_size") > 1:
        raise SystemExit(
            "--batch_size: batch decoding of a data dir is not implemented (use Text2SpeechProsody)"
        )
    decode(**kwargs)


if __name__ == "__main__":
    main()
