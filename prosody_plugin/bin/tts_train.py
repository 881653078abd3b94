#!/usr/bin/env python3
"""Train a TTS model: ``espnet2.bin.tts_train`` with the prosody plugin's models.

Same flags as ESPnet's (``--config``, ``--print_config``, ``--ngpu``, ``--resume``,
``--collect_stats``, ...); ``--tts`` also accepts ``kathaka``, ``camp`` and ``aligner``.
"""

from prosody_plugin.tasks.tts import ProsodyTTSTask


def get_parser():
    """Return ESPnet's TTS training parser with the plugin's classes selectable."""
    return ProsodyTTSTask.get_parser()


def main(cmd=None):
    """Run TTS model training."""
    ProsodyTTSTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
