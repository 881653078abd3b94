#!/usr/bin/env bash
# Prepare data/{train,dev,eval} of @NAME@ (written by egs2/TEMPLATE/prosody1/setup.sh).
# Layouts of prosody_plugin.bin.prepare_corpus: wav_txt (a folder of audio files with one
# transcript file each), ljspeech (metadata.csv + wavs/), festival (etc/txt.done.data + wav/,
# e.g. CMU ARCTIC), kaldi (an existing data dir). Stage 2 checks the audio and trims silence.
#
# Usage: local/data.sh [--db_root DIR] [--text_dir DIR] [--num_dev N] [--num_eval N] ...
set -euo pipefail

layout=@LAYOUT@
db_root="@DB_ROOT@"   # wav_txt: the audio folder; ljspeech, festival: the corpus root; kaldi: the data dir
text_dir="@TEXT_DIR@" # wav_txt: the transcript folder (empty: beside the audio)
text_ext=.txt         # wav_txt: the transcripts' suffix
num_dev=@NUM_DEV@     # validation utterances
num_eval=@NUM_EVAL@   # decoded and scored utterances
speaker=@SPEAKER@
data_dir=data

help_message="Usage: $0 [--layout L] [--db_root DIR] [--text_dir DIR] [--text_ext EXT] [--num_dev N] [--num_eval N] [--speaker ID] [--data_dir DIR]"
template=$(cd "$(dirname "$0")/../../../TEMPLATE/prosody1/scripts" && pwd)
. "${template}/utils.sh"
. "${template}/parse_options.sh"
[ $# -eq 0 ] || { log "Unexpected argument: $1"; echo "${help_message}"; exit 1; }

[ -f ./path.sh ] && . ./path.sh
PYTHONPATH="$(cd "$(dirname "$0")/../../../.." && pwd)${PYTHONPATH:+:${PYTHONPATH}}"
export PYTHONPATH
python=${PYTHON:-python3}

[ -n "${db_root}" ] || { log "Error: set db_root in $0 or pass --db_root"; exit 1; }
opts=()
[ -n "${text_dir}" ] && opts+=(--text_dir "${text_dir}")
log "Writing ${data_dir}/{train,dev,eval} from ${db_root} (${layout})"
${python} -m prosody_plugin.bin.prepare_corpus --layout "${layout}" --db_root "${db_root}" "${opts[@]}" \
    --text_ext "${text_ext}" --data_dir "${data_dir}" \
    --num_dev "${num_dev}" --num_eval "${num_eval}" --speaker "${speaker}"
log "Successfully finished. [elapsed=${SECONDS}s]"
