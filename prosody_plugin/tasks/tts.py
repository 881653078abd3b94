"""The plugin's TTS task: ESPnet's TTSTask with Kathaka, CAMP and the aligner, a ``prosody`` data entry and ``variance_augmentation``.

Everything else is ESPnet's ``tts_train``. docs/architecture.md (ESPnet integration).
"""

import argparse
from typing import Tuple

from espnet2.tasks.tts import TTSTask
from espnet2.utils.nested_dict_action import NestedDictAction

from prosody_plugin.tts.espnet_model import ProsodyESPnetTTSModel
from prosody_plugin.tts.variance_augmentation import build_variance_augmentation


class ProsodyTTSTask(TTSTask):
    """ESPnet TTSTask building :class:`ProsodyESPnetTTSModel`."""

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return tuple(super().optional_data_names(train, inference)) + ("prosody",)

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser):
        super().add_task_arguments(parser)
        group = parser.add_argument_group(description="Prosody plugin")
        # A key of its own, not model_conf: ESPnet's loaders (Text2Speech, the model zoo)
        # rebuild a trained model with ESPnet's TTSTask, which ignores it.
        group.add_argument(
            "--variance_augmentation",
            action=NestedDictAction,
            default=dict(),
            help="Training only: pitch shifts and gains that teach the decoder to follow its pitch and energy "
            "inputs, e.g. {probability: 0.5, max_semitones: 4, max_db: 6} (empty: off; "
            "prosody_plugin.tts.variance_augmentation)",
        )

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> ProsodyESPnetTTSModel:
        augmentation = build_variance_augmentation(getattr(args, "variance_augmentation", None))
        model = ProsodyESPnetTTSModel.from_espnet_model(super().build_model(args), augmentation)
        if hasattr(model.tts, "set_token_list"):
            model.tts.set_token_list(args.token_list)
        return model
