"""Command-line tools of prosody_plugin (run them with ``python -m prosody_plugin.bin.NAME``)."""
