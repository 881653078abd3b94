#!/usr/bin/env bash
# Prepare the 32 utterances of ljspeech_mini (LJ001-0001 .. LJ001-0032, 22.05 kHz) as
# data/train (24), data/dev (4) and data/eval (4): the last 8 are held out, the first 4 of
# them for dev and the last 4 for eval. The corpus lives in the `shared` dir beside the
# repo; without it, `python tests/spoken_corpus.py DIR` (from the repo root) speaks a stand-in with
# espeak-ng (same layout and ids; the tests do this outside CI) for --db_root DIR.
# local/prepare_ljspeech.py is the ljspeech recipe's (a link). Run from the recipe dir
# (egs2/mini_ljspeech/prosody1).
#
# Usage: local/data.sh [--db_root DIR] [--data_dir data]
set -euo pipefail

db_root=../../../../shared/corpora/ljspeech_mini
data_dir=data
num_dev=4
num_eval=4

help_message="Usage: $0 [--db_root DIR] [--data_dir DIR] [--num_dev N] [--num_eval N]"
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

if [ ! -f "${db_root}/metadata.csv" ]; then
    log "Error: no ljspeech_mini corpus at ${db_root} (expected metadata.csv and wavs/);" \
        "pass --db_root /path/to/ljspeech_mini, or speak a stand-in with espeak-ng:" \
        "python ../../../tests/spoken_corpus.py DIR, then --db_root DIR"
    exit 1
fi

log "Writing ${data_dir}/{train,dev,eval} from ${db_root}"
${python} local/prepare_ljspeech.py \
    --db_root "${db_root}" \
    --data_dir "${data_dir}" \
    --num_dev "${num_dev}" \
    --num_eval "${num_eval}" \
    --train_set train \
    --dev_set dev \
    --eval_set eval

log "Successfully finished. [elapsed=${SECONDS}s]"
