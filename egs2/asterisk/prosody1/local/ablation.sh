#!/usr/bin/env bash
# Ablation of the changes that made the prosody representations carry prosody
# (docs/RESULTS.md, "Ablation"). Each row trains Kathaka and CAMP with the CPU configs,
# their stage-two models, decodes the eval set and scores it against the shared FastSpeech2
# baseline; the rows add one change each:
#   gradient        every loss term reaches the representation (the new conditioning seam);
#                   decoder given ground-truth pitch/energy, Kathaka's old KL, CAMP's mean
#                   pooling, stage two without punctuation
#   decoder_pred    + the decoder is given the predicted pitch and energy in training
#   decoder_none    + (instead) the decoder is given no pitch and energy at all
#   representation  + Kathaka: KL per mel element with free bits; CAMP: recurrent word encoder
#   punctuation     + stage two reads punctuation (BERT, spaCy; the sampler's punctuation and
#                   position features): the recipe's configuration
# and, on the recipe's configuration before the issue "prosody you can hear" (${before}: the
# decoder conditioned on the representation and given the predicted pitch and energy, no
# augmentation, no word KL; every row up to combined starts from it and uses a baseline
# trained without the augmentation, shared by these rows):
#   before          that configuration itself
#   variance_route  the representation conditions only the duration, pitch and energy
#                   predictors, not the decoder (tts_conf.condition_decoder=false)
#   duration_sums   + word and sentence duration sum losses (weights 1) on today's routing
#   route_sums      both
#   route_tf        variance_route + the decoder gets the recorded pitch and energy in training
#                   (teacher forcing: a decoder that follows its inputs)
#   word_kl         CAMP: a word-level KL bottleneck (word_kl_weight 10; with --systems camp)
#   combined        route_tf + the variance augmentation (pitch shifts of up to 4 semitones and
#                   gains of up to 6 dB, half of the utterances) + CAMP's word KL, with the
#                   baseline trained with the same augmentation (it is not prosody-specific):
#                   the recipe's configuration since that issue
# and, on the recipe's configuration:
#   word_dropout    CAMP: each word's embedding zeroed with probability 0.2 in training
#   embed_dim4      CAMP: 4-dimensional word embeddings (8 in the recipe)
#   combined_sums   + the word and sentence duration sum losses (weights 1), Kathaka and CAMP
# and, to choose Kathaka's KL settings (Kathaka only, before's other settings):
#   kl_w1, kl_w10, kl_w100   KL per mel element with weight 1, 10, 100, free bits 1 nat/dim
# Then local/ablation_table.py writes the table (exp/ablation/ablation.md; its row "recipe" is the
# recipe's own experiments, e.g. the `make demo` run, as a reference).
#
#   local/ablation.sh                                # every row, 8 epochs (~11 min a row on 2 cores)
#   local/ablation.sh --rows "gradient decoder_pred" --tag _ep40 --train_args "--max_epoch 40"
#
# The recipe's data must be prepared first (./run.sh --stage 1 --stop_stage 5). The rows'
# baselines (exp/tts_train_fastspeech2_cpu_abl_{plain,augmented}<tag>) are trained by the first
# row that needs them.
set -euo pipefail
cd "$(dirname "$0")/.."
. ./path.sh

rows="gradient decoder_pred decoder_none representation punctuation"
systems="kathaka camp"  # the prosody models each row trains
tag=""          # suffix of every experiment of the ablation (e.g. _ep40)
train_args=""   # extra arguments of the stage-one trainings (e.g. "--max_epoch 40")
score_opts=""   # extra options of stages 9-12 (e.g. "--spread_samples 0 --controls_words 2")
run_opts=""     # extra options of every stage (e.g. "--duration_calibration false", as the rows
                # measured before the speed calibration)
expdir=exp
. ../../TEMPLATE/prosody1/scripts/parse_options.sh

