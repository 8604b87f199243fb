#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# request-path.sh [TAG...] - dmp's request path (dmp_map, dmp_end_io) checked
# in the machine code built for each kernel (default: every stock kernel of
# the test bed): no atomic, no lock, no call but ftrace's, the return thunk's
# and bio_associate_blkg, no write to a global (scripts/request-path.py).
#
# The check is itself checked: the rules against hand-made instructions
# (request-path.py --self-test), and two builds for the first kernel that
# put a shared write on the request path (bench/make-variant.sh atomic and
# lock: the designs of most public dmp modules and of the seed) must be
# refused. Ends with "N passed, M failed".
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=testbed/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/testbed/common.sh"
TOP=$DMP_TOP
tags=("$@")
[ ${#tags[@]} -gt 0 ] || tags=("${DMP_TAGS[@]}")
out=$TOP/build/request-path
passed=0 failed=0

result() { # result OK|FAIL NAME
	echo "$1 request-path $2"
	if [ "$1" = OK ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

if python3 "$TOP/scripts/request-path.py" --self-test; then
	result OK self-test
else
	result FAIL self-test
fi

# check NAME WANT SRC OUTDIR: build SRC for $tag into OUTDIR and check it;
# WANT is ok (the check must accept it) or refused (it must refuse it)
check() {
	local got=ok
	if ! SRC=$3 "$TOP/scripts/testbed/build.sh" "$tag" "$4" >/dev/null; then
		result FAIL "$1 (build failed: $4/build.log)"
		return
	fi
	python3 "$TOP/scripts/request-path.py" "$4/dmp.ko" || got=refused
	if [ "$got" = "$2" ]; then
		result OK "$1 ($got)"
	else
		result FAIL "$1 ($got, should be $2)"
	fi
}

for t in "${tags[@]}"; do
	tag=$(dmp_tag "$t") || { echo "request-path: unknown kernel tag $t" >&2; exit 2; }
	check "$tag" ok "$TOP/dmp" "$out/$tag"
done

# shared counters on the request path, for the first kernel
tag=$(dmp_tag "${tags[0]}")
for v in atomic lock; do
	"$TOP/bench/make-variant.sh" "$v" "$out/variants/src/$v"
	check "$tag variant $v" refused "$out/variants/src/$v" "$out/variants/$tag/$v"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
