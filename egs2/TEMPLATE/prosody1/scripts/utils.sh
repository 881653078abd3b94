#!/usr/bin/env bash
# Helpers for the recipe scripts: logging, scp splitting and parallel jobs with one log each.

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}

# split_scp <scp> <nj> <outdir> <prefix>: writes <outdir>/<prefix>.1.scp ... <prefix>.<nj>.scp,
# round-robin so that every part holds a similar mix of lengths.
split_scp() {
    local scp=$1 nj=$2 outdir=$3 prefix=$4
    mkdir -p "${outdir}"
    rm -f "${outdir}/${prefix}".*.scp
    awk -v nj="${nj}" -v out="${outdir}/${prefix}" '{ print > (out "." ((NR - 1) % nj + 1) ".scp") }' "${scp}"
    local i
    for i in $(seq "${nj}"); do touch "${outdir}/${prefix}.${i}.scp"; done
}

# run_jobs <nj> <log pattern with JOB> <command with JOB ...>
# Runs the command nj times in parallel, replacing JOB by 1..nj in every argument and in the
# log path; on failure shows the end of each failed log and returns non-zero.
run_jobs() {
    local nj=$1 logpat=$2; shift 2
    local pids=() i
    mkdir -p "$(dirname "${logpat}")"
    for i in $(seq "${nj}"); do
        local args=() a
        for a in "$@"; do args+=("${a//JOB/${i}}"); done
        local logf=${logpat//JOB/${i}}
        ( echo "# ${args[*]}"; echo "# Started at $(date)"; ) > "${logf}"
        ( "${args[@]}" >> "${logf}" 2>&1; rc=$?; echo "# Ended (code ${rc}) at $(date)" >> "${logf}"; exit ${rc} ) &
        pids+=($!)
    done
    local failed=0
    for i in $(seq "${nj}"); do
        if ! wait "${pids[$((i - 1))]}"; then
            failed=1
            echo "ERROR: job ${i}/${nj} failed; end of ${logpat//JOB/${i}}:" >&2
            tail -n 20 "${logpat//JOB/${i}}" >&2
        fi
    done
    return ${failed}
}
