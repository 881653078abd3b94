#!/usr/bin/env bash
# Helpers for the recipe scripts: logging, scp splitting, jobs side by side, decode outputs merged.

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}

# split_scp <scp> <nj> <outdir> <prefix>: writes <outdir>/<prefix>.1.scp ... <prefix>.<nj>.scp,
# round-robin so that every part holds a similar mix of lengths.
split_scp() {
    local scp=$1 nj=$2 outdir=$3 prefix=$4 i part
    mkdir -p "${outdir}"
    rm -f "${outdir}/${prefix}".*.scp
    split -n "r/${nj}" --numeric-suffixes=1 --suffix-length="${#nj}" --additional-suffix=.scp "${scp}" "${outdir}/${prefix}."
    for i in $(seq "${nj}"); do  # split pads the numbers (keys.01.scp): named as the jobs number them
        part=$(printf '%s.%0*d.scp' "${outdir}/${prefix}" "${#nj}" "${i}")
        [ "${part}" = "${outdir}/${prefix}.${i}.scp" ] || mv "${part}" "${outdir}/${prefix}.${i}.scp"
    done
}

# min <numbers...>: the smallest
min() { local a b; a=$1; for b in "$@"; do [ "${b}" -lt "${a}" ] && a=${b}; done; echo "${a}"; }

# in_background <command...>: start a command in the background once fewer than train_jobs
# started ones still run (else wait for one to end); with train_jobs 1, run it in the
# foreground. wait_background: wait for them all. A failed one stops the stage (and the others).
# (Decodes and measurements stay one after another: side by side, each with its threads, they
# took longer on 2 cores; with fewer threads their floats would change.)
# Background jobs ignore Ctrl-C (as in any script): an interrupted stage stops them itself.
in_background_pids=()
train_jobs=${train_jobs:-1}
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

# merge_decode_jobs <nj> <logdir> <dir>: gather the outputs of nj tts_inference jobs
# (<logdir>/output.JOB) into <dir> as ESPnet's tts.sh does: features, shapes, durations, wavs;
# plus the predicted token-level pitch and energy (for stage 12).
merge_decode_jobs() {
    local nj=$1 logdir=$2 dir=$3 sub i wav
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
            | while IFS= read -r wav; do sub=${wav##*/}; echo "${sub%.wav} ${wav}"; done > "${dir}/wav.scp"
    fi
}
