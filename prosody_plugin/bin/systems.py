#!/usr/bin/env python3
"""Print what the registry knows about the prosody systems (prosody_plugin.systems).

    python -m prosody_plugin.bin.systems            # a table
    eval "$(python -m prosody_plugin.bin.systems --shell)"   # the recipe's variables
"""

import argparse
import contextlib
import sys

from prosody_plugin.systems import BASELINE, SYSTEMS, prosody_sources, shell_facts, system_class


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="The prosody systems of prosody_plugin and their facts")
    parser.add_argument("--shell", action="store_true", help="name=value lines for a shell's eval")
    return parser


def main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    if args.shell:
        with contextlib.redirect_stdout(sys.stderr):  # ESPnet prints import notices to stdout
            facts = shell_facts()
        sys.stdout.write(facts)
        return
    print("| system | class | predictor | size key | decoding sources |\n|---|---|---|---|---|")
    print(f"| {BASELINE} | ESPnet FastSpeech2 | - | - | {' '.join(prosody_sources(BASELINE))} |")
    for name in SYSTEMS:
        cls = system_class(name)
        print(f"| {name} | {cls.__module__}.{cls.__name__} | {cls.predictor_name} | {cls.size_key} | "
              f"{' '.join(prosody_sources(name))} |")  # fmt: skip


if __name__ == "__main__":
    main()
