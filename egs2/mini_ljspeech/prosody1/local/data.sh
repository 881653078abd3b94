#!/usr/bin/env bash
# Prepare the 32 utterances of ljspeech_mini (LJ001-0001 .. LJ001-0032, 22.05 kHz) as
# data/train (24), data/dev (4) and data/eval (4): the last 8 are held out, the first 4 of
# them for dev and the last 4 for eval. The corpus lives in the `shared` dir beside the
# repo. Run from the recipe dir (egs2/mini_ljspeech/prosody1).
#
# Usage: local/data.sh [--db_root DIR] [--data_dir data]
set -euo pipefail

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}

db_root=../../../../shared/corpora/ljspeech_mini
data_dir=data
num_dev=4
num_eval=4

help_message="Usage: $0 [--db_root DIR] [--data_dir DIR] [--num_dev N] [--num_eval N]"
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) echo "${help_message}"; exit 0 ;;
        --*=*) name=${1%%=*}; value=${1#*=}; shift ;;
        --*) [ $# -ge 2 ] || { log "Missing value for $1"; exit 1; }; name=$1; value=$2; shift 2 ;;
        *) log "Unexpected argument: $1"; echo "${help_message}"; exit 1 ;;
    esac
    name=${name#--}; name=${name//-/_}
    case "${name}" in
        db_root|data_dir|num_dev|num_eval) printf -v "${name}" '%s' "${value}" ;;
        *) log "Unknown option: --${name}"; echo "${help_message}"; exit 1 ;;
    esac
done

[ -f ./path.sh ] && . ./path.sh
# Make the plugin importable even when it is not pip-installed (repo root is ../../..).
PYTHONPATH="$(cd "$(dirname "$0")/../../../.." && pwd)${PYTHONPATH:+:${PYTHONPATH}}"
export PYTHONPATH
python=${PYTHON:-python3}

if [ ! -f "${db_root}/metadata.csv" ]; then
    log "Error: no ljspeech_mini corpus at ${db_root} (expected metadata.csv and wavs/);" \
        "pass --db_root /path/to/ljspeech_mini"
    exit 1
fi

log "Writing ${data_dir}/{train,dev,eval} from ${db_root}"
${python} -m prosody_plugin.bin.prepare_ljspeech \
    --db_root "${db_root}" \
    --data_dir "${data_dir}" \
    --num_dev "${num_dev}" \
    --num_eval "${num_eval}" \
    --train_set train \
    --dev_set dev \
    --eval_set eval

log "Successfully finished. [elapsed=${SECONDS}s]"
