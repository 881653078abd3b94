# Job launchers of the recipe, as in ESPnet's and Kaldi's cmd.sh: prosody.sh runs every heavy
# step through them, each with its log file (docs/recipes.md, "Job launchers"):
#   ${train_cmd}  [--num_threads N] <log> <command...>        trainings, statistics (stages 4-6, 10)
#   ${cuda_cmd}   --gpu G <log> <command...>                  trainings with --ngpu G > 0; decodes with --gpu_inference true
#   ${decode_cmd} JOB=1:N <log with JOB> <command with JOB>   decodes, features, targets, scoring (stages 4, 7-14)
# A launcher runs <command> once per job (JOB replaced by 1..N in its words and in the log's name)
# in this recipe dir and returns non-zero when a job failed, naming its log.
cmd_backend=local  # local: this machine (utils/run.pl); slurm: a Slurm cluster (utils/slurm.pl)

if [ "${cmd_backend}" = local ]; then
    # --gpu, --mem and --num_threads are ignored: the jobs use what this machine has
    export train_cmd="utils/run.pl"
    export cuda_cmd="utils/run.pl"
    export decode_cmd="utils/run.pl"
elif [ "${cmd_backend}" = slurm ]; then
    # Each job is submitted with sbatch; conf/slurm.conf (linked to
    # ../../TEMPLATE/prosody1/conf/slurm.conf) maps --num_threads, --mem and --gpu to sbatch
    # options (partition, --cpus-per-task, --mem, --gres). The recipe dir must be on a file
    # system the nodes share, and the nodes need the recipe's Python environment.
    export train_cmd="utils/slurm.pl --config conf/slurm.conf"
    export cuda_cmd="utils/slurm.pl --config conf/slurm.conf"
    export decode_cmd="utils/slurm.pl --config conf/slurm.conf"
else
    echo "$0: Error: unknown cmd_backend=${cmd_backend}" >&2
    return 1
fi
