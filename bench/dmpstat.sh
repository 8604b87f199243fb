#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/dmpstat.sh: the CPU cost of one dmpstat report next to iostat -x -d
# over the same 1, 100 and 1000 dmp devices (bench/dmpstat-guest.sh), in a
# guest with 1 vCPU in instruction-time mode (-icount shift=0,sleep=off).
# KERNELS: one kernel tag (default 6.1). Results: $BENCH_OUT (default
# $DMP_CACHE/bench/dmpstat-<date>)/cmd.out; see bench/RESULTS.md.
set -euo pipefail
# shellcheck source=../scripts/testbed/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/testbed/common.sh"
TB=$DMP_TOP/scripts/testbed
tag=${KERNELS:-6.1}
"$TB/deps.sh"
"$TB/kernels.sh" fetch "$tag"
"$TB/build.sh" "$tag" >/dev/null
make -s -C "$DMP_TOP/dmpstat"
OUT=$(dmp_guest_out_dir "${BENCH_OUT:-$DMP_CACHE/bench/dmpstat-$(date +%Y%m%d-%H%M%S)}")
"$TB/vmrun.sh" -q --kernel "$tag" --cpus 1 --qemu-opt "-icount shift=0,sleep=off" \
	--out "$OUT" --cmd 'bash bench/dmpstat-guest.sh' --cmd-timeout 20000
echo "N tool reps ms_per_run (instruction time; $OUT/cmd.out)"
cat "$OUT/cmd.out"
