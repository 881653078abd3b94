"""The plugin's TTS task: ESPnet's TTSTask with Kathaka, CAMP and the aligner registered.

Everything ESPnet's ``tts_train`` offers works unchanged (configs, ``--print_config``,
``--resume``, ``--ngpu`` and multi-GPU DDP, collect_stats); the differences are:

* ``kathaka``, ``camp`` and ``aligner`` are TTS classes next to ESPnet's own (registered
  in ESPnet's module-level ``tts_choices`` on ``import prosody_plugin``, so ESPnet's own
  loaders build them too);
* the data may hold ``prosody`` (explicit prosody representations, e.g. stage two's
  predictions), which the model wrapper passes through to the TTS module;
* models that derive word boundaries from tokens receive the token list.
"""

import argparse
from typing import Tuple

from espnet2.tasks.tts import TTSTask

from prosody_plugin.tts.espnet_model import ProsodyESPnetTTSModel


class ProsodyTTSTask(TTSTask):
    """ESPnet TTSTask building :class:`ProsodyESPnetTTSModel`."""

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return tuple(super().optional_data_names(train, inference)) + ("prosody",)

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> ProsodyESPnetTTSModel:
        model = ProsodyESPnetTTSModel.from_espnet_model(super().build_model(args))
        if hasattr(model.tts, "set_token_list"):
            model.tts.set_token_list(args.token_list)
        return model
