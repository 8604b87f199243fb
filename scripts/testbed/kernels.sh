#!/bin/bash
# kernels.sh - the kernel cache of the test bed (HACKING.md, "Kernel cache").
#
#   kernels.sh fetch TAG...   fetch/refresh kernels (TAG: 5.10 6.1 6.12 sid, all;
#                             7.x / 7.* are aliases of sid; KERNEL-arm64 and
#                             KERNEL-i386, e.g. 6.1-arm64, for other arches)
#   kernels.sh list           print each cached tag and its kernel release
#   kernels.sh path TAG       print the cache directory of TAG
#
# For each tag the current linux-image-FLAVOUR / linux-headers-FLAVOUR
# (amd64, arm64, 686-pae for i386) of its Debian suite is resolved at run time with a private apt configuration
# ($DMP_CACHE/apt/TAG/; the host's apt state is never touched), downloaded
# with `apt-get download` and unpacked with `dpkg-deb -x`.
#
# Layout:
#   $DMP_CACHE/apt/TAG/            sources.list, lists, apt cache, debs/
#   $DMP_CACHE/store/TAG_VER_HASH/ one unpacked kernel (never moved: the
#                                  headers' Makefile points into it)
#   $DMP_CACHE/kernels/TAG         symlink to the current store entry, with
#                                  kver, vmlinuz, root/, kdir, packages, ready
#   $DMP_CACHE/sid-chroot          sid build chroot (tag sid only)
#
# Re-running fetch is cheap: one `apt-get update` (If-Modified-Since) per
# suite; when the resolved package set equals the cached one nothing else is
# done.  When the suite moved on, the new kernel is unpacked next to the old
# one and kernels/TAG is switched atomically.
set -euo pipefail
# A failure inside $(...) stops the script too, not only the substitution.
shopt -s inherit_errexit

# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

export PATH=$PATH:/usr/sbin:/sbin
export LC_ALL=C DEBIAN_FRONTEND=noninteractive

MIRROR=${DMP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DMP_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

log() { printf 'kernels.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
	sed -n '2,7s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
	exit "${1:-0}"
}

# need_tools CMD:PACKAGE...: install (host apt) the packages of missing commands.
need_tools() {
	local pair missing=()
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
	done
	((${#missing[@]})) || return 0
	log "installing missing host packages: ${missing[*]}"
	apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
}

# suite_sources TAG: the sources.list of the Debian suite carrying TAG's kernel.
suite_sources() {
	case "$(dmp_base_tag "$1")" in
	5.10) echo "deb $MIRROR bullseye main" ;;
	6.1)
		echo "deb $MIRROR bookworm main"
		echo "deb $SECURITY_MIRROR bookworm-security main"
		;;
	6.12) echo "deb $MIRROR bookworm-backports main" ;;
	sid) echo "deb $MIRROR sid main" ;;
	esac
}

# ---- private apt ---------------------------------------------------------

APT_DIR= # $DMP_CACHE/apt/TAG, set by apt_setup
APT_OPTS=()

# apt_setup TAG: create the private apt tree of TAG and fill APT_OPTS.
apt_setup() {
	APT_DIR=$DMP_CACHE/apt/$1
	mkdir -p "$APT_DIR"/{lists/partial,cache/archives/partial,debs}
	suite_sources "$1" >"$APT_DIR/sources.list"
	ARCH=$(dmp_arch "$1")
	APT_OPTS=(
		-o "Dir::Etc::sourcelist=$APT_DIR/sources.list"
		-o "Dir::Etc::sourceparts=-"
		-o "Dir::State::Lists=$APT_DIR/lists"
		-o "Dir::State::status=/dev/null"
		-o "Dir::Cache=$APT_DIR/cache"
		-o "Dir::Cache::pkgcache=$APT_DIR/cache/pkgcache.bin"
		-o "Dir::Cache::srcpkgcache=$APT_DIR/cache/srcpkgcache.bin"
		-o "APT::Architecture=amd64"
		-o "APT::Architectures::=amd64"
		-o "Acquire::Languages=none"
		-o "APT::Sandbox::User=root" # files land in root-owned dirs
		# sid's archive copy may be older than its Valid-Until
		-o "Acquire::Check-Valid-Until=false"
	)
	# another arch's kernel: its packages, and the host's kbuild tools
	[[ $ARCH == amd64 ]] || APT_OPTS+=(-o "APT::Architectures::=$ARCH")
}

