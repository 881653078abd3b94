#!/usr/bin/env bash
# Fine-tunes stage one briefly on stage two's predictions (issue "prosody you can hear", item 4;
# docs/RESULTS.md, "Fine-tuning stage one on stage two's predictions"): the variance
# predictors learn to read the representation that text-only decoding will give them, not only
# the reference encoder's. Per system:
#   1. cross-fitted predictions of the training set: the stage-two model is retrained on K-1
#      of K folds and predicts the held-out fold (a model predicting its own training
#      utterances would hand stage one targets it has memorised);
#   2. stage one starts from its trained model and trains its duration, pitch and energy
#      predictors and the representation's projection on those predictions (dev: the full
#      stage-two model's), every other module frozen;
#   3. stages 7, 9, 11 and 12 of the recipe decode and score the fine-tuned model under
#      ${suffix}, with the source's stage-two model and baseline.
#
#   local/finetune_on_predictions.sh --source_suffix _abl_combined_ep40 --suffix _abl_finetune_ep40 \
#       --test_sets dev --score_opts "--spread_samples 0 --controls_words 2"
#   python3 local/ablation_table.py --rows combined finetune --tag _ep40 --set dev
set -euo pipefail
cd "$(dirname "$0")/.."
. ./path.sh
. ./cmd.sh  # the job launchers of the trainings and predictions (docs/recipes.md)

source_suffix=_abl_combined_ep40  # the models to start from: exp/tts_train_<system>_cpu<suffix> and its stage two
source_conf=exp/ablation/conf/combined_ep40  # their configs (names only: the recipe finds exps by them)
suffix=_abl_finetune_ep40         # the fine-tuned experiments' suffix
systems="kathaka camp"
folds=4
train_args="--max_epoch 10"       # of the fine-tuning
test_sets=dev
score_opts=""
expdir=exp
. ../../TEMPLATE/prosody1/scripts/parse_options.sh

prosody_configs=""; context_configs=""
ln -sfn "tts_train_fastspeech2_cpu${source_suffix}" "${expdir}/tts_train_fastspeech2_cpu${suffix}"
for system in ${systems}; do
    case ${system} in
        kathaka) predictor=kathaka_sampler; projection=tts.latent_projection ;;
        camp) predictor=camp_predictor; projection=tts.word_projection ;;
        *) echo "$0: unknown system ${system}" >&2; exit 2 ;;
    esac
    prosody_configs+=" ${source_conf}/train_${system}_cpu.yaml"
    context_configs+=" ${source_conf}/train_${predictor}_cpu.yaml"
    src=${expdir}/tts_train_${system}_cpu${source_suffix}
    src_context=${expdir}/context_train_${predictor}_cpu${source_suffix}
    ft=${expdir}/tts_train_${system}_cpu${suffix}
    crossfit=${ft}/crossfit
    echo "$(date -u +%FT%T) ${system}: cross-fitted predictions of the training set (${folds} folds)"
    python3 local/finetune_configs.py folds --config "${src_context}/config.yaml" --folds "${folds}" --output_dir "${crossfit}"
    for k in $(seq "${folds}"); do
        [ -f "${crossfit}/fold${k}/valid.loss.ave.pth" ] \
            || ${train_cmd} "${crossfit}/fold${k}.log" python -m prosody_plugin.bin.context_train --config "${crossfit}/fold${k}.yaml" \
            || { echo "Error: see ${crossfit}/fold${k}.log" >&2; exit 1; }
        ${decode_cmd} "${crossfit}/fold${k}/predict_train.log" python -m prosody_plugin.bin.context_inference \
            --train_config "${crossfit}/fold${k}/config.yaml" --model_file "${crossfit}/fold${k}/valid.loss.ave.pth" \
            --context_dir dump/context/train --output_dir "${crossfit}/fold${k}/predict_train"
    done
    python3 local/finetune_configs.py merge --folds "${folds}" --output_dir "${crossfit}"
    echo "$(date -u +%FT%T) ${system}: fine-tuning ${src} on them: log in ${ft}/train.log"
    python3 local/finetune_configs.py finetune --config "${src}/config.yaml" \
        --init_param "${src}/valid.loss.ave.pth" --train_prosody "${crossfit}/prosody.scp" \
        --valid_prosody "${src_context}/predict_dev/prosody.scp" --output_dir "${ft}" \
        --freeze tts.encoder tts.decoder tts.feat_out tts.pitch_embed tts.energy_embed \
            tts.reference_encoder tts.posterior tts.word_encoder
    # shellcheck disable=SC2086
    ${train_cmd} "${ft}/train.log" python -m prosody_plugin.bin.tts_train --config "${ft}/finetune.yaml" ${train_args} \
        || { echo "Error: see ${ft}/train.log" >&2; exit 1; }
    # the stage-two model of the fine-tuned system is the source's (stage 11 writes its
    # predictions next to it)
    mkdir -p "${expdir}/context_train_${predictor}_cpu${suffix}"
    for f in config.yaml valid.loss.ave.pth; do
        ln -sfn "$(realpath "${src_context}/${f}")" "${expdir}/context_train_${predictor}_cpu${suffix}/${f}"
    done
done
echo "$(date -u +%FT%T) decoding and scoring ${suffix}"
# shellcheck disable=SC2086
./run.sh --stage 7 --stop_stage 7 --tag_suffix "${suffix}" --test_sets "${test_sets}" --train_configs "${prosody_configs}"
# shellcheck disable=SC2086
./run.sh --stage 9 --stop_stage 9 --tag_suffix "${suffix}" --test_sets "${test_sets}" --train_configs "${prosody_configs}"
# shellcheck disable=SC2086
./run.sh --stage 11 --stop_stage 12 --tag_suffix "${suffix}" --test_sets "${test_sets}" \
    --train_configs "${source_conf}/train_fastspeech2_cpu.yaml${prosody_configs}" --context_configs "${context_configs}" --context_punctuation true ${score_opts}
