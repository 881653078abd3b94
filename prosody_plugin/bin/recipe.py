#!/usr/bin/env python3
"""The decisions of the prosody1 recipe (prosody_plugin.recipe), one subcommand per question.

prosody.sh builds paths and launches jobs; it asks here which experiments a stage works on
(lines of space-separated fields on stdout) and runs stages 12-14 here:

    python -m prosody_plugin.bin.recipe decodes --train_configs "conf/a.yaml conf/b.yaml"
    python -m prosody_plugin.bin.recipe score --test_sets eval --train_configs ... --cmd utils/run.pl
"""

import argparse
import contextlib
import logging
import sys

from prosody_plugin.cli import DefaultsHelpFormatter
from prosody_plugin.recipe import Recipe, RecipeError, Stages, keep_lines, summary, unpack_model, yaml_value


def str2bool(value: str) -> bool:
    if value not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")
    return value == "true"


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=DefaultsHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    exps = argparse.ArgumentParser(add_help=False)
    exps.add_argument("--expdir", default="exp")
    exps.add_argument("--train_configs", default="", help="prosody.sh's --train_configs")
    exps.add_argument("--context_configs", default="", help="prosody.sh's --context_configs")
    exps.add_argument("--tag_suffix", default="")
    exps.add_argument("--inference_tag", default="decode_valid.loss.ave")
    fmt = DefaultsHelpFormatter
    sub.add_parser("decodes", parents=[exps], formatter_class=fmt, help="stage 7: '<tts exp> <sources...>' lines")
    sub.add_parser("targets", parents=[exps], formatter_class=fmt, help="stage 9: '<system> <tts exp> <per word 0/1>'")
    sub.add_parser(
        "pairs", parents=[exps], formatter_class=fmt,
        help="stages 10-16: '<context config> <system> <predictor> <size key> <size> <tts exp> <context exp>'",
    )
    sub.add_parser("bert_model", parents=[exps], formatter_class=fmt, help="the context configs' BERT model")
    sub.add_parser("summary", parents=[exps], formatter_class=fmt, help="where the run's results are")
    value = sub.add_parser("value", formatter_class=fmt, help="a top-level value of a yaml file")
    value.add_argument("yaml")
    value.add_argument("key")
    keep = sub.add_parser("keep", formatter_class=fmt, help="the lines of inputs whose first field is a key")
    keep.add_argument("--keys", required=True, help="a file whose first fields are the keys")
    keep.add_argument("--output", required=True)
    keep.add_argument("--sort", action="store_true", help="sorted by the first field, as LC_ALL=C sort -k1,1")
    keep.add_argument("inputs", nargs="*")
    unpack = sub.add_parser("unpack", formatter_class=fmt, help="unpack a packed ESPnet model once")
    unpack.add_argument("tag", help="packed zip or model-zoo tag")
    unpack.add_argument("--output", required=True, help="its --train_config and --model_file, one word a line")

    stages = argparse.ArgumentParser(add_help=False, parents=[exps])
    stages.add_argument("--test_sets", required=True)
    stages.add_argument("--train_set", default="train")
    stages.add_argument("--valid_set", default="dev")
    for name, default in [("data_feats", "dump/raw"), ("durations_dir", "dump/durations"),
                          ("context_dir", "dump/context"), ("targets_dir", "dump/prosody_targets")]:
        stages.add_argument(f"--{name}", default=default)
    stages.add_argument("--inference_model", default="valid.loss.ave.pth")
    stages.add_argument("--extra_baselines", default="", help="'name=tag ...' (decoded by prosody.sh)")
    stages.add_argument("--vocoder_file", default="")
    stages.add_argument("--vocoder_config", default="")
    stages.add_argument("--cmd", default="", help="job launcher of each tool (cmd.sh's decode_cmd); empty: direct")
    stages.add_argument("--score_resamples", default="1000")
    stages.add_argument("--spread_samples", default="10")
    stages.add_argument("--score_f0_plots", default="3")
    stages.add_argument("--controls_utts", default="16")
    stages.add_argument("--controls_words", default="6")
    stages.add_argument("--context_temperature", default="1.0")
    stages.add_argument("--listening_utts", default="")
    stages.add_argument("--samples_num_utts", default="6")
    stages.add_argument("--samples_renditions", default="3")
    stages.add_argument("--duration_calibration", type=str2bool, default=True)
    stages.add_argument("--mushra_num_trials", default="8")
    stages.add_argument("--mushra_systems", default="")
    stages.add_argument("--mushra_seed", default="0")
    stages.add_argument("--mushra_results_dir", default="")
    stages.add_argument("--corpus_name", default="")
    stages.add_argument("--corpus_license", default="")
    stages.add_argument("--hf_repo_prefix", default="")
    sub.add_parser("score", parents=[stages], formatter_class=fmt, help="stage 12: scores, RESULTS.md")
    sub.add_parser("listening", parents=[stages], formatter_class=fmt, help="stage 13: samples page, MUSHRA test")
    sub.add_parser("mushra", parents=[stages], formatter_class=fmt, help="stage 14: MUSHRA scores, MUSHRA.md")
    sub.add_parser("pack", parents=[stages], formatter_class=fmt, help="stage 15: one archive per system")
    sub.add_parser("model_repos", parents=[stages], formatter_class=fmt, help="stage 16: Hugging Face model repos")
    return parser


