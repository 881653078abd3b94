"""Shared pieces of the command-line tools (``prosody_plugin.bin``)."""

import argparse


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default in its help, but not when there is none to show.

    No "(default: None)" or "(default: False)" for optional values and flags, and nothing
    added to a help text that already says what its default is.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        if (
            action.default is None
            or action.default is False
            or action.default == []
            or "default" in help_text
        ):
            return help_text
        return super()._get_help_string(action)
