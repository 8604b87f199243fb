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

for t in "${tags[@]}"; do
	tag=$(dmp_tag "$t") || { echo "request-path: unknown kernel tag $t" >&2; exit 2; }
	if ! "$TOP/scripts/testbed/build.sh" "$tag" "$out/$tag" >/dev/null; then
		result FAIL "$tag (build failed: $out/$tag/build.log)"
	elif python3 "$TOP/scripts/request-path.py" "$out/$tag/dmp.ko"; then
		result OK "$tag"
	else
		result FAIL "$tag"
	fi
done

tag=$(dmp_tag "${tags[0]}")
for v in atomic lock; do
	"$TOP/bench/make-variant.sh" "$v" "$out/variants/src/$v"
	if ! SRC=$out/variants/src/$v "$TOP/scripts/testbed/build.sh" "$tag" "$out/variants/$tag/$v" >/dev/null; then
		result FAIL "$tag variant $v (build failed)"
	elif python3 "$TOP/scripts/request-path.py" "$out/variants/$tag/$v/dmp.ko"; then
		result FAIL "$tag variant $v (accepted, but it writes shared counters)"
	else
		result OK "$tag variant $v refused"
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
