#!/usr/bin/env bash
# @NAME@: a prosody1 recipe for your own corpus, written by egs2/TEMPLATE/prosody1/setup.sh
# (docs/own_corpus.md). Trains the ESPnet FastSpeech2 baseline, Kathaka and CAMP on the same
# durations, pitch and energy, their stage-two predictors, decodes, scores and packs them.
#   ./run.sh                      CPU sizes (conf/)
#   ./run.sh --size gpu --ngpu 1  ESPnet's LJSpeech FastSpeech2 sizes (conf/tuning)
# Any other option goes to prosody.sh (e.g. --stage 6 --stop_stage 7); see ./prosody.sh --help.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

size=cpu
if [ "${1:-}" = --size ]; then size=$2; shift 2; fi
case "${size}" in
    cpu) conf=conf ;;
    gpu) conf=conf/tuning ;;
    *) echo "$0: --size must be cpu or gpu" >&2; exit 2 ;;
esac

# The options that matter for a new corpus (docs/own_corpus.md):
fs=@FS@                  # the corpus's sampling rate: every config's feature, pitch and energy extraction gets it
f0min=""                 # F0 range of the voice (Hz); empty: measured on the training set in stage 2
f0max=""
g2p=@G2P@  # the accent's phonemes (espeak_ng_english_gb_vits, ...)
corpus_license="@LICENSE@"      # the corpus's license for the model cards; empty: "license not given"

./prosody.sh \
    --fs "${fs}" --n_shift 256 --max_duration 15 \
    --f0min "${f0min}" --f0max "${f0max}" --g2p "${g2p}" \
    --train_set train --valid_set dev --test_sets eval \
    --aligner_config "${conf}/train_aligner_${size}.yaml" \
    --train_configs "${conf}/train_fastspeech2_${size}.yaml ${conf}/train_kathaka_${size}.yaml ${conf}/train_camp_${size}.yaml" \
    --context_configs "${conf}/train_kathaka_sampler_${size}.yaml ${conf}/train_camp_predictor_${size}.yaml" \
    --inference_config conf/decode.yaml \
    --corpus_name @NAME@ --corpus_license "${corpus_license}" \
    "$@"
