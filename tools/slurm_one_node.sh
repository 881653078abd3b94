#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for testing utils/slurm.pl (tests/test_slurm.py)
# and for trying a recipe's cmd.sh on Slurm without a cluster. No systemd, no cgroups, no root
# config files: everything (slurm.conf, munge key and socket, state, spool, logs) lives in DIR.
#
#   tools/slurm_one_node.sh start  [DIR]   write DIR/slurm.conf, start munged, slurmctld, slurmd;
#                                          wait until the node takes jobs
#   tools/slurm_one_node.sh stop   [DIR]   stop the three daemons started from DIR
#   tools/slurm_one_node.sh status [DIR]   the daemons' pids and the node's state
#
# DIR defaults to $SLURM_ONE_NODE_DIR or /tmp/slurm_one_node. Clients (sbatch, squeue, slurm.pl)
# find the cluster through SLURM_CONF: `export SLURM_CONF=DIR/slurm.conf` (start prints it).
# The ports are $SLURM_ONE_NODE_PORT and the next one (default 16817-16818, not Slurm's own
# 6817-6818, so as not to meet a real cluster's daemons). Needs Debian's slurmctld, slurmd,
# slurm-client and munge (tools/install_system_deps.sh); see docs/cluster.md.
set -euo pipefail

cmd=${1:-}
dir=$(realpath -m "${2:-${SLURM_ONE_NODE_DIR:-/tmp/slurm_one_node}}")  # the daemons chdir
port=${SLURM_ONE_NODE_PORT:-16817}
conf=${dir}/slurm.conf
daemons=(slurmd slurmctld munged)

die() { echo "slurm_one_node.sh: $*" >&2; exit 1; }

pid_of() {  # pid_of <daemon>: its pid when it runs (from its pid file), else nothing
    local f=${dir}/$1.pid pid
    [ -s "${f}" ] || return 0
    pid=$(cat "${f}")
    [ -d "/proc/${pid}" ] && [ "$(cat "/proc/${pid}/comm" 2>/dev/null)" = "$1" ] && echo "${pid}"
    return 0
}

write_conf() {
    local host node_line cpus memory
    host=$(hostname -s)
    # slurmd -C: this machine's CPUs, sockets, cores, threads and memory as slurmd sees them
    node_line=$(slurmd -C | head -n 1)
    [[ ${node_line} == NodeName=* ]] || die "slurmd -C printed no node line: ${node_line}"
    cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<< "${node_line}")
    memory=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<< "${node_line}")
    memory=$((memory * 9 / 10))  # leave some to the rest of the machine
    cat > "${conf}" << EOF
# Written by tools/slurm_one_node.sh: a one-node test cluster on ${host}.
ClusterName=onenode
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=${port}
SlurmdPort=$((port + 1))
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${dir}/munge.socket
# no cgroups (containers without systemd): processes tracked through /proc, no CPU binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
# cores and memory are consumable: --cpus-per-task and --mem are what a job gets
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((memory / cpus))
ReturnToService=2
SlurmdTimeout=60
SchedulerParameters=batch_sched_delay=0
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${dir}/slurmctld.log
SlurmdLogFile=${dir}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
${node_line/NodeName=* CPUs=/NodeName=${host} NodeAddr=127.0.0.1 CPUs=} State=UNKNOWN
PartitionName=onenode Nodes=${host} Default=YES MaxTime=INFINITE State=UP
EOF
    # slurmd -C's RealMemory, less the share left to the machine
    sed -i "s/^\(NodeName=.*\) RealMemory=[0-9]*/\1 RealMemory=${memory}/" "${conf}"
}

start() {
    for d in slurmctld slurmd munged; do
        command -v "${d}" > /dev/null || [ -x "/usr/sbin/${d}" ] \
            || die "${d} is missing: install Debian's slurmctld slurmd slurm-client munge (tools/install_system_deps.sh)"
    done
    export PATH=${PATH}:/usr/sbin
    [ -z "$(pid_of slurmctld)$(pid_of slurmd)$(pid_of munged)" ] || die "already running from ${dir} (stop it first)"
    mkdir -p "${dir}/state" "${dir}/spool"
    chmod 700 "${dir}"  # munged refuses a key or socket in a directory others may write to
    write_conf
    # munge: its own key and socket in DIR; --force: munged runs as root here
    if [ ! -s "${dir}/munge.key" ]; then
        mungekey --create --keyfile="${dir}/munge.key" 2> /dev/null \
            || dd if=/dev/urandom of="${dir}/munge.key" bs=1024 count=1 status=none
        chmod 400 "${dir}/munge.key"
    fi
    munged --force --key-file="${dir}/munge.key" --socket="${dir}/munge.socket" \
        --pid-file="${dir}/munged.pid" --log-file="${dir}/munged.log" --seed-file="${dir}/munged.seed" \
        || die "munged did not start; see ${dir}/munged.log"
    # -i: ignore any state of an earlier cluster in DIR
    slurmctld -f "${conf}" -i || die "slurmctld did not start; see ${dir}/slurmctld.log"
    slurmd -f "${conf}" || die "slurmd did not start; see ${dir}/slurmd.log"
    export SLURM_CONF=${conf}
    local state="" i
    for i in $(seq 60); do
        state=$(sinfo -h -N -o %T 2> /dev/null | head -n 1)
        case ${state} in
            idle | mixed | allocated) echo "Slurm one-node cluster up (node ${state}); export SLURM_CONF=${conf}"; return 0 ;;
            down* | drain*) scontrol update NodeName="$(hostname -s)" State=RESUME 2> /dev/null || true ;;
        esac
        sleep 0.5
    done
    echo "slurm_one_node.sh: the node did not come up (state '${state}'); end of the logs:" >&2
    tail -n 20 "${dir}/slurmctld.log" "${dir}/slurmd.log" >&2 || true
    stop
    exit 1
}

stop() {  # all three at once (each takes a second or two to exit), then waits
    local d pid pids=() i
    for d in "${daemons[@]}"; do
        pid=$(pid_of "${d}")
        [ -n "${pid}" ] && kill "${pid}" && pids+=("${pid}")
        rm -f "${dir}/${d}.pid"
    done
    for pid in "${pids[@]}"; do
        for i in $(seq 100); do
            [ -d "/proc/${pid}" ] || break
            sleep 0.1
        done
        [ -d "/proc/${pid}" ] && kill -9 "${pid}"
    done
    return 0
}

status() {
    local d pid down=0
    for d in munged slurmctld slurmd; do
        pid=$(pid_of "${d}")
        echo "${d}: ${pid:-not running}"
        [ -n "${pid}" ] || down=1
    done
    [ "${down}" -eq 0 ] || return 1
    SLURM_CONF=${conf} sinfo -N -o "%N %T %c CPUs %m MB"
}

case ${cmd} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 start|stop|status [DIR]" ;;
esac
