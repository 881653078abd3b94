#!/usr/bin/env bash
# run.pl: the local job launcher of the prosody1 recipes (cmd.sh's default), with the command
# line of Kaldi's launchers (run.pl, queue.pl, slurm.pl), so that cmd.sh can name any of them:
#
#   run.pl [--num_threads N] [--mem M] [--gpu G] [--max_jobs_run N] [JOB=1:N] <log> <command...>
#
# Runs <command> once per job of the range (any NAME=START:END or NAME=ID; none: one job) in
# the current dir, NAME replaced by the job's number in every word of the command and in the
# log's name; the log holds the command, its output, the start and end time and the exit
# status. Several words are a program and its arguments, exactly as given; one word is a
# shell command line (pipes, redirections). --max_jobs_run limits the jobs running at once
# (default: all). Other options (--mem, --gpu, --time, --config, a cluster's) are for the
# cluster launchers and ignored: a local job uses what the machine has. Options may also
# follow JOB=1:N. Exit status 1 when any job failed, naming its log.
# (Written for this project in bash: the interface is Kaldi's, the code is not.)
set -u

usage() {
    echo "Usage: run.pl [--num_threads N] [--mem M] [--gpu G] [--max_jobs_run N] [JOB=1:N] <log> <command...>" >&2
    exit 1
}
num_threads=1
max_jobs_run=0
var="" first=1 last=1
for pass in 1 2; do  # options may come before and after JOB=a:b, as in Kaldi
    while [[ $# -ge 2 && "$1" == --* ]]; do
        case "$1" in
            --num_threads|--num-threads) num_threads=$2 ;;
            --max_jobs_run|--max-jobs-run) max_jobs_run=$2 ;;
            *) ;;  # --mem, --gpu, --time, --config, a cluster's options: nothing to do here
        esac
        shift 2
    done
    if [[ ${pass} -eq 1 && $# -gt 0 && "$1" =~ ^([A-Za-z_][A-Za-z0-9_]*)=([0-9]+)(:([0-9]+))?$ ]]; then
        var=${BASH_REMATCH[1]} first=$((10#${BASH_REMATCH[2]})) last=$((10#${BASH_REMATCH[4]:-${BASH_REMATCH[2]}}))
        [ "${first}" -le "${last}" ] || { echo "run.pl: empty job range $1" >&2; exit 1; }
        shift
    fi
done
[[ "${max_jobs_run}" =~ ^[0-9]+$ ]] || { echo "run.pl: --max_jobs_run must be a number, got '${max_jobs_run}'" >&2; exit 1; }
[ $# -ge 2 ] || usage
log=$1
shift
command=("$@")
if [ -n "${var}" ] && [[ "${log}" != *"${var}"* ]] && [ "${first}" -ne "${last}" ]; then
    echo "run.pl: the log name ${log} must contain ${var}: the jobs would share one log" >&2
    exit 1
fi

# sub <word> <id>: the word with the job variable replaced by the id, in $subbed
sub() { if [ -n "${var}" ]; then subbed=${1//"${var}"/$2}; else subbed=$1; fi; }

run_job() {  # run_job <id>: one job, its output and bookkeeping in its log; its exit status
    local id=$1 words=() word logf start rc line subbed
    sub "${log}" "${id}"; logf=${subbed}
    for word in "${command[@]}"; do sub "${word}" "${id}"; words+=("${subbed}"); done
    mkdir -p "$(dirname "${logf}")" || return 1
    if [ ${#words[@]} -eq 1 ]; then line=${words[0]}; else  # each word quoted as a shell reads it back
        line=""
        for word in "${words[@]}"; do
            [[ "${word}" =~ ^[A-Za-z0-9_./,:=+@%^-]+$ ]] || word=${word@Q}
            line+="${line:+ }${word}"
        done
    fi
    { echo "# ${line}"; echo "# Started at $(date)"; echo "#"; } > "${logf}" || return 1
    start=${SECONDS}
    if [ ${#words[@]} -eq 1 ]; then
        bash -c "${words[0]}" < /dev/null >> "${logf}" 2>&1
    else
        "${words[@]}" < /dev/null >> "${logf}" 2>&1
    fi
    rc=$?
    {
        echo "# Accounting: time=$((SECONDS - start)) threads=${num_threads}"
        echo "# Ended (code ${rc}) at $(date), elapsed time $((SECONDS - start)) seconds"
    } >> "${logf}"
    return ${rc}
}

trap 'pids=$(jobs -p); [ -z "${pids}" ] || kill ${pids} 2> /dev/null; exit 143' TERM INT
declare -A job_of status
running=0
reap() {
    local pid rc
    wait -n -p pid
    rc=$?
    status[${job_of[${pid}]}]=${rc}
    running=$((running - 1))
}
for ((id = first; id <= last; id++)); do
    if [ "${max_jobs_run}" -gt 0 ] && [ "${running}" -ge "${max_jobs_run}" ]; then reap; fi
    run_job "${id}" &
    job_of[$!]=${id}
    running=$((running + 1))
done
while [ "${running}" -gt 0 ]; do reap; done

failed=()
for ((id = first; id <= last; id++)); do [ "${status[${id}]}" -eq 0 ] || failed+=("${id}"); done
[ ${#failed[@]} -eq 0 ] && exit 0
for id in "${failed[@]}"; do
    sub "${log}" "${id}"; logf=${subbed}
    echo "run.pl: job ${id} failed (code ${status[${id}]}), log is in ${logf}; its last lines:" >&2
    tail -n 20 "${logf}" >&2
done
sub "${log}" "${failed[0]}"
echo "run.pl: ${#failed[@]} / $((last - first + 1)) failed, log is in ${subbed}" >&2
exit 1
