#!/bin/bash
# dkms.sh install|uninstall - DKMS from a clone (make dkms-install,
# make dkms-uninstall), as root.
#
# install: copies what DKMS needs (the same file set as the packages) to
# /usr/src/dmp-<v>/ with the version substituted into dkms.conf, registers it
# with DKMS and builds and installs dmp for KVER (default: the running
# kernel); AUTOINSTALL=yes makes DKMS rebuild it for kernels installed later.
# It also installs modules-load.d/dmp.conf and the udev rule under
# $PREFIX/lib (default /usr/local/lib, which systemd and udev read).
# uninstall: undoes all of it.
#
# Refuses to touch /usr/src/dmp-<v> and its DKMS module when a package
# (dmp-dkms) owns it.
set -eu
. "$(dirname "$0")/lib.sh"

action=${1:-}
version=$(pkg_version)
src=${DESTDIR:-}/usr/src/dmp-$version
prefix=${PREFIX:-/usr/local}
kver=${KVER:-$(uname -r)}
conf=${DESTDIR:-}$prefix/lib/modules-load.d/dmp.conf
rules=${DESTDIR:-}$prefix/lib/udev/rules.d/60-dmp.rules

[ "$(id -u)" = 0 ] || pkg_die "run as root"
command -v dkms >/dev/null || pkg_die "dkms is not installed (apt install dkms / dnf install dkms)"

owned_by_package() {
	{ command -v dpkg >/dev/null && dpkg -S "/usr/src/dmp-$version" >/dev/null 2>&1; } ||
		{ command -v rpm >/dev/null && rpm -qf "/usr/src/dmp-$version" >/dev/null 2>&1; }
}
registered() {
	[ -n "$(dkms status -m dmp -v "$version" 2>/dev/null)" ]
}

case $action in
install)
	owned_by_package &&
		pkg_die "/usr/src/dmp-$version belongs to a package; remove dmp-dkms first"
	if registered; then
		pkg_log "dkms remove -m dmp -v $version --all (replacing it)"
		dkms remove -m dmp -v "$version" --all
	fi
	rm -rf "$src"
	pkg_install_dkms_src "$PKG_TOP" "$src" "$version"
	pkg_log "installed the source in $src"
	install -D -m 0644 "$PKG_TOP/modules-load.d/dmp.conf" "$conf"
	install -D -m 0644 "$PKG_TOP/udev/60-dmp.rules" "$rules"
	pkg_log "installed $conf and $rules"
	dkms add -m dmp -v "$version"
	if [ -e "/lib/modules/$kver/build/include" ]; then
		dkms install -m dmp -v "$version" -k "$kver"
	else
		pkg_log "no headers for kernel $kver (/lib/modules/$kver/build): dmp is registered but not built;"
		pkg_log "install them, then: dkms install -m dmp -v $version -k $kver"
		with=
		for k in /lib/modules/*/build/include; do
			[ -e "$k" ] || continue
			k=${k#/lib/modules/}
			with="$with ${k%%/*}"
		done
		[ -z "$with" ] ||
			pkg_log "kernels with headers here:$with (make dkms-install KVER=<one of them>)"
	fi
	;;
uninstall)
	if owned_by_package; then
		# the package's DKMS module and source are the package's to remove
		pkg_log "/usr/src/dmp-$version and its DKMS module belong to a package (dmp-dkms): left in place"
		removed=
	else
		if registered; then
			dkms remove -m dmp -v "$version" --all
		fi
		rm -rf "$src"
		removed="dmp $version from DKMS, $src, "
	fi
	rm -f "$conf" "$rules"
	# the directories install -D made, when nothing else is in them
	for d in "${conf%/*}" "${rules%/*}" "${rules%/*/*}"; do
		[ ! -d "$d" ] || rmdir --ignore-fail-on-non-empty "$d"
	done
	pkg_log "removed $removed$conf and $rules"
	;;
*)
	echo "usage: $0 install|uninstall   (env: KVER, PREFIX, DESTDIR)" >&2
	exit 2
	;;
esac
