#!/bin/bash
# checkpatch.sh - run the kernel's checkpatch.pl --strict on the module source.
#
# checkpatch.pl comes from Debian's linux-source-6.1 package (downloaded once
# into the cache with `apt-get download`, which leaves the host's apt state
# alone). Exits non-zero on any ERROR, WARNING or CHECK.
set -euo pipefail

# shellcheck source=testbed/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/testbed/common.sh"

dir=$DMP_CACHE/checkpatch
if [ ! -x "$dir/checkpatch.pl" ]; then
	mkdir -p "$DMP_CACHE/src" "$dir"
	deb=$(ls "$DMP_CACHE"/src/linux-source-6.1_*_all.deb 2>/dev/null | tail -n 1 || true)
	if [ -z "$deb" ]; then
		(cd "$DMP_CACHE/src" && apt-get download -q linux-source-6.1 >&2) ||
			{ apt-get update -q >&2 && (cd "$DMP_CACHE/src" && apt-get download -q linux-source-6.1 >&2); }
		deb=$(ls "$DMP_CACHE"/src/linux-source-6.1_*_all.deb | tail -n 1)
	fi
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO --wildcards './usr/src/linux-source-6.1.tar.*' |
		tar -xJ -C "$dir" --strip-components=2 \
			linux-source-6.1/scripts/checkpatch.pl \
			linux-source-6.1/scripts/spelling.txt \
			linux-source-6.1/scripts/const_structs.checkpatch
fi

cd "$DMP_TOP"
out=$(perl "$dir/checkpatch.pl" --strict --no-tree --terse --show-types \
	--file dmp/*.c dmp/*.h dmp/Kbuild 2>&1 || true)
bad=$(grep -E ': (ERROR|WARNING|CHECK):' <<<"$out" || true)
if [ -n "$bad" ]; then
	printf '%s\n' "$bad"
	echo "checkpatch: $(wc -l <<<"$bad") problem(s)"
	exit 1
fi
echo "checkpatch --strict: dmp/ is clean"
