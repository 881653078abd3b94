#!/usr/bin/env python3
"""The decisions of the prosody1 recipe (prosody_plugin.recipe), one subcommand per question.

prosody.sh builds paths and launches jobs; it asks here which experiments a stage works on
(lines of space-separated fields on stdout) and runs stages 12-16 here (docs/recipes.md):

    python -m prosody_plugin.bin.recipe decodes --train_configs "conf/a.yaml conf/b.yaml"
    python -m prosody_plugin.bin.recipe score --test_sets eval --train_configs ... --cmd utils/run.pl
"""

import argparse
import contextlib
import logging
import sys

from prosody_plugin.cli import DefaultsHelpFormatter
from prosody_plugin.recipe import Recipe, RecipeError, Stages, keep_lines, summary, unpack_model, yaml_value
from prosody_plugin.systems import system_class

#: The questions about the experiments: what each line of the answer holds.
QUESTIONS = {
    "decodes": "stage 7: '<tts exp> <prosody sources...>'",
    "targets": "stage 9: '<system> <tts exp> <per word: 0/1>'",
    "pairs": "stages 10, 11: '<config> <system> <predictor> <size key> <size> <tts exp> <context exp>'",
    "bert_model": "the BERT model the context configs name (frontend_conf.bert_model)",
    "summary": "where the run's results are (log lines)",
}
#: Stages 12-16, run here.
STAGES = {
    "score": "stage 12: scores of every decode, RESULTS.md",
    "listening": "stage 13: samples page and MUSHRA test",
    "mushra": "stage 14: MUSHRA scores, MUSHRA.md",
    "pack": "stage 15: one archive per system",
    "model_repos": "stage 16: Hugging Face model repos",
}
#: prosody.sh's options that stages 12-16 read, with prosody.sh's defaults.
STAGE_OPTIONS = dict(
    train_set="train",
    valid_set="dev",
    data_feats="dump/raw",
    durations_dir="dump/durations",
    context_dir="dump/context",
    targets_dir="dump/prosody_targets",
    inference_model="valid.loss.ave.pth",
    extra_baselines="",
    vocoder_file="",
    vocoder_config="",
    score_resamples="1000",
    spread_samples="10",
    score_f0_plots="3",
    controls_utts="16",
    controls_words="6",
    context_temperature="1.0",
    listening_utts="",
    samples_num_utts="6",
    samples_renditions="3",
    mushra_num_trials="8",
    mushra_systems="",
    mushra_seed="0",
    mushra_results_dir="",
    corpus_name="",
    corpus_license="",
    hf_repo_prefix="",
)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=DefaultsHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    exps = argparse.ArgumentParser(add_help=False)
    exps.add_argument("--expdir", default="exp")
    exps.add_argument("--train_configs", default="", help="prosody.sh's --train_configs")
    exps.add_argument("--context_configs", default="", help="prosody.sh's --context_configs")
    exps.add_argument("--tag_suffix", default="")
    exps.add_argument("--inference_tag", default="decode_valid.loss.ave")
    stages = argparse.ArgumentParser(add_help=False, parents=[exps])
    stages.add_argument("--test_sets", required=True)
    for name, default in STAGE_OPTIONS.items():
        stages.add_argument(f"--{name}", default=default, help=f"prosody.sh's --{name}")
    stages.add_argument("--duration_calibration", choices=["true", "false"], default="true")
    stages.add_argument(
        "--cmd", default="", help="job launcher of each tool (cmd.sh's decode_cmd); empty: direct"
    )
    for name, description in {**QUESTIONS, **STAGES}.items():
        sub.add_parser(name, parents=[stages if name in STAGES else exps], help=description)
    value = sub.add_parser("value", help="a top-level value of a yaml file")
    value.add_argument("yaml")
    value.add_argument("key")
    keep = sub.add_parser("keep", help="the lines of the inputs whose first field is a key")
    keep.add_argument("--keys", required=True, help="a file whose lines' first fields are the keys")
    keep.add_argument("--output", required=True)
    keep.add_argument("--sort", action="store_true", help="sorted by the first field, as LC_ALL=C sort -k1,1")
    keep.add_argument("inputs", nargs="*")
    unpack = sub.add_parser("unpack", help="unpack a packed ESPnet model once")
    unpack.add_argument("tag", help="packed zip or model-zoo tag")
    unpack.add_argument(
        "--output", required=True, help="its --train_config and --model_file, one word a line"
    )
    return parser


def answer(args: argparse.Namespace) -> list:
    """Run a subcommand; the lines of its answer on stdout."""
    if args.command == "value":
        return [yaml_value(args.yaml, args.key)]
    if args.command == "keep":
        keep_lines(args.keys, args.inputs, args.output, args.sort)
        return []
    if args.command == "unpack":
        with open(args.output, "w") as f:
            f.writelines(f"--{key}\n{path}\n" for key, path in unpack_model(args.tag).items())
        return []
    split = str.split
    recipe = Recipe(
        args.expdir,
        split(args.train_configs),
        split(args.context_configs),
        args.tag_suffix,
        args.inference_tag,
    )
    if args.command == "decodes":
        return [" ".join([exp, *sources]) for exp, sources in recipe.stage_one_decodes()]
    if args.command == "targets":
        return [f"{name} {exp} {int(system_class(name).per_word)}" for name, exp in recipe.prosody_exps()]
    if args.command == "pairs":
        keys = ("config", "system", "predictor", "size_key", "size", "tts_exp", "context_exp")
        return [" ".join(pair[key] for key in keys) for pair in recipe.stage_two_pairs()]
    if args.command == "bert_model":
        return [recipe.bert_model()]
    if args.command == "summary":
        summary(args.expdir, args.tag_suffix)
        return []
    args.duration_calibration = args.duration_calibration == "true"
    stages = Stages(recipe, args)
    done = {
        "score": stages.score,
        "listening": stages.listening,
        "mushra": stages.mushra_scores,
        "pack": stages.pack,
        "model_repos": stages.model_repos,
    }[args.command]()
    if done:
        logging.getLogger("prosody.sh").info(f"Stage {12 if args.command == 'score' else 14}: {done}")
    return []


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    talks = args.command in STAGES or args.command == "summary"  # the others answer on stdout
    logging.basicConfig(
        stream=sys.stdout if talks else sys.stderr,
        level=logging.INFO,
        datefmt="%Y-%m-%dT%H:%M:%S",
        format="%(asctime)s (%(module)s:%(lineno)d) %(message)s",
    )
    try:
        with contextlib.redirect_stdout(sys.stdout if talks else sys.stderr):  # ESPnet's import notices
            lines = answer(args)
    except RecipeError as e:
        logging.getLogger("prosody.sh").error(f"Error: {e}")
        sys.exit(1)
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
