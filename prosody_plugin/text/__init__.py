"""Text front ends the plugin adds to ESPnet's (G2P types for other English accents)."""
