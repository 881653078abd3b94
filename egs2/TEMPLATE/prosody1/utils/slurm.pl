#!/usr/bin/env perl
# slurm.pl: the recipe's job launcher for a Slurm cluster, with the interface of utils/run.pl
# (Kaldi's and ESPnet's launcher convention; set it in cmd.sh, see docs/cluster.md):
#
#   slurm.pl [options] [JOB=1:N] <log file, with JOB when N > 1> <command...>
#
# submits the N jobs as one sbatch array from the current directory, substitutes the job's
# number for JOB in the command's words and the log name (several words: a program and its
# arguments as given; one word: a shell command line), waits for all of them and exits non-zero,
# naming a failed job's log, when any failed. Each log gets the command, start and end time
# and exit status. Options (also as --num-threads etc.):
#   --num_threads N    CPUs of each job       (default mapping: --cpus-per-task N)
#   --mem M            memory of each job     (--mem M, e.g. 4G)
#   --gpu G            GPUs of each job       (--gres=gpu:G; none for 0)
#   --time T           time limit             (--time T)
#   --max_jobs_run N   at most N jobs of the array at once (--array=1-N%N)
#   --config FILE      the mappings above, the sbatch command and defaults (partition,
#                      account...); default conf/slurm.conf when it exists. Its format is
#                      Kaldi's: see egs2/TEMPLATE/prosody1/conf/slurm.conf.
#   --<other> V        passed to sbatch as --<other>=V (e.g. --partition gpu, --account x)
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Basename qw(basename dirname);
use File::Path qw(make_path);

my $me = "slurm.pl";
my $usage = "Usage: $me [--num_threads N] [--mem M] [--gpu G] [--time T] [--max_jobs_run N] "
  . "[--config FILE] [--<sbatch option> V] [JOB=1:N] <log file> <command...>\n";

sub fail { print STDERR "$me: ", @_, "\n"; exit 1; }

# ------------------------------------------------------------------ command line
my %given;                       # launcher options: name (with _ for -) => value
my $config;                      # --config, if given
my ($jobvar, $first, $last) = (undef, 1, 1);
for my $pass (1, 2) {            # options may come before and after JOB=a:b, as in Kaldi
  while (@ARGV >= 2 && $ARGV[0] =~ /^--([A-Za-z][\w-]*)(?:=(.*))?$/) {
    my $name = $1;
    my $value;
    if (defined $2) { $value = $2; shift @ARGV; } else { $value = $ARGV[1]; splice @ARGV, 0, 2; }
    $name =~ s/-/_/g;
    if ($name eq "config") { $config = $value; } else { $given{$name} = $value; }
  }
  if (@ARGV && !defined $jobvar && $ARGV[0] =~ /^([A-Za-z_]\w*)=(\d+)(?::(\d+))?$/) {
    ($jobvar, $first, $last) = ($1, $2, defined $3 ? $3 : $2);
    shift @ARGV;
    fail "bad job range $jobvar=$first:$last (first > last)" if $first > $last;
  }
}
die $usage if @ARGV < 2;
my $log = shift @ARGV;
if (defined $jobvar && $last > $first && index($log, $jobvar) < 0) {
  fail "$jobvar=$first:$last runs several jobs, but the log file '$log' has no $jobvar: "
    . "they would all write to it";
}
for my $name (qw(num_threads gpu max_jobs_run)) {
  fail "--$name must be a whole number, not '$given{$name}'"
    if defined $given{$name} && $given{$name} !~ /^\d+$/;
}

# As utils/run.pl: several words are a program and its arguments, exactly as given; one word
# is a shell command line (pipes, redirections).
sub shell_quote { my $s = shift; return $s if $s =~ m{^[\w./:=+,@%-]+$}; $s =~ s/'/'\\''/g; return "'$s'"; }
my $cmd = @ARGV == 1 ? $ARGV[0] : join " ", map { shell_quote($_) } @ARGV;

