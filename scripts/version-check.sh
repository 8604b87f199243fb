#!/bin/bash
# version-check.sh - the version in dmp/dmp_version.h (the one source) must be
# the version of debian/changelog's top entry (upstream part), of dmp.spec, of
# dmpstat's man page and of dkms.conf (unless dkms.conf holds the #MODULE_VERSION# placeholder that
# the packaging substitutes). Exits 1 and names the ones that disagree.
set -u
. "$(dirname "$0")/packaging/lib.sh"
cd "$PKG_TOP" || exit 1

bad=0
header=$(pkg_version)
hdr_parts=$(sed -n 's/^#define[[:space:]]\{1,\}DMP_VERSION_\(MAJOR\|MINOR\|PATCH\)[[:space:]]\{1,\}\([0-9]\{1,\}\).*/\2/p' \
	dmp/dmp_version.h | paste -sd. -)

report() { # NAME VALUE
	if [ "$2" = "$header" ]; then
		printf 'ok    %-36s %s\n' "$1" "$2"
	else
		printf 'FAIL  %-36s %s (dmp/dmp_version.h says %s)\n' "$1" "${2:-<none>}" "$header"
		bad=1
	fi
}

printf 'ok    %-36s %s\n' "dmp/dmp_version.h DMP_VERSION" "$header"
# MAJOR.MINOR.PATCH, when present, feed the device-mapper target version
if [ -n "$hdr_parts" ]; then
	report "dmp/dmp_version.h MAJOR.MINOR.PATCH" "$hdr_parts"
fi

# debian/changelog: top entry, "dmp (1.0.0-1) ..."; strip epoch and revision
if command -v dpkg-parsechangelog >/dev/null; then
	deb=$(dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null)
else
	deb=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
fi
deb=${deb#*:}
deb=${deb%-*}
report "debian/changelog (upstream version)" "$deb"

spec=$(sed -n 's/^Version:[[:space:]]*\([^[:space:]]*\).*/\1/p' dmp.spec | head -n1)
report "dmp.spec Version" "$spec"
# the top %changelog entry ends in "- <version>-<release>"
specchg=$(sed -n '/^%changelog/,${/^\*/{s/.*[[:space:]]\([^[:space:]]*\)$/\1/p;q}}' dmp.spec)
specchg=${specchg%-*}
report "dmp.spec %changelog (top entry)" "$specchg"

# dmpstat takes DMP_VERSION from dmp/dmp_version.h when compiled; its man
# page says it in .TH: .TH DMPSTAT 8 "<date>" "dmp <version>" ...
if [ -f dmpstat/dmpstat.8 ]; then
	man=$(sed -n 's/^\.TH[[:space:]].*"dmp \([^"]*\)".*/\1/p' dmpstat/dmpstat.8 | head -n1)
	report "dmpstat/dmpstat.8 .TH" "$man"
fi

dkms=$(sed -n 's/^PACKAGE_VERSION=["'\'']\{0,1\}\([^"'\'']*\).*/\1/p' dkms.conf)
if [ "$dkms" = "#MODULE_VERSION#" ]; then
	printf 'ok    %-36s %s\n' "dkms.conf PACKAGE_VERSION" "#MODULE_VERSION# (substituted at packaging)"
else
	report "dkms.conf PACKAGE_VERSION" "$dkms"
fi

if [ "$bad" -ne 0 ]; then
	echo "version-check: versions disagree; dmp/dmp_version.h is the source, update the others" >&2
	exit 1
fi
echo "version-check: all agree on $header"
