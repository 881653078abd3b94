#!/usr/bin/env python3
"""Synthesise with a TTS model: ``espnet2.bin.tts_inference`` with prosody inputs.

Same flags and outputs as ESPnet's (``--model_file``, ``--train_config``,
``--data_path_and_name_and_type``, ``--vocoder_file``, Griffin-Lim when no vocoder is
given, ``--use_teacher_forcing``, ...), plus:

* ``--use_reference_prosody true``: read the prosody of each utterance's own recording
  (the ``speech`` entry of the data; CAMP also needs its ``durations``): the "oracle";
* a ``prosody`` entry in the data (npy scp of explicit representations) conditions the
  models directly, e.g. stage two's predictions;
* ``pitch/pitch`` and ``energy/energy`` beside ESPnet's ``durations/durations``: the
  token-level pitch (log-F0) and energy the model predicted, denormalised, one line per
  utterance (``<key> <value> ...``, T_text + 1 values), for the word-level scoring.
"""

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import espnet2.bin.tts_inference as espnet_tts_inference
import numpy as np
import torch
from espnet2.torch_utils.device_funcs import to_device
from espnet2.utils import config_argparse
from espnet2.utils.types import str2bool
from espnet.utils.cli_utils import get_commandline_args

import prosody_plugin  # noqa: F401  (registers the plugin's TTS classes)
from prosody_plugin.tasks.tts import ProsodyTTSTask
from prosody_plugin.tts.espnet_model import ProsodyESPnetTTSModel
from prosody_plugin.vocoder_compat import enable_parallel_wavegan, make_griffin_lim_reproducible


class Text2Speech(espnet_tts_inference.Text2Speech):
    """ESPnet's Text2Speech that can condition the prosody models.

    Args:
        use_reference_prosody (bool): Pass ``speech`` (and ``durations``) as the prosody
            reference of Kathaka / CAMP instead of using them for teacher forcing.
        **kwargs: ESPnet's Text2Speech arguments.

    """

    use_reference_prosody_default = False
    # (duration, pitch, energy) of every call, in call order, when a list is set here
    variance_log: Optional[List] = None

    def __init__(self, *args, use_reference_prosody: Optional[bool] = None, **kwargs):
        enable_parallel_wavegan()  # for --vocoder_file *.pkl
        super().__init__(*args, **kwargs)
        if use_reference_prosody is None:
            use_reference_prosody = self.use_reference_prosody_default
        self.use_reference_prosody = use_reference_prosody
        if not isinstance(self.model, ProsodyESPnetTTSModel):
            self.model = ProsodyESPnetTTSModel.from_espnet_model(self.model)
        make_griffin_lim_reproducible(self.vocoder)  # --seed / always_fix_seed reproduce wavs

    @property
    def use_speech(self) -> bool:
        """Return whether the data's speech is needed (teacher forcing or reference)."""
        return self.use_teacher_forcing or self.use_reference_prosody

    def __call__(
        self,
        text: Union[str, torch.Tensor, np.ndarray],
        prosody: Union[torch.Tensor, np.ndarray, None] = None,
        decode_conf: Optional[Dict[str, Any]] = None,
        **kwargs,
    ) -> Dict[str, torch.Tensor]:
        """Run text-to-speech; ``prosody`` is an explicit prosody representation."""
        if prosody is not None:
            prosody = to_device(torch.as_tensor(prosody, dtype=torch.float32), self.device)
            decode_conf = dict(decode_conf or {}, prosody=prosody)
        outputs = super().__call__(text, decode_conf=decode_conf, **kwargs)
        if self.variance_log is not None and outputs.get("pitch_denorm") is not None:
            self.variance_log.append(
                tuple(outputs[k].detach().cpu().numpy() for k in ("duration", "pitch_denorm", "energy_denorm"))
            )
        return outputs


@contextmanager
def _espnet_inference_with(text2speech_class):
    """Run ESPnet's inference loop with the plugin's task and Text2Speech.

    ``espnet2.bin.tts_inference.inference`` looks both names up in its module; binding them
    for the duration of the call reuses ESPnet's loop (data loading, writers, plots, wav
    output) as it is.
    """
    saved = espnet_tts_inference.TTSTask, espnet_tts_inference.Text2Speech
    espnet_tts_inference.TTSTask = ProsodyTTSTask
    espnet_tts_inference.Text2Speech = text2speech_class
    try:
        yield
    finally:
        espnet_tts_inference.TTSTask, espnet_tts_inference.Text2Speech = saved


def inference(use_reference_prosody: bool = False, **kwargs):
    """ESPnet's tts_inference.inference with prosody options (see the module docstring)."""
    variance_log: List = []
    configured = type(
        "Text2Speech",
        (Text2Speech,),
        dict(use_reference_prosody_default=use_reference_prosody, variance_log=variance_log),
    )
    with _espnet_inference_with(configured):
        espnet_tts_inference.inference(**kwargs)
    if variance_log:
        write_variances(Path(kwargs["output_dir"]), variance_log)


def write_variances(output_dir: Path, variance_log: List) -> None:
    """Write the predicted pitch and energy beside ESPnet's durations file.

    ESPnet's loop writes ``durations/durations`` in call order with the keys; the records
    were taken in the same order, so the n-th line's key names the n-th record (checked
    against the durations themselves).
    """
    lines = (output_dir / "durations" / "durations").read_text().splitlines()
    if len(lines) != len(variance_log):
        raise RuntimeError(f"{len(lines)} durations written but {len(variance_log)} utterances decoded")
    for name, index in (("pitch", 1), ("energy", 2)):
        (output_dir / name).mkdir(parents=True, exist_ok=True)
        with open(output_dir / name / name, "w") as f:
            for line, record in zip(lines, variance_log):
                key, *durations = line.split()
                if [int(d) for d in durations] != record[0].astype(np.int64).tolist():
                    raise RuntimeError(f"{key}: decoded durations do not match the written ones")
                f.write(key + " " + " ".join(f"{v:.5f}" for v in record[index]) + "\n")


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
    return parser


def main(cmd=None):
    """Run TTS model inference."""
    print(get_commandline_args(), file=sys.stderr)
    args = get_parser().parse_args(cmd)
    kwargs = vars(args)
    kwargs.pop("config", None)
    inference(**kwargs)


if __name__ == "__main__":
    main()