# ------------------------------------------------------------------ configuration
# Kaldi's format, one directive a line ('#' starts a comment):
#   command <sbatch and the options every job gets>
#   option <name>=<value> <sbatch options>       for that value of --<name>
#   option <name>=* <sbatch options with $0>     for any other value ($0: the value)
#   default <name>=<value>                       the value when --<name> is not given
my $builtin = <<'EOF';
command sbatch --export=ALL
option num_threads=* --cpus-per-task=$0
option mem=* --mem=$0
option gpu=0
option gpu=* --gres=gpu:$0
option time=* --time=$0
EOF
my $config_text = $builtin;
my $config_name = "the built-in configuration";
if (!defined $config && -f "conf/slurm.conf") { $config = "conf/slurm.conf"; }
if (defined $config) {
  open(my $fh, "<", $config)
    or fail "cannot read --config $config: $! (a template: egs2/TEMPLATE/prosody1/conf/slurm.conf; docs/cluster.md)";
  local $/;
  $config_text = <$fh>;
  close $fh;
  $config_name = $config;
}
my (@command, %exact, %any, %default);
my $lineno = 0;
for my $line (split /\n/, $config_text) {
  $lineno++;
  $line =~ s/#.*//;
  next if $line =~ /^\s*$/;
  if ($line =~ /^\s*command\s+(\S.*?)\s*$/) {
    @command = split " ", $1;
  } elsif ($line =~ /^\s*option\s+(\w+)=(\S+)\s*(.*?)\s*$/) {
    my ($name, $value, $args) = ($1, $2, $3);
    if ($value eq "*") { $any{$name} = $args; } else { $exact{$name}{$value} = $args; }
  } elsif ($line =~ /^\s*default\s+(\w+)=(\S+)\s*$/) {
    $default{$1} = $2;
  } else {
    fail "$config_name, line $lineno: not 'command ...', 'option name=value ...' or "
      . "'default name=value': $line";
  }
}
fail "$config_name has no 'command sbatch ...' line" unless @command;

my @sbatch = @command;
my %values = (%default, %given);
for my $name (sort keys %values) {
  next if $name eq "max_jobs_run";
  my $value = $values{$name};
  my $args;
  if (exists $exact{$name} && exists $exact{$name}{$value}) {
    $args = $exact{$name}{$value};
  } elsif (exists $any{$name}) {
    ($args = $any{$name}) =~ s/\$0/$value/g;
  } elsif (exists $exact{$name}) {
    fail "--$name $value: $config_name knows only " . join(", ", map { "$name=$_" } sort keys %{ $exact{$name} });
  } else {
    (my $flag = $name) =~ s/_/-/g;   # not in the configuration: an sbatch option
    $args = "--$flag=$value";
  }
  push @sbatch, split(" ", $args);
}