def run(args: argparse.Namespace) -> None:
    if args.command == "value":
        print(yaml_value(args.yaml, args.key))
        return
    if args.command == "keep":
        keep_lines(args.keys, args.inputs, args.output, args.sort)
        return
    if args.command == "summary":
        summary(args.expdir, args.tag_suffix)
        return
    if args.command == "unpack":
        paths = unpack_model(args.tag)
        with open(args.output, "w") as f:
            f.writelines(f"--{key}\n{path}\n" for key, path in paths.items())
        return
    recipe = Recipe(args.expdir, args.train_configs.split(), args.context_configs.split(), args.tag_suffix,
                    args.inference_tag)
    lines = []
    with contextlib.redirect_stdout(sys.stderr):  # ESPnet prints import notices to stdout
        if args.command == "decodes":
            lines = [" ".join([exp, *sources]) for exp, sources in recipe.stage_one_decodes()]
        elif args.command == "targets":
            from prosody_plugin.systems import system_class

            lines = [f"{s} {exp} {int(system_class(s).per_word)}" for s, exp in recipe.prosody_exps()]
        elif args.command == "pairs":
            keys = ("config", "system", "predictor", "size_key", "size", "tts_exp", "context_exp")
            lines = [" ".join(pair[key] for key in keys) for pair in recipe.stage_two_pairs()]
        elif args.command == "bert_model":
            lines = [recipe.bert_model()]
        else:
            options = {k: v for k, v in vars(args).items() if k not in Stages.__dataclass_fields__}
            stages = Stages(
                recipe, args.test_sets.split(), args.train_set, args.valid_set, args.data_feats,
                args.durations_dir, args.context_dir, args.targets_dir, args.inference_model,
                args.extra_baselines.split(), args.vocoder_file, args.vocoder_config, args.cmd, options,
            )
            if args.command == "score":
                logging.getLogger("prosody.sh").info(f"Stage 12: {stages.score()}")
            elif args.command == "listening":
                stages.listening()
            elif args.command == "pack":
                stages.pack()
            elif args.command == "model_repos":
                stages.model_repos()
            elif (report := stages.mushra_scores()) is not None:
                logging.getLogger("prosody.sh").info(f"Stage 14: {report}")
    for line in lines:
        print(line)


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    stages = args.command in ("score", "listening", "mushra", "pack", "model_repos", "summary")  # others answer on stdout
    logging.basicConfig(
        stream=sys.stdout if stages else sys.stderr, level=logging.INFO, datefmt="%Y-%m-%dT%H:%M:%S", format="%(asctime)s (%(module)s:%(lineno)d) %(message)s",
    )
    try:
        run(args)
    except RecipeError as e:
        logging.getLogger("prosody.sh").error(f"Error: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
