#!/usr/bin/env bash
# Installs the Debian packages the plugin needs, only when one is missing:
#   espeak-ng                       offline G2P behind ESPnet's espeak_ng_english_us_vits
#   asterisk-core-sounds-en-g722    recorded prompts of the embedded default corpus (16 kHz)
#   asterisk-core-sounds-en         their transcripts (core-sounds-en.txt.gz)
#   chromium                        the browser the tests open the listening pages in (through
#                                   Playwright, with this system browser: no browser download)
#   procps                          pgrep: the recipes stop the jobs they run side by side
set -euo pipefail
packages=(espeak-ng asterisk-core-sounds-en-g722 asterisk-core-sounds-en chromium procps)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing Debian packages: ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