# ------------------------------------------------------------------ the batch script
my $cwd = getcwd();
my $logdir = dirname($log);
sub make_dir {   # Slurm does not create a log's directory
  my $dir = shift;
  return if -d $dir;
  eval { make_path($dir); 1 } or fail "cannot make the directory $dir: " . ($@ =~ s/ at .*//sr);
}
make_dir($logdir);
my $name = basename($log);
$name =~ s/\.log$//;
$name =~ s/\.?\Q$jobvar\E//g if defined $jobvar;
$name = "job" if $name eq "";
my $qdir = "$logdir/q";
make_dir($qdir);
my $script = "$qdir/$name.sh";
sub log_of {   # the log file of job n
  my $n = shift;
  my $file = $log;
  $file =~ s/\Q$jobvar\E/$n/g if defined $jobvar;
  return $file;
}
for my $n ($first .. $last) { unlink log_of($n); }   # no earlier run's end line can count

my $var = defined $jobvar ? $jobvar : "JOB";
open(my $sh, ">", $script) or fail "cannot write $script: $!";
print $sh <<"EOF";
#!/usr/bin/env bash
# Written by $me: one job of the array $first-$last; its output is the log file.
cd @{[shell_quote($cwd)]} || exit 1
n=\${SLURM_ARRAY_TASK_ID:-$first}
cmd=@{[shell_quote($cmd)]}
@{[defined $jobvar ? "cmd=\${cmd//$var/\${n}}" : ""]}
echo "# \${cmd}"
echo "# Started at \$(date) on \$(hostname) (Slurm job \${SLURM_JOB_ID}, array task \${n})"
echo "#"
start=\$(date +%s)
bash -o pipefail -c "\${cmd}" < /dev/null
rc=\$?
echo "# Accounting: time=\$((\$(date +%s) - start)) threads=\${SLURM_CPUS_PER_TASK:-1}"
echo "# Ended (code \${rc}) at \$(date)"
exit \${rc}
EOF
close $sh;

# ------------------------------------------------------------------ submit and wait
(my $output = $log) =~ s/%/%%/g;
$output =~ s/\Q$jobvar\E/%a/g if defined $jobvar;
my $array = "$first-$last";
$array .= "%$values{max_jobs_run}" if defined $values{max_jobs_run} && $values{max_jobs_run} > 0;
push @sbatch, "--parsable", "--job-name=$name", "--chdir=$cwd", "--output=$output", "--array=$array", $script;

my $jobid;
$SIG{INT} = $SIG{TERM} = $SIG{HUP} = sub {
  if (defined $jobid) { system("scancel", $jobid); print STDERR "$me: interrupted; cancelled Slurm job $jobid\n"; }
  exit 1;
};
open(my $submit, "-|", @sbatch) or fail "cannot run $sbatch[0]: $!";
my $answer = join "", <$submit>;
close $submit;
if ($? != 0 || $answer !~ /^(\d+)/) {
  fail "submitting failed (exit status " . ($? >> 8) . "): " . join(" ", @sbatch) . "\n" . $answer;
}
$jobid = $1;

# Wait: each job's log gets its end line when the command is over (looked at often, cheap);
# the controller is asked now and then whether jobs ended without one (cancelled, time limit,
# node failure). (sbatch --wait would look only every 2, 8, 32... seconds.)
sub end_code {   # the exit status that the log's last "# Ended (code N)" line gives, or undef
  my $file = shift;
  open(my $fh, "<", $file) or return undef;
  my $size = -s $fh;
  seek($fh, $size - 4096, 0) if $size > 4096;   # the end line is among the last ones
  my $code;
  while (my $line = <$fh>) { $code = $1 if $line =~ /^# Ended \(code (-?\d+)\)/; }
  close $fh;
  return $code;
}
my %terminal = map { $_ => 1 } qw(COMPLETED FAILED CANCELLED TIMEOUT NODE_FAIL OUT_OF_MEMORY
                                   PREEMPTED BOOT_FAIL DEADLINE SPECIAL_EXIT);
my %state;    # array task => Slurm's last word on it
my @waiting = ($first .. $last);
my ($pause, $asked, $unreachable) = (0.25, time(), 0);
while (1) {
  select(undef, undef, undef, $pause);
  $pause += 0.25 if $pause < 2;
  @waiting = grep { !defined end_code(log_of($_)) } @waiting;
  last unless @waiting;
  next if time() - $asked < 15;
  $asked = time();
  my $out = `scontrol -o show job $jobid 2>&1`;
  if ($? != 0) {
    last if $out =~ /Invalid job id/i;   # purged after it ended: the logs tell
    print STDERR "$me: scontrol show job $jobid failed ($out); still waiting\n" if ++$unreachable % 20 == 1;
    next;
  }
  my $done = 1;
  for my $line (split /\n/, $out) {
    my ($s) = $line =~ /\bJobState=(\S+)/ or next;
    my ($task) = $line =~ /\bArrayTaskId=(\d+)\b/;
    $state{$task} = $s if defined $task;
    $done = 0 unless $terminal{$s};
  }
  last if $done;
}

# ------------------------------------------------------------------ the verdict, from the logs
my @failed;
my $lag = time() + 10;   # a shared file system may show a finished job's log late
for my $n ($first .. $last) {
  my $file = log_of($n);
  my $code = end_code($file);
  while (!defined $code && (!defined $state{$n} || $state{$n} eq "COMPLETED") && time() < $lag) {
    select(undef, undef, undef, 0.5);
    $code = end_code($file);
  }
  next if defined $code && $code == 0;
  my $why = defined $code ? "exit code $code"
    : "no end line: the job did not finish" . (defined $state{$n} ? " (Slurm: $state{$n})" : "");
  push @failed, [$file, $why];
}
if (@failed) {
  my $total = $last - $first + 1;
  print STDERR "$me: " . scalar(@failed) . " / $total failed, log is in $failed[0][0] ($failed[0][1])\n";
  print STDERR "$me:   also $_->[0] ($_->[1])\n" for @failed[1 .. $#failed];
  exit 1;
}
exit 0;
