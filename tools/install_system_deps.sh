#!/usr/bin/env bash
# Installs the Debian packages the plugin needs, only when one is missing:
#   espeak-ng                       offline G2P behind ESPnet's espeak_ng_english_us_vits
#   asterisk-core-sounds-en-g722    recorded prompts of the embedded default corpus (16 kHz)
#   asterisk-core-sounds-en         their transcripts (core-sounds-en.txt.gz)
#   chromium                        the browser the tests open the listening pages in (through
#                                   Playwright, with this system browser: no browser download)
#   procps                          pgrep: the recipes stop the jobs they run side by side
#   slurmctld slurmd slurm-client munge
#                                   a one-node Slurm cluster for the tests of utils/slurm.pl
#                                   (tools/slurm_one_node.sh), without their recommends (every
#                                   Slurm plugin and its -dev package: not needed here)
set -euo pipefail
packages=(espeak-ng asterisk-core-sounds-en-g722 asterisk-core-sounds-en chromium procps)
lean_packages=(slurmctld slurmd slurm-client munge)
missing=() lean_missing=()
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
for p in "${lean_packages[@]}"; do installed "$p" || lean_missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && [ ${#lean_missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing Debian packages: ${missing[*]} ${lean_missing[*]}"
$sudo apt-get update -q
apt_install() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"; }
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
[ ${#lean_missing[@]} -eq 0 ] || apt_install --no-install-recommends "${lean_missing[@]}"
