#!/usr/bin/env python3
"""Configs of local/finetune_on_predictions.sh, written from the trained experiments' own config.yaml.

folds     split a stage-two experiment's training utterances into K folds and write, per
          fold, a copy of its config that trains on the other folds (cross-fitting)
merge     join the folds' predictions: each utterance predicted by the model that did not see it
finetune  a copy of a stage-one config that starts from its model, reads stage two's
          predictions as its representation and trains only the listed modules
"""

import argparse
from pathlib import Path

import yaml


def folds(args: argparse.Namespace) -> None:
    config = yaml.safe_load(open(args.config))
    (shape_file,) = config["train_shape_file"]
    lines = Path(shape_file).read_text().splitlines()
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    for k in range(args.folds):
        held_out = lines[k :: args.folds]
        (out / f"fold{k + 1}.keys").write_text("".join(line.split()[0] + "\n" for line in held_out))
        kept = [line for i, line in enumerate(lines) if i % args.folds != k]
        (out / f"fold{k + 1}_train_shape").write_text("\n".join(kept) + "\n")
        fold = dict(
            config,
            train_shape_file=[str(out / f"fold{k + 1}_train_shape")],
            output_dir=str(out / f"fold{k + 1}"),
            resume=True,
        )
        for key in ("config", "required", "version", "distributed"):  # written by ESPnet, not options
            fold.pop(key, None)
        yaml.safe_dump(fold, open(out / f"fold{k + 1}.yaml", "w"), sort_keys=False)


def merge(args: argparse.Namespace) -> None:
    out = Path(args.output_dir)
    merged = []
    for k in range(args.folds):
        keys = set((out / f"fold{k + 1}.keys").read_text().split())
        scp = out / f"fold{k + 1}" / "predict_train" / "prosody.scp"
        rows = [line for line in scp.read_text().splitlines() if line.split(maxsplit=1)[0] in keys]
        if len(rows) != len(keys):
            raise ValueError(
                f"{scp}: {len(keys) - len(rows)} of fold {k + 1}'s utterances were not predicted"
            )
        merged += rows
    (out / "prosody.scp").write_text("\n".join(sorted(merged)) + "\n")


def finetune(args: argparse.Namespace) -> None:
    config = yaml.safe_load(open(args.config))
    for key in ("config", "required", "version", "distributed"):  # written by ESPnet, not options
        config.pop(key, None)
    config.update(
        output_dir=args.output_dir, init_param=[args.init_param], resume=True, freeze_param=args.freeze
    )
    config["train_data_path_and_name_and_type"].append([args.train_prosody, "prosody", "npy"])
    config["valid_data_path_and_name_and_type"].append([args.valid_prosody, "prosody", "npy"])
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    yaml.safe_dump(config, open(Path(args.output_dir) / "finetune.yaml", "w"), sort_keys=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("folds")
    p.add_argument("--config", required=True, help="the stage-two experiment's config.yaml")
    p.add_argument("--folds", type=int, required=True)
    p.add_argument("--output_dir", required=True)
    p.set_defaults(run=folds)
    p = commands.add_parser("merge")
    p.add_argument("--folds", type=int, required=True)
    p.add_argument("--output_dir", required=True)
    p.set_defaults(run=merge)
    p = commands.add_parser("finetune")
    p.add_argument("--config", required=True, help="the stage-one experiment's config.yaml")
    p.add_argument("--init_param", required=True)
    p.add_argument("--train_prosody", required=True)
    p.add_argument("--valid_prosody", required=True)
    p.add_argument("--freeze", nargs="+", default=[], help="modules left as trained")
    p.add_argument("--output_dir", required=True)
    p.set_defaults(run=finetune)
    args = parser.parse_args()
    args.run(args)
