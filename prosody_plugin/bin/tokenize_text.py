#!/usr/bin/env python3
"""ESPnet's ``espnet2.bin.tokenize_text`` with the plugin loaded (recipe stage 3).

Identical options and outputs; the plugin's G2P types (``espeak_ng_english_gb_vits`` and the
other espeak-ng English accents, :mod:`prosody_plugin.text.g2p`) are then accepted::

    python -m prosody_plugin.bin.tokenize_text --token_type phn --g2p espeak_ng_english_gb_vits \\
        -f 2- --input dump/raw/train/text --output tokens.txt --write_vocabulary true
"""

import sys

from espnet2.bin.tokenize_text import main as espnet_main

import prosody_plugin  # noqa: F401  (registers the plugin's G2P types in ESPnet)


def main(argv=None) -> None:
    espnet_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
