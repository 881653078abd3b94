#!/usr/bin/env bash
# Prepare LJSpeech 1.1 as ESPnet's egs2/ljspeech/tts1 does: the last 500 utterances are
# held out, the first 250 of them as data/dev and the last 250 as data/eval1; the rest is
# data/tr_no_dev. Downloads the corpus (2.6 GB) into downloads/ when it is missing.
# Run from the recipe dir (egs2/ljspeech/prosody1).
#
# Usage: local/data.sh [--stage 0] [--stop_stage 1] [--db_root downloads/LJSpeech-1.1]
set -euo pipefail

stage=0         # 0: download and extract, 1: data dirs
stop_stage=1
db_root=downloads/LJSpeech-1.1
data_dir=data
num_dev=250
num_eval=250
train_set=tr_no_dev
dev_set=dev
eval_set=eval1
url=https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2

help_message="Usage: $0 [--stage N] [--stop_stage N] [--db_root DIR] [--data_dir DIR] [--num_dev N] [--num_eval N] [--train_set NAME] [--dev_set NAME] [--eval_set NAME] [--url URL]"
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

if [ "${stage}" -le 0 ] && [ "${stop_stage}" -ge 0 ]; then
    if [ -f "${db_root}/metadata.csv" ]; then
        log "stage 0: ${db_root} already exists, skipping download"
    else
        download_dir=$(dirname "${db_root}")
        archive="${download_dir}/$(basename "${url}")"
        mkdir -p "${download_dir}"
        if [ ! -f "${archive}.done" ]; then
            log "stage 0: downloading ${url} into ${download_dir}"
            if command -v wget > /dev/null; then
                wget --continue --directory-prefix "${download_dir}" "${url}"
            elif command -v curl > /dev/null; then
                curl -fL --retry 3 -C - -o "${archive}" "${url}"
            else
                log "Error: neither wget nor curl found; download ${url} into ${download_dir} by hand"
                exit 1
            fi
            touch "${archive}.done"
        fi
        log "stage 0: extracting ${archive}"
        tar -xjf "${archive}" -C "${download_dir}"   # creates LJSpeech-1.1/
        if [ "$(basename "${db_root}")" != LJSpeech-1.1 ]; then
            mv "${download_dir}/LJSpeech-1.1" "${db_root}"
        fi
        if [ ! -f "${db_root}/metadata.csv" ]; then
            log "Error: ${db_root}/metadata.csv missing after extracting ${archive}"
            exit 1
        fi
        rm -f "${archive}" "${archive}.done"
        log "stage 0: LJSpeech is in ${db_root}"
    fi
fi

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
    log "stage 1: writing ${data_dir}/{${train_set},${dev_set},${eval_set}} from ${db_root}"
    ${python} local/prepare_ljspeech.py \
        --db_root "${db_root}" \
        --data_dir "${data_dir}" \
        --num_dev "${num_dev}" \
        --num_eval "${num_eval}" \
        --train_set "${train_set}" \
        --dev_set "${dev_set}" \
        --eval_set "${eval_set}"
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
