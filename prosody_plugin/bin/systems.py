#!/usr/bin/env python3
"""Print what the registry knows about the prosody systems (prosody_plugin.systems), as a table.

python -m prosody_plugin.bin.systems
"""

import argparse

from prosody_plugin.systems import BASELINE, SYSTEMS, prosody_sources, system_class


def get_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(description="The prosody systems of prosody_plugin and their facts")


def main(argv=None) -> None:
    get_parser().parse_args(argv)
    print("| system | class | predictor | size key | decoding sources |\n|---|---|---|---|---|")
    print(f"| {BASELINE} | ESPnet FastSpeech2 | - | - | {' '.join(prosody_sources(BASELINE))} |")
    for name in SYSTEMS:
        cls = system_class(name)
        sources = " ".join(prosody_sources(name))
        print(
            f"| {name} | {cls.__module__}.{cls.__name__} | {cls.predictor_name} | {cls.size_key} "
            f"| {sources} |"
        )


if __name__ == "__main__":
    main()
