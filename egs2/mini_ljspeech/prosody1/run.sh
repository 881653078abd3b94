#!/usr/bin/env bash
# The CI recipe (like ESPnet's mini_an4): 32 LJSpeech utterances from the shared corpora dir,
# 24 train / 4 dev / 4 eval, CPU sizes and few epochs. It proves that every stage runs on
# real audio; it is far too small to train a usable voice.
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh

./prosody.sh \
    --fs 22050 --n_shift 256 --max_duration 15 \
    --train_set train --valid_set dev --test_sets eval \
    --aligner_config conf/train_aligner_cpu.yaml \
    --aligner_args "--max_epoch 2" \
    --train_configs "conf/train_fastspeech2_cpu.yaml conf/train_kathaka_cpu.yaml conf/train_camp_cpu.yaml" \
    --train_args "--max_epoch 2 --batch_size 8" \
    --context_configs "conf/train_kathaka_sampler_cpu.yaml conf/train_camp_predictor_cpu.yaml" \
    --context_args "--max_epoch 3 --batch_size 8" \
    --inference_config conf/decode.yaml \
    --score_resamples 200 --spread_samples 4 --score_f0_plots 2 --controls_utts 2 --controls_words 2 \
    --samples_renditions 2 --train_jobs 3 \
    "$@"