papt_get() { apt-get "${APT_OPTS[@]}" "$@"; }
papt_cache() { apt-cache "${APT_OPTS[@]}" "$@"; }

# field NAME TEXT: the value of the first "NAME: value" line of TEXT.  apt's
# whole output is read first (into TEXT) and parsed afterwards: a reader
# that stops at the first match while apt still writes (`apt-cache ... |
# awk '... exit'`) kills apt with SIGPIPE at random under pipefail.
field() {
	local line
	while IFS= read -r line; do
		line=${line#"${line%%[! ]*}"}
		if [[ $line == "$1:"* ]]; then
			line=${line#"$1:"}
			printf '%s\n' "${line#"${line%%[! ]*}"}"
			return 0
		fi
	done <<<"$2"
	return 1
}

# qualify NAME: NAME:$ARCH for a package of another arch than the host's,
# except the kbuild tools (they run on the host) and Architecture: all ones.
qualify() {
	local rec=
	if [[ $ARCH != amd64 && $1 != linux-kbuild-* ]]; then
		# no such package of that arch: an empty record, the plain name
		rec=$(papt_cache show --no-all-versions "$1:$ARCH" 2>/dev/null) || rec=
	fi
	if [[ $(field Architecture "$rec") == "$ARCH" ]]; then
		printf '%s\n' "$1:$ARCH"
	else
		printf '%s\n' "$1"
	fi
}

# candidate PKG: the version apt would pick for PKG in the private suite.
candidate() {
	local out v
	out=$(papt_cache policy "$1") || return 1
	v=$(field Candidate "$out") || return 1
	[[ -n $v && $v != "(none)" ]] || return 1
	printf '%s\n' "$v"
}

# resolve: print "name=version" for every package making up the kernel of
# the current suite, sorted: the closure of the Depends of linux-image-FLAVOUR
# and linux-headers-FLAVOUR (name:arch for another arch's packages) restricted to linux-{image,headers,kbuild,binary,
# modules}-* and linux-base-<ver> (sid splits the image into linux-binary
# (vmlinuz), linux-modules and linux-base-<ver> (modules.builtin, .order,
# System.map, config)); first alternative; "(= V)" pins V, else the candidate.
resolve() {
	local -A seen=()
	local flavour queue
	flavour=$(dmp_flavour "$ARCH")
	queue=("linux-image-$flavour" "linux-headers-$flavour")
	local item name ver rec deps dep dname out=()
	while ((${#queue[@]})); do
		item=${queue[0]}
		queue=("${queue[@]:1}")
		name=$(qualify "${item%%=*}")
		[[ -z ${seen[$name]:-} ]] || continue
		if [[ $item == *=* ]]; then
			ver=${item#*=}
		else
			ver=$(candidate "$name") || die "no package $name in: $(tr '\n' ';' <"$APT_DIR/sources.list")"
		fi
		seen[$name]=1
		out+=("$name=$ver")
		rec=$(papt_cache show "$name=$ver") || die "apt-cache show $name=$ver failed"
		[[ -n $rec ]] || die "apt-cache show $name=$ver printed nothing"
		deps=$(field Depends "$rec") || deps=
		IFS=',' read -ra deps <<<"$deps"
		for dep in "${deps[@]}"; do
			dep=${dep%%|*}                # first alternative
			dep=${dep#"${dep%%[! ]*}"}    # trim leading blanks
			dname=${dep%% *}
			dname=${dname%%:*}            # drop :any
			[[ $dname =~ ^linux-(image|headers|kbuild|binary|modules|base-[0-9]) ]] || continue
			if [[ $dep =~ \(=\ *([^\ \)]+)\) ]]; then
				queue+=("$dname=${BASH_REMATCH[1]}")
			else
				queue+=("$dname")
			fi
		done
	done
	printf '%s\n' "${out[@]}" | sort
}

# deb_file NAME=VERSION: the path apt-get download gives that package in debs/.
deb_file() {
	local name=${1%%=*} ver=${1#*=} arch="_*"
	[[ $name != *:* ]] || arch=_${name#*:}
	name=${name%%:*}
	local f
	f=$(compgen -G "$APT_DIR/debs/${name}_${ver//:/%3a}$arch.deb") || return 0
	printf '%s\n' "${f%%$'\n'*}"
}

# ---- unpacking ------------------------------------------------------------

# add_checker_valid COMMON: newer kernels (7.x) validate sparse with
# scripts/checker-valid.sh, which Debian's linux-headers-*-common lacks: C=1/2
# then only prints "sparse is not available or not up to date" and checks
# nothing.  Supply an equivalent when the Makefile wants it and it is missing.
add_checker_valid() {
	local f=$1/scripts/checker-valid.sh
	grep -q 'scripts/checker-valid.sh' "$1/Makefile" || return 0
	[[ ! -e $f ]] || return 0
	cat >"$f" <<-'EOS'
		#!/bin/sh
		# Written by dmp's scripts/testbed/kernels.sh: the Debian headers lack
		# this kbuild helper.  Prints 1 when the checker "$1" (run with the
		# flags that follow) exists and parses __typeof_unqual__, else 0.
		command -v "$1" >/dev/null 2>&1 || { echo 0; exit 0; }
		t=$(mktemp) || exit 1
		trap 'rm -f "$t"' EXIT
		printf 'static inline int u(const int *q)\n{\n\t__typeof_unqual__(*q) v = *q;\n\treturn v;\n}\n' >"$t"
		case $("$@" "$t" 2>&1) in *error*) echo 0 ;; *) echo 1 ;; esac
	EOS
	chmod 755 "$f"
}

# unpack TAG STORE PKG...: build a complete kernel cache entry in STORE.
unpack() {
	local tag=$1 store=$2
	shift 2
	local root=$store/root p kver="" hdr common link target

	mkdir -p "$root"
	for p in "$@"; do
		dpkg-deb -x "$(deb_file "$p")" "$root"
		[[ $p =~ ^linux-image-([0-9]+\.[0-9][^=:]*)(:[a-z0-9]+)?= ]] && kver=${BASH_REMATCH[1]}
	done
	[[ -n $kver ]] || die "$tag: no linux-image-<version> package in: $*"

	# Make root/lib/modules/$kver the one modules directory.  Newer
	# packages (sid) install to /usr/lib only: lib -> usr/lib then.
	if [[ ! -e $root/lib ]]; then
		ln -s usr/lib "$root/lib"
	elif [[ -d $root/usr/lib/modules && ! -L $root/lib ]]; then
		mkdir -p "$root/lib/modules"
		cp -a "$root/usr/lib/modules/." "$root/lib/modules/"
		rm -rf "$root/usr/lib/modules"
	fi
	[[ -d $root/lib/modules/$kver/kernel ]] ||
		die "$tag: the packages hold no modules for $kver"

	# Absolute symlinks (lib/modules/$kver/build, source, ...) point into
	# the host; make them relative so that they stay inside root/.
	while IFS= read -r -d '' link; do
		target=$(readlink "$link")
		ln -sfnr "$root$target" "$link"
	done < <(find "$root" -type l -lname '/*' -print0)

	# The image: /boot/vmlinuz-$kver, or (sid) /usr/lib/modules/$kver/vmlinuz.
	for p in "boot/vmlinuz-$kver" "lib/modules/$kver/vmlinuz"; do
		if [[ -f $root/$p ]]; then
			ln -sfn "root/$p" "$store/vmlinuz"
			break
		fi
	done
	[[ -e $store/vmlinuz ]] || die "$tag: no vmlinuz for $kver in the packages"

	# The headers' Makefile is one line including the -common headers by
	# absolute path: point it into the store.
	hdr=$root/usr/src/linux-headers-$kver
	[[ -f $hdr/Makefile ]] || die "$tag: no headers for $kver"
	sed -i -E "s|^include /usr/src/|include $root/usr/src/|" "$hdr/Makefile"
	common=$(awk '$1 == "include" { print $2; exit }' "$hdr/Makefile")
	[[ -f $common ]] || die "$tag: $hdr/Makefile includes $common, which is missing"
	add_checker_valid "${common%/Makefile}"
	[[ -x $hdr/scripts/basic/fixdep || -x $hdr/scripts/mod/modpost ]] ||
		die "$tag: kbuild tools missing under $hdr/scripts"
	ln -sfn "root/usr/src/linux-headers-$kver" "$store/kdir"

	depmod -b "$root" "$kver"
	[[ -s $root/lib/modules/$kver/modules.dep ]] || die "$tag: depmod made no modules.dep"

	printf '%s\n' "$kver" >"$store/kver"
	printf '%s\n' "$@" >"$store/packages"
	printf '%s\n' "$tag" >"$store/tag"
	printf '%s\n' "$(date -u +%FT%TZ)" >"$store/ready"
}

# ---- sid build chroot -------------------------------------------------------

# chroot_common ROOT KVER: the -common headers directory that the headers of
# KVER in the chroot ROOT include, as seen from outside.
chroot_common() {
	local inc
	inc=$(awk '$1 == "include" { print $2; exit }' "$1/usr/src/linux-headers-$2/Makefile")
	[[ -f $1$inc ]] || die "sid: $1/usr/src/linux-headers-$2/Makefile includes $inc, missing"
	printf '%s\n' "$1${inc%/Makefile}"
}

# sid_chroot KD: make sure $DMP_SID_CHROOT has the compiler that built the
# sid headers in KD (the kernel's cache directory) and linux-headers-<kver>
# of exactly the fetched version.
sid_chroot() {
	local kd=$1 kver ver gcc have new
	kver=$(cat "$kd/kver")
	ver=$(sed -n "s/^linux-headers-$kver=//p" "$kd/packages")
	[[ -n $ver ]] || die "sid: cannot tell the version of linux-headers-$kver"
	# .kernelvariables: "CC = ... $(CROSS_COMPILE)gcc-16"
	gcc=$(grep -m1 -oE 'gcc-[0-9]+' "$kd/kdir/.kernelvariables") ||
		die "sid: cannot tell the compiler from $kd/kdir/.kernelvariables"

	exec {lockfd}>"$DMP_CACHE/sid-chroot.lock"
	flock "$lockfd"
	have=$(dpkg-query --admindir="$DMP_SID_CHROOT/var/lib/dpkg" -W -f '${Version}' \
		"linux-headers-$kver" 2>/dev/null || true)
	if [[ $have == "$ver" && -x $DMP_SID_CHROOT/usr/bin/$gcc && -x $DMP_SID_CHROOT/usr/bin/sparse ]]; then
		add_checker_valid "$(chroot_common "$DMP_SID_CHROOT" "$kver")"
		log "sid: chroot up to date ($kver $ver, $gcc)"
		exec {lockfd}>&-
		return 0
	fi
	log "sid: (re)creating $DMP_SID_CHROOT (has '${have:-nothing}', want linux-headers-$kver $ver, $gcc)"
	need_tools mmdebstrap:mmdebstrap
	new=$DMP_SID_CHROOT.new
	rm -rf "$new"
	mmdebstrap --variant=minbase --quiet \
		--aptopt='Acquire::Check-Valid-Until "false"' \
		--aptopt='Acquire::Languages "none"' \
		--include="$gcc,make,libc6-dev,kmod,sparse,linux-headers-$kver=$ver" \
		sid "$new" "deb $MIRROR sid main" >&2
	have=$(dpkg-query --admindir="$new/var/lib/dpkg" -W -f '${Version}' "linux-headers-$kver")
	[[ $have == "$ver" ]] || die "sid: the new chroot has linux-headers-$kver $have, not $ver"
	add_checker_valid "$(chroot_common "$new" "$kver")"
	rm -rf "$DMP_SID_CHROOT.old"
	[[ ! -e $DMP_SID_CHROOT ]] || mv -T "$DMP_SID_CHROOT" "$DMP_SID_CHROOT.old"
	mv -T "$new" "$DMP_SID_CHROOT"
	rm -rf "$DMP_SID_CHROOT.old"
	exec {lockfd}>&-
}

# ---- fetch ------------------------------------------------------------------

# update_indexes LOG: apt-get update of the private suite, its output in
# LOG; retried (DMP_FETCH_TRIES times, default 3) while an index fails to
# download.  Fails when one still does: then the lists hold what did come.
update_indexes() {
	local try tries=${DMP_FETCH_TRIES:-3}
	for ((try = 1; ; try++)); do
		if papt_get -q update >"$1" 2>&1 &&
			! grep -qE '^E:|^W: (Failed to fetch|Some index files failed)' "$1"; then
			grep '^W:' "$1" >&2 || true
			return 0
		fi
		((try < tries)) || return 1
		log "$tag: apt-get update failed (try $try of $tries): $(update_errors "$1"); retrying"
		sleep $((5 * try))
	done
}

# update_errors LOG: what failed in an apt-get update log, on one line.
update_errors() {
	local line out=()
	while IFS= read -r line; do
		case $line in
		"W: Some index files failed"* | "E: Some index files failed"*) ;;
		E:* | "W: Failed to fetch"*) out+=("${line#?: }") ;;
		esac
	done <"$1"
	((${#out[@]})) || out=("apt-get update exited non-zero")
	local IFS=';'
	printf '%s\n' "${out[*]}"
}

fetch_one() {
	local tag=$1 kd store pkgs meta hash missing=() p old ulog n v partial="" resolved try
	kd=$(dmp_kernel_dir "$tag")
	mkdir -p "$DMP_CACHE/kernels" "$DMP_CACHE/store" "$DMP_CACHE/apt"
	# One fetch per tag at a time (a second one waits, then finds it done).
	exec {lockfd}>"$DMP_CACHE/apt/$tag.lock"
	flock "$lockfd"

	apt_setup "$tag"
	ulog=$APT_DIR/update.log
	# An index that fails to download (a mirror half synced, an unreachable
	# security mirror) stops nothing the other indexes resolve.
	update_indexes "$ulog" || partial=$(update_errors "$ulog")

	if ! resolved=$(resolve); then
		[[ -e $kd/ready ]] ||
			die "$tag: cannot resolve the kernel's packages${partial:+ (apt-get update failed: $partial)}"
		# Offline, or the suite is broken: the cached kernel is the best we have.
		log "$tag: cannot resolve the kernel's packages${partial:+ (apt-get update failed: $partial)}; keeping the cached $(cat "$kd/kver")"
		exec {lockfd}>&-
		return 0
	fi
	mapfile -t pkgs <<<"$resolved"
	meta=$(printf '%s\n' "${pkgs[@]}" | sed -n "s/^linux-image-$(dmp_flavour "$ARCH")\(:$ARCH\)\{0,1\}=//p")
	[[ -n $meta ]] || die "$tag: the resolution holds no linux-image-$(dmp_flavour "$ARCH"): ${pkgs[*]}"
	if [[ -n $partial && -e $kd/ready && $resolved != "$(cat "$kd/packages")" ]]; then
		# What resolves without the missing index may be older than the
		# kernel resolved earlier from every index: keep that one.
		log "$tag: keeping the cached $(cat "$kd/kver"): an index failed ($partial), and without it $meta resolves"
		exec {lockfd}>&-
		return 0
	fi
	[[ -z $partial ]] || log "$tag: taking linux-image-$(dmp_flavour "$ARCH") $meta from the indexes that did download (failed: $partial)"
	if [[ -e $kd/ready && $resolved == "$(cat "$kd/packages")" ]]; then
		log "$tag: up to date ($(cat "$kd/kver"))"
	else
		hash=$(printf '%s\n' "${pkgs[@]}" | sha256sum | cut -c1-8)
		store=$DMP_CACHE/store/${tag}_${meta}_$hash
		log "$tag: fetching ${pkgs[*]}"

		for p in "${pkgs[@]}"; do
			[[ -n $(deb_file "$p") ]] || missing+=("$p")
		done
		for ((try = 1; ${#missing[@]}; try++)); do
			(cd "$APT_DIR/debs" && papt_get -q download "${missing[@]}") >&2 && break
			((try < ${DMP_FETCH_TRIES:-3})) || die "$tag: apt-get download ${missing[*]} failed"
			log "$tag: apt-get download failed (try $try); retrying"
			sleep $((5 * try))
		done

		rm -rf "$store"
		unpack "$tag" "$store" "${pkgs[@]}"

		# Switch kernels/TAG atomically to the new store entry.
		old=$(readlink "$kd" 2>/dev/null || true)
		[[ -L $kd || ! -e $kd ]] || rm -rf "$kd" # not a symlink: foreign, replace
		ln -sfn "../store/${store##*/}" "$kd.new.$$"
		mv -T "$kd.new.$$" "$kd"
		log "$tag: ready: $(cat "$kd/kver") in $store"

		# Keep the previous entry (a test may still run from it); drop older
		# ones, and the downloads no entry of this tag uses any more.
		for p in "$DMP_CACHE/store/${tag}"_*; do
			[[ $p == "$store" || ${p##*/} == "${old##*/}" ]] || rm -rf "$p"
		done
		for p in "$APT_DIR"/debs/*.deb; do
			[[ -e $p ]] || continue
			n=$(dpkg-deb -f "$p" Package) v=$(dpkg-deb -f "$p" Version)
			grep -qxF -e "$n=$v" -e "$n:$(dpkg-deb -f "$p" Architecture)=$v" \
				"$kd/packages" || rm -f "$p"
		done
	fi
	exec {lockfd}>&-

	if [[ $tag == sid ]]; then
		sid_chroot "$kd"
	fi
}

cmd_fetch() {
	local t c tags=() fetched=" "
	(($#)) || usage 2 >&2
	for t in "$@"; do
		if [[ $t == all ]]; then
			tags+=("${DMP_TAGS[@]}")
		else
			c=$(dmp_tag "$t") || die "unknown kernel tag: $t (known: ${DMP_TAGS[*]} all)"
			tags+=("$c")
		fi
	done
	need_tools apt-get:apt dpkg-deb:dpkg depmod:kmod xz:xz-utils zstd:zstd flock:util-linux
	for t in "${tags[@]}"; do
		[[ $fetched == *" $t "* ]] && continue
		fetched+="$t "
		fetch_one "$t"
	done
}

cmd_list() {
	local t kd a
	for t in "${DMP_TAGS[@]}" $(for a in "${DMP_ARCHES[@]}"; do printf ' 5.10-%s 6.1-%s 6.12-%s' "$a" "$a" "$a"; done); do
		kd=$(dmp_kernel_dir "$t")
		[[ -e $kd/ready ]] && printf '%s\t%s\n' "$t" "$(cat "$kd/kver")"
	done
	return 0
}

cmd_path() {
	local t
	(($# == 1)) || usage 2 >&2
	t=$(dmp_tag "$1") || die "unknown kernel tag: $1 (known: ${DMP_TAGS[*]})"
	dmp_kernel_dir "$t"
}

case "${1:-}" in
fetch) shift && cmd_fetch "$@" ;;
list) shift && cmd_list "$@" ;;
path) shift && cmd_path "$@" ;;
resolve) # debugging aid: print the package set of a tag without fetching
	shift
	t=$(dmp_tag "${1:-}") || usage 2 >&2
	tag=$t
	apt_setup "$tag"
	update_indexes "$APT_DIR/update.log" ||
		log "$tag: resolving without what failed: $(update_errors "$APT_DIR/update.log")"
	resolve
	;;
-h | --help | help) usage 0 ;;
*) usage 2 >&2 ;;
esac
