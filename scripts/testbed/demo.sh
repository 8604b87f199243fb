#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh: what `make demo` runs. Installs the host packages (deps.sh),
# fetches the Debian 6.1 kernel (kernels.sh, cached), builds dmp.ko for it
# (build.sh) and boots a throw-away VM with 2 vCPUs (vmrun.sh) that runs
# demo-guest.sh: dmp devices over dm-zero and a RAM disk, the seed example,
# a short fio job, the statistics. Exit status non-zero if anything failed.
#
# Environment: KERNELS (one tag, default 6.1), CPUS (default 2).

set -euo pipefail

TB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$TB/../.." && pwd)
tag=${KERNELS:-6.1}
tag=${tag%% *}
cpus=${CPUS:-2}

step() { printf '\n>>> %s\n' "$*"; }

step "host packages"
"$TB/deps.sh"
step "kernel $tag"
"$TB/kernels.sh" fetch "$tag"
step "building dmp.ko for $tag"
mkdir -p "$TOP/build"
if ! "$TB/build.sh" "$tag" >"$TOP/build/demo-build.log" 2>&1; then
	tail -n 30 "$TOP/build/demo-build.log" >&2
	echo "demo: the build failed (build/demo-build.log)" >&2
	exit 1
fi
echo "build/$tag/dmp.ko"
step "building dmpstat"
make -s -C "$TOP/dmpstat"
step "booting a VM ($cpus vCPUs) and running the demo in it"
"$TB/vmrun.sh" --kernel "$tag" --cpus "$cpus" --out "$TOP/out/demo" \
	--cmd 'bash scripts/testbed/demo-guest.sh' --cmd-timeout 600 --timeout 900