# Per row: overrides of the Kathaka config, the CAMP config, the sampler config, and whether
# stage two reads punctuation. "section.key=value" sets key in section of the recipe config,
# "key=null" removes a top-level section.
old_kl="tts_conf.kl_weight=0.01 tts_conf.kl_normalization=none tts_conf.kl_free_bits=0.0"
bare_sampler="predictor_conf.syntax_columns=[pos,dep]"
augmentation="variance_augmentation.probability=0.5 variance_augmentation.max_semitones=4 variance_augmentation.max_db=6"
route_tf="tts_conf.condition_decoder=false tts_conf.decoder_variance_input=ground_truth"
sums="tts_conf.duration_word_loss_weight=1.0 tts_conf.duration_sentence_loss_weight=1.0"
before="tts_conf.condition_decoder=true tts_conf.decoder_variance_input=predicted variance_augmentation=null"
row_settings() {
    # the baseline of the row, trained once and shared by the rows that name it: "plain" (no
    # augmentation: the rows on ${before}) or "augmented" (the recipe's since then)
    baseline_overrides="variance_augmentation=null"; baseline_name=plain
    case $1 in
        gradient)
            kathaka="tts_conf.decoder_variance_input=ground_truth ${old_kl}"
            camp="tts_conf.decoder_variance_input=ground_truth tts_conf.word_encoder=mean"
            sampler=${bare_sampler}; punctuation=false ;;
        decoder_pred)
            kathaka="tts_conf.decoder_variance_input=predicted ${old_kl}"
            camp="tts_conf.decoder_variance_input=predicted tts_conf.word_encoder=mean"
            sampler=${bare_sampler}; punctuation=false ;;
        decoder_none)
            kathaka="tts_conf.decoder_variance_input=none ${old_kl}"
            camp="tts_conf.decoder_variance_input=none tts_conf.word_encoder=mean"
            sampler=${bare_sampler}; punctuation=false ;;
        representation)
            kathaka=""; camp=""; sampler=${bare_sampler}; punctuation=false ;;
        punctuation)
            kathaka=""; camp=""; sampler=""; punctuation=true ;;
        before)
            kathaka=""; camp=""; sampler=""; punctuation=true ;;
        variance_route)
            kathaka="tts_conf.condition_decoder=false"; camp=${kathaka}; sampler=""; punctuation=true ;;
        duration_sums)
            kathaka=${sums}; camp=${kathaka}; sampler=""; punctuation=true ;;
        route_sums)
            kathaka="tts_conf.condition_decoder=false ${sums}"
            camp=${kathaka}; sampler=""; punctuation=true ;;
        route_tf)
            kathaka=${route_tf}; camp=${kathaka}; sampler=""; punctuation=true ;;
        word_kl)
            kathaka=""; camp="tts_conf.word_kl_weight=10.0"; sampler=""; punctuation=true ;;
        kl_w*)
            kathaka="tts_conf.kl_weight=${1#kl_w} tts_conf.kl_free_bits=1.0 tts_conf.kl_normalization=mel_elements"
            camp=""; sampler=${bare_sampler}; punctuation=false ;;
        combined)
            kathaka="${route_tf} ${augmentation}"; camp="${kathaka} tts_conf.word_kl_weight=10.0"
            sampler=""; punctuation=true; baseline_overrides=${augmentation}; baseline_name=augmented ;;
        word_dropout)
            kathaka=""; camp="tts_conf.word_dropout=0.2"; sampler=""; punctuation=true
            baseline_overrides=${augmentation}; baseline_name=augmented ;;
        embed_dim4)
            kathaka=""; camp="tts_conf.word_embed_dim=4"; sampler=""; punctuation=true
            baseline_overrides=${augmentation}; baseline_name=augmented ;;
        combined_sums)
            kathaka=${sums}; camp=${sums}; sampler=""; punctuation=true
            baseline_overrides=${augmentation}; baseline_name=augmented ;;
        *) echo "$0: unknown row $1" >&2; exit 2 ;;
    esac
    if [ "${baseline_name}" = plain ]; then
        kathaka="${before} ${kathaka}"; camp="${before} tts_conf.word_kl_weight=0.0 ${camp}"
    fi
}

# override_config <base yaml> <output yaml> <section.key=value ...>
override_config() {
    local base=$1 out=$2; shift 2
    mkdir -p "$(dirname "${out}")"
    python3 - "${base}" "${out}" "$@" << 'EOF'
import sys, yaml
base, out, *items = sys.argv[1:]
config = yaml.safe_load(open(base))
for item in items:
    key, value = item.split("=", 1)
    if "." not in key:
        config[key] = yaml.safe_load(value)
        continue
    section, name = key.split(".", 1)
    if not isinstance(config.get(section), dict):
        config[section] = {}
    config[section][name] = yaml.safe_load(value)
yaml.safe_dump(config, open(out, "w"), sort_keys=False)
EOF
}

