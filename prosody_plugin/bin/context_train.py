#!/usr/bin/env python3
"""Train a stage-two prosody predictor (Kathaka's sampler, CAMP's predictor).

ESPnet's training CLI (``--config``, ``--print_config``, ``--ngpu``, ``--resume``, ...)
for :class:`prosody_plugin.tasks.prosody_context.ProsodyContextTask`; ``--predictor``
chooses ``kathaka_sampler`` or ``camp_predictor``.
"""

from prosody_plugin.tasks.prosody_context import ProsodyContextTask


def get_parser():
    """Return the stage-two training parser."""
    return ProsodyContextTask.get_parser()


def main(cmd=None):
    """Run stage-two training."""
    ProsodyContextTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
