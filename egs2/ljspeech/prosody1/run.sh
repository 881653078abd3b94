#!/usr/bin/env bash
# LJSpeech 1.1 (public domain), one US English female reader, 22.05 kHz, about 24 hours.
# local/data.sh downloads it when it is not under downloads/ (or --local_data_opts "--db_root DIR").
# Held-out split as in ESPnet's egs2/ljspeech/tts1: dev and eval1, 250 utterances each.
#   ./run.sh --size gpu --ngpu 1   ESPnet's LJSpeech FastSpeech2 sizes (the intended use)
#   ./run.sh                       CPU sizes (a smoke run; too small for this corpus)
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

size=cpu
if [ "${1:-}" = --size ]; then size=$2; shift 2; fi
bert_model=""  # empty: the context configs' frontend_conf.bert_model, else the packaged all-MiniLM-L6-v2
case "${size}" in
    cpu) conf=conf; train_jobs=3 ;;  # the three small stage-one models side by side
    gpu) conf=conf/tuning; train_jobs=1 ;;  # stage two: bert-base-cased, named in the context configs
    *) echo "$0: --size must be cpu or gpu" >&2; exit 2 ;;
esac

./prosody.sh \
    --fs 22050 --n_shift 256 --max_duration 15 \
    --train_set tr_no_dev --valid_set dev --test_sets eval1 \
    --aligner_config "${conf}/train_aligner_${size}.yaml" \
    --train_configs "${conf}/train_fastspeech2_${size}.yaml ${conf}/train_kathaka_${size}.yaml ${conf}/train_camp_${size}.yaml" \
    --context_configs "${conf}/train_kathaka_sampler_${size}.yaml ${conf}/train_camp_predictor_${size}.yaml" \
    --bert_model "${bert_model}" \
    --inference_config conf/decode.yaml \
    --train_jobs "${train_jobs}" \
    "$@"
