"""ESPnet task of stage two: predict a stage-one prosody representation from text context.

Data: ``bert`` (W, H) or ``wordpieces`` (T, 2) with ``--bert_finetune true``, ``syntax``
(W, K) and ``target`` (Kathaka (2D,), CAMP (W, D)); the rest is ESPnet's trainer.
docs/stage_two.md (Training).
"""

import argparse
from typing import Callable, Dict, Optional, Tuple

import numpy as np
from espnet2.tasks.abs_task import AbsTask
from espnet2.train.class_choices import ClassChoices
from espnet2.train.collate_fn import CommonCollateFn
from espnet2.train.trainer import Trainer
from espnet2.utils.nested_dict_action import NestedDictAction
from espnet2.utils.types import int_or_none, str2bool

from prosody_plugin.context.abs_predictor import AbsProsodyPredictor
from prosody_plugin.context.camp_predictor import CAMPPredictor
from prosody_plugin.context.kathaka_sampler import KathakaSampler

predictor_choices = ClassChoices(
    "predictor",
    classes=dict(kathaka_sampler=KathakaSampler, camp_predictor=CAMPPredictor),
    type_check=AbsProsodyPredictor,
    default="camp_predictor",
)


def syntax_vocab_sizes() -> Dict[str, int]:
    """Number of classes of each categorical syntax column (the front end's vocabularies)."""
    from prosody_plugin.frontend.syntax import num_classes

    return dict(num_classes)


class ProsodyContextTask(AbsTask):
    """Stage-two training: Kathaka's sampler or CAMP's predictor."""

    num_optimizers: int = 1
    class_choices_list = [predictor_choices]
    trainer = Trainer

    @classmethod
    def add_task_arguments(cls, parser: argparse.ArgumentParser):
        group = parser.add_argument_group(description="Task related")
        group.add_argument(
            "--input_size",
            type=int_or_none,
            default=None,
            help="Size of the word embeddings (the BERT hidden size); read from the first "
            "training example when not given",
        )
        group.add_argument(
            "--frontend_conf",
            action=NestedDictAction,
            default=dict(),
            help="The front end the features were extracted with (bert_model, spacy_model, "
            "punctuation); kept in config.yaml so that inference uses the same",
        )
        group.add_argument(
            "--bert_finetune",
            type=str2bool,
            default=False,
            help="Fine-tune frontend_conf.bert_model inside the predictor (reads `wordpieces` "
            "instead of `bert`); costly, meant for GPUs",
        )
        for class_choices in cls.class_choices_list:
            class_choices.add_arguments(group)

    @classmethod
    def build_collate_fn(cls, args: argparse.Namespace, train: bool) -> Callable:
        # -1 pads the integer syntax columns: it marks padded words everywhere
        return CommonCollateFn(float_pad_value=0.0, int_pad_value=-1)

    @classmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool) -> Optional[Callable]:
        return None

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("syntax",) if inference else ("syntax", "target")

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        # the word vectors: `bert` (frozen encoder) or `wordpieces` (--bert_finetune)
        return ("bert", "wordpieces")

    @classmethod
    def build_model(cls, args: argparse.Namespace) -> AbsProsodyPredictor:
        word_encoder = None
        if getattr(args, "bert_finetune", False):
            from prosody_plugin.frontend.bert import WordEmbedder

            frontend = dict(getattr(args, "frontend_conf", None) or {})
            word_encoder = WordEmbedder(frontend.get("bert_model"), trainable=True)
            args.input_size = word_encoder.hidden_size
        if args.input_size is None:
            args.input_size = cls._input_size_from_data(args)
        conf = dict(args.predictor_conf)
        conf.setdefault("vocab_sizes", syntax_vocab_sizes())
        args.predictor_conf = conf  # saved in config.yaml: the model rebuilds without the front end
        model = predictor_choices.get_class(args.predictor)(input_size=args.input_size, **conf)
        if word_encoder is not None:
            model.attach_word_encoder(word_encoder)
        return model

    @staticmethod
    def _input_size_from_data(args: argparse.Namespace) -> int:
        from espnet2.fileio.npy_scp import NpyScpReader

        for path, name, _ in args.train_data_path_and_name_and_type:
            if name == "bert":
                reader = NpyScpReader(path)
                return int(np.shape(reader[next(iter(reader.keys()))])[-1])
        raise ValueError("--input_size is needed when the training data has no `bert` entry")


def load_predictor(
    train_config: str, model_file: Optional[str] = None, device: str = "cpu"
) -> Tuple[AbsProsodyPredictor, argparse.Namespace]:
    """Build a trained stage-two model from its config.yaml and checkpoint."""
    model, args = ProsodyContextTask.build_model_from_file(train_config, model_file, device)
    return model.eval(), args


__all__ = ["ProsodyContextTask", "load_predictor", "predictor_choices"]
