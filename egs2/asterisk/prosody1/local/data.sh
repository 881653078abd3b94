#!/usr/bin/env bash
# Prepare data/{train,dev,eval} from the Asterisk English prompts (Allison Smith, 16 kHz).
# The corpus comes from two Debian packages: asterisk-core-sounds-en-g722 (audio) and
# asterisk-core-sounds-en (transcripts). Run from the recipe dir (egs2/asterisk/prosody1).
#
# Usage: local/data.sh [--dev_size 16] [--eval_size 16] [--max_duration 15.0]
#                      [--sounds_dir DIR] [--transcripts FILE] [--wav_dir DIR] [--data_dir DIR]
set -euo pipefail

sounds_dir=/usr/share/asterisk/sounds/en_US_f_Allison
transcripts=/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz
wav_dir=downloads/wavs
data_dir=data
dev_size=16
eval_size=16
max_duration=15.0
limit=          # use only the first N prompts (quick checks)

help_message="Usage: $0 [--dev_size N] [--eval_size N] [--max_duration SEC] [--sounds_dir DIR] [--transcripts FILE] [--wav_dir DIR] [--data_dir DIR] [--limit N]"
# shared with prosody.sh: log() and "--name value" options (unknown options are an error)
template=$(cd "$(dirname "$0")/../../../TEMPLATE/prosody1/scripts" && pwd)
. "${template}/utils.sh"
. "${template}/parse_options.sh"
[ $# -eq 0 ] || { log "Unexpected argument: $1"; echo "${help_message}"; exit 1; }

[ -f ./path.sh ] && . ./path.sh
# Make the plugin importable even when it is not pip-installed (repo root is ../../..).
PYTHONPATH="$(cd "$(dirname "$0")/../../../.." && pwd)${PYTHONPATH:+:${PYTHONPATH}}"
export PYTHONPATH
python=${PYTHON:-python3}

if [ ! -d "${sounds_dir}" ] || [ ! -f "${transcripts}" ]; then
    [ -d "${sounds_dir}" ] || log "Error: no Asterisk prompts in ${sounds_dir}"
    [ -f "${transcripts}" ] || log "Error: no Asterisk transcripts at ${transcripts}"
    log "Run \`make demo\` from the repo root, or:" \
        "sudo apt-get install asterisk-core-sounds-en-g722 asterisk-core-sounds-en"
    exit 1
fi

log "Decoding prompts from ${sounds_dir} into ${wav_dir} and writing ${data_dir}/{train,dev,eval}"
${python} local/prepare_asterisk.py \
    --sounds_dir "${sounds_dir}" \
    --transcripts "${transcripts}" \
    --wav_dir "${wav_dir}" \
    --data_dir "${data_dir}" \
    --dev_size "${dev_size}" \
    --eval_size "${eval_size}" \
    --max_duration "${max_duration}" \
    ${limit:+--limit "${limit}"}

log "Successfully finished. [elapsed=${SECONDS}s]"
