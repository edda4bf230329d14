#!/usr/bin/env bash
# Issue 24: the contract check perf-first-result (30 synchronous one-shots 50 ms apart on gVisor
# after 6 warm-up runs) against two builds, alternated in one sitting so that both meet the same
# host load: prints each run's p50/p90 beside the build it ran on, and the load average.
# usage: bench/first_result_ab.sh OLD_ROOT NEW_ROOT [ROUNDS]
#   *_ROOT: a directory holding build/bin/enclaved and build/bin/enclave (a worktree root, or a
#   directory whose build/bin is a saved copy of another build's binaries).
set -u
old=$1 new=$2 rounds=${3:-2}
check=${CHECK:-/work/shared/checks/perf-first-result}
for i in $(seq 1 "$rounds"); do
  for side in old new; do
    root=$old; [ "$side" = new ] && root=$new
    load=$(cut -d' ' -f1 /proc/loadavg)
    line=$(cd "$root" && "$check" 2>&1 | grep -E 'p50|run [0-9]|exited|did not' | tail -1)
    echo "round $i $side (load $load): $line"
  done
done