baseline=conf/train_fastspeech2_cpu.yaml
for row in ${rows}; do
    row_settings "${row}"
    suffix=_abl_${row}${tag}
    conf=${expdir}/ablation/conf/${row}${tag}
    # shellcheck disable=SC2086
    override_config conf/train_kathaka_cpu.yaml "${conf}/train_kathaka_cpu.yaml" ${kathaka}
    # shellcheck disable=SC2086
    override_config conf/train_camp_cpu.yaml "${conf}/train_camp_cpu.yaml" ${camp}
    # shellcheck disable=SC2086
    override_config conf/train_kathaka_sampler_cpu.yaml "${conf}/train_kathaka_sampler_cpu.yaml" ${sampler}
    cp conf/train_camp_predictor_cpu.yaml "${conf}/"
    prosody_configs=""; context_configs=""
    for system in ${systems}; do
        prosody_configs+=" ${conf}/train_${system}_cpu.yaml"
        [ "${system}" = kathaka ] && context_configs+=" ${conf}/train_kathaka_sampler_cpu.yaml"
        [ "${system}" = camp ] && context_configs+=" ${conf}/train_camp_predictor_cpu.yaml"
    done
    # the row's baseline (a row that trained its own earlier keeps it)
    shared=tts_train_fastspeech2_cpu_abl_${baseline_name}${tag}
    row_baseline=${expdir}/ablation/conf/baseline_${baseline_name}${tag}/train_fastspeech2_cpu.yaml
    # shellcheck disable=SC2086
    override_config "${baseline}" "${row_baseline}" ${baseline_overrides}
    # trained (e.g. side by side with the rows' models, by hand) but not decoded: stage 7 only
    baseline_stage=""
    if [ ! -f "${expdir}/${shared}/valid.loss.ave.pth" ]; then
        baseline_stage=6
    elif ! compgen -G "${expdir}/${shared}/decode_*/*/default/wav.scp" > /dev/null; then
        baseline_stage=7
    fi
    if [ -n "${baseline_stage}" ]; then
        echo "$(date -u +%FT%T) ablation baseline ${baseline_name}${tag}: stages ${baseline_stage}-7"
        # shellcheck disable=SC2086
        ./run.sh --stage "${baseline_stage}" --stop_stage 7 --tag_suffix "_abl_${baseline_name}${tag}" \
            --train_configs "${row_baseline}" --train_args "${train_args}" ${run_opts}
    fi
    [ -d "${expdir}/tts_train_fastspeech2_cpu${suffix}" ] && [ ! -L "${expdir}/tts_train_fastspeech2_cpu${suffix}" ] \
        || ln -sfn "${shared}" "${expdir}/tts_train_fastspeech2_cpu${suffix}"
    # rows whose stage one equals an earlier row's reuse its models
    if [ "${row}" = punctuation ] && [ -d "${expdir}/tts_train_kathaka_cpu_abl_representation${tag}" ]; then
        for system in ${systems}; do
            ln -sfn "tts_train_${system}_cpu_abl_representation${tag}" "${expdir}/tts_train_${system}_cpu${suffix}"
        done
    fi
    echo "$(date -u +%FT%T) ablation row ${row}${tag}: stages 6-7"
    # shellcheck disable=SC2086
    ./run.sh --stage 6 --stop_stage 7 --tag_suffix "${suffix}" \
        --train_configs "${prosody_configs}" --train_args "${train_args}" ${run_opts}
    if ${punctuation}; then context=dump/context; else context=dump/context_nopunct; fi
    first_stage=9
    [ -f "${context}/eval/num_words" ] || first_stage=8
    echo "$(date -u +%FT%T) ablation row ${row}${tag}: stages ${first_stage}-12"
    # shellcheck disable=SC2086
    ./run.sh --stage "${first_stage}" --stop_stage 12 --tag_suffix "${suffix}" \
        --train_configs "${row_baseline}${prosody_configs}" --context_configs "${context_configs}" \
        --context_punctuation "${punctuation}" ${score_opts} ${run_opts}
done
python3 local/ablation_table.py --expdir "${expdir}" --rows ${rows} --tag "${tag}" \
    --output "${expdir}/ablation/ablation${tag}.md"
