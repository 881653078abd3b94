#!/usr/bin/env bash
# Embedded default corpus: Allison Smith's Asterisk prompts (Debian asterisk-core-sounds-en
# and -g722, CC-BY-SA-3.0), one US English female voice, 16 kHz, about 24 minutes.
# Trains the ESPnet FastSpeech2 baseline, Kathaka and CAMP on the same durations, pitch and
# energy, their stage-two predictors from BERT and syntax, and decodes the eval set with
# oracle, default and text-only (predicted) prosody.
#   ./run.sh                      CPU sizes (minutes on 2 cores), the `make demo` job
#   ./run.sh --size gpu --ngpu 1  ESPnet's LJSpeech FastSpeech2 sizes
# Any other option goes to prosody.sh (e.g. --stage 6 --stop_stage 7); see ./prosody.sh --help.
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
    --fs 16000 --n_shift 256 --max_duration 15 \
    --train_set train --valid_set dev --test_sets eval \
    --aligner_config "${conf}/train_aligner_${size}.yaml" \
    --train_configs "${conf}/train_fastspeech2_${size}.yaml ${conf}/train_kathaka_${size}.yaml ${conf}/train_camp_${size}.yaml" \
    --context_configs "${conf}/train_kathaka_sampler_${size}.yaml ${conf}/train_camp_predictor_${size}.yaml" \
    --bert_model "${bert_model}" \
    --inference_config conf/decode.yaml \
    --train_jobs "${train_jobs}" \
    "$@"
