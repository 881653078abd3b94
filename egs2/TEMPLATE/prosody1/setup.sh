#!/usr/bin/env bash
# Create a prosody1 recipe for a new corpus, as ESPnet's egs2/TEMPLATE/*/setup.sh does:
#   egs2/TEMPLATE/prosody1/setup.sh [options] <name | egs2/<name>/prosody1>
# writes egs2/<name>/prosody1 with prosody.sh and utils/ (links to the shared stage script and
# job launchers), cmd.sh (local jobs; docs/recipes.md for Slurm), path.sh,
# conf/ (a copy of --conf_from's configs, fs set to --fs), local/data.sh (the corpus through
# prosody_plugin.bin.prepare_corpus) and run.sh (the options that matter for a new corpus).
# Then: check local/data.sh and run.sh, and `cd egs2/<name>/prosody1 && ./run.sh`
# (docs/own_corpus.md).
set -euo pipefail

layout=wav_txt        # wav_txt | ljspeech | festival | kaldi (prosody_plugin.bin.prepare_corpus)
db_root=""            # the corpus (wav_txt: its audio folder)
text_dir=""           # wav_txt: the transcript folder (empty: beside the audio)
fs=16000              # the corpus's sampling rate
g2p=espeak_ng_english_us_vits  # G2P type (espeak_ng_english_gb_vits, ... for other accents)
license=""            # the corpus's license (e.g. cc-by-4.0); empty: "license not given" in the model cards
num_dev=16
num_eval=16
speaker=spk1
conf_from=asterisk    # the recipe whose conf/ is copied

help_message=$(cat << HELP
Usage: $0 [options] <name | egs2/<name>/prosody1>
Options: --layout (${layout}), --db_root, --text_dir, --fs (${fs}), --g2p (${g2p}), --license,
         --num_dev (${num_dev}), --num_eval (${num_eval}), --speaker (${speaker}), --conf_from (${conf_from})
HELP
)
template=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
. "${template}/scripts/utils.sh"
. "${template}/scripts/parse_options.sh"
[ $# -eq 1 ] || { echo "${help_message}" >&2; exit 2; }

egs2=$(dirname "$(dirname "${template}")")
case "$1" in
    */*) dir=$1 ;;
    *) dir=${egs2}/$1/prosody1 ;;
esac
name=$(basename "$(dirname "${dir}")")
[[ "${name}" =~ ^[A-Za-z0-9_.-]+$ ]] || { log "Error: the recipe name '${name}' may only have letters, digits, _ . -"; exit 2; }
case "${layout}" in wav_txt|ljspeech|festival|kaldi) ;; *) log "Error: --layout must be wav_txt, ljspeech, festival or kaldi"; exit 2 ;; esac
[[ "${fs}" =~ ^[0-9]+$ ]] || { log "Error: --fs must be a rate in Hz, got '${fs}'"; exit 2; }
[ -e "${dir}" ] && { log "Error: ${dir} exists already"; exit 1; }
mkdir -p "${dir}"
dir=$(cd "${dir}" && pwd)
if [ ! -f "${dir}/../../TEMPLATE/prosody1/prosody.sh" ]; then
    rmdir "${dir}"
    log "Error: ${dir} must be egs2/<name>/prosody1 (beside egs2/TEMPLATE)"; exit 1
fi
src=${egs2}/${conf_from}/prosody1/conf
[ -d "${src}" ] || { rmdir "${dir}"; log "Error: no ${src} (--conf_from)"; exit 1; }
if [ -n "${db_root}" ]; then db_root=$(cd "${db_root}" && pwd); fi
if [ -n "${text_dir}" ]; then text_dir=$(cd "${text_dir}" && pwd); fi

ln -s ../../TEMPLATE/prosody1/prosody.sh "${dir}/prosody.sh"
ln -s ../../TEMPLATE/prosody1/utils "${dir}/utils"  # the job launchers cmd.sh names
cp "${template}/skeleton/cmd.sh" "${dir}/cmd.sh"
cp "${template}/path.sh" "${dir}/path.sh"
cp -rL "${src}" "${dir}/conf"
# the configs' own rates follow the corpus (prosody.sh passes --fs to every config anyway)
find "${dir}/conf" -name '*.yaml' -exec sed -i -E "s/^(\s+fs:) [0-9]+\s*$/\1 ${fs}/" {} +
mkdir -p "${dir}/local"
fill() {
    sed -e "s|@NAME@|${name}|g" -e "s|@LAYOUT@|${layout}|g" -e "s|@DB_ROOT@|${db_root}|g" \
        -e "s|@TEXT_DIR@|${text_dir}|g" -e "s|@NUM_DEV@|${num_dev}|g" -e "s|@NUM_EVAL@|${num_eval}|g" \
        -e "s|@SPEAKER@|${speaker}|g" -e "s|@FS@|${fs}|g" -e "s|@G2P@|${g2p}|g" -e "s|@LICENSE@|${license}|g" "$1"
}
fill "${template}/skeleton/run.sh" > "${dir}/run.sh"
fill "${template}/skeleton/local/data.sh" > "${dir}/local/data.sh"
chmod +x "${dir}/run.sh" "${dir}/local/data.sh"
log "Created ${dir}: run.sh, local/data.sh (${layout}${db_root:+ from ${db_root}}), conf/ (from ${conf_from}, fs ${fs}), cmd.sh, path.sh, prosody.sh, utils/"
[ -n "${db_root}" ] || log "Set db_root in ${dir}/local/data.sh (or pass --local_data_opts \"--db_root DIR\")"
[ -n "${license}" ] || log "No --license: the model cards will say 'license not given' (set corpus_license in ${dir}/run.sh)"
log "Next: cd ${dir} && ./run.sh"
