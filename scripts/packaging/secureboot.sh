#!/bin/bash
# secureboot.sh - end-to-end test of dmp-dkms under UEFI Secure Boot
# (make check-secureboot; README "Secure Boot", HACKING.md). Root, ~1 hour.
#
#  1. build the .deb and the .rpm from a clean export of the tree;
#  2. a Debian 12 system (mmdebstrap, cached under $DMP_CACHE/pkg like
#     e2e.sh's) with Debian's signed kernel, its headers, dkms, mokutil:
#     `apt install ./dmp-dkms_*.deb` in it (as a chroot, before the first
#     boot): DKMS makes its key /var/lib/dkms/mok.{key,pub} and signs dmp;
#     then bookworm-backports' kernel and headers: DKMS rebuilds and signs
#     for it. A module signed by another key and an unsigned one are made
#     for the guest; the rpm's payload and %post are put beside;
#  3. a GPT disk: an EFI system partition (mkfs.fat + mtools: shim-signed's
#     shimx64.efi.signed as \EFI\BOOT\BOOTX64.EFI, MokManager mmx64.efi
#     beside it, grub-efi-amd64-signed's grubx64.efi, and grub.cfg in
#     \EFI\debian) and the ext4 root (mkfs.ext4 -d); no loop mounts;
#  4. boot it in QEMU (q35, SMM, TCG) with Debian's OVMF_CODE_4M.secboot.fd
#     and a copy of OVMF_VARS_4M.ms.fd (Microsoft's keys enrolled, Secure
#     Boot on): OVMF -> shim -> grub -> Debian's kernel. One QEMU run, four
#     boots; guest/dmp-sb-check (a oneshot unit) checks each boot's stage
#     and writes its verdict to the second serial port:
#       A  Secure Boot on, lockdown; dmp refused ("Key was rejected by
#          service") and the postinst hint shown; the rpm's %post rebuilds,
#          signs and hints; `mokutil --import` with a one-time password;
#          reboot;
#       -  MokManager, driven over the first serial port by sb-console.py as
#          a user would (every screen logged, as text, in mokmanager.txt);
#       B  the key enrolled: dmp loaded at boot, the seed example, no hint
#          (deb postinst, rpm %post); modules signed by another key or
#          unsigned are refused; reboot into the backports kernel;
#       C  dmp, DKMS-built and signed for that kernel, loaded at boot; the
#          seed example.
#
# Prints one line per check and ends with "N passed, M failed"; exits non-zero
# when a check failed.
#
# Environment: DMP_CACHE, SB_WORK (scratch, default build/pkg-secureboot),
# SB_TIMEOUT (seconds for the whole QEMU run, default 10800: four TCG boots
# and two DKMS rebuilds on a busy host took ~1 hour), SB_STEP_TIMEOUT
# (seconds per MokManager screen, default 600), SB_MIRROR (default
# http://deb.debian.org), SB_KEEP=1 (keep the image and the root tree).
# `secureboot.sh prepare` only makes the cached base system.

set -u
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || pkg_die "must run as root (chroot, mmdebstrap, apt-get)"

VERSION=$(pkg_version)
WORK=${SB_WORK:-$PKG_BUILD/pkg-secureboot}
# shellcheck disable=SC2034 # MIRROR and T0 are used by e2e-lib.sh
MIRROR=${SB_MIRROR:-http://deb.debian.org}
TIMEOUT=${SB_TIMEOUT:-10800}
STEP_TIMEOUT=${SB_STEP_TIMEOUT:-600}
GUEST=$PKG_TOP/scripts/packaging/guest
# shellcheck disable=SC2034
T0=$(date +%s)
PW=dmpsb123 # MokManager's one-time password
LABEL=dmpsbroot
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
SHIM=/usr/lib/shim/shimx64.efi.signed
MM=/usr/lib/shim/mmx64.efi.signed
GRUB=/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed

. "$(dirname "$0")/e2e-lib.sh"

# --- the host's tools ---------------------------------------------------------
pkg_deps
"$PKG_TOP/scripts/testbed/deps.sh" secureboot || pkg_die "the Secure Boot test's tools are missing (see above)"
for f in "$OVMF_CODE" "$OVMF_VARS" "$SHIM" "$MM" "$GRUB"; do
	[ -f "$f" ] || pkg_die "$f is missing"
done

# the guest: Debian's signed kernel (linux-image-amd64 is the signed one),
# its headers and a compiler for DKMS, which signs with openssl; mokutil for
# the enrolment; no boot loader packages (the disk's ESP is made here)
SB_PKGS="systemd,systemd-sysv,udev,kmod,dmsetup,dkms,linux-image-amd64,linux-headers-amd64,gcc,make,e2fsprogs,initramfs-tools,openssl,mokutil"
SB_HOOK=$BACKPORTS_HOOK

if [ "${1:-}" = prepare ]; then
	base bookworm-secureboot "$SB_PKGS" "$SB_HOOK"
	exit
fi

rm -rf "$WORK"
mkdir -p "$WORK"
: >"$WORK/apt.log"

# --- 1. the packages ----------------------------------------------------------
phase_start "build .deb and .rpm"
if DIST=$WORK/deb "$PKG_TOP/scripts/packaging/build-deb.sh" >"$WORK/build-deb.log" 2>&1; then
	pass deb-build
else
	tail -n 30 "$WORK/build-deb.log"
	fail deb-build "see $WORK/build-deb.log"
	finish
fi
DEB=$(ls "$WORK/deb/dmp-dkms_$VERSION"-*_all.deb)
check rpm-build sh -c "DIST='$WORK/rpm' '$PKG_TOP/scripts/packaging/build-rpm.sh' >'$WORK/build-rpm.log' 2>&1"
RPM=$(ls "$WORK/rpm/dmp-dkms-$VERSION"-*.noarch.rpm 2>/dev/null)
phase_end

# --- 2. the system, as a chroot ---------------------------------------------------
phase_start "install .deb and backports kernel (chroot)"
SB_BASE=$(base bookworm-secureboot "$SB_PKGS" "$SB_HOOK") || {
	fail base-system "mmdebstrap failed"
	finish
}
R=$WORK/root
copy_base "$SB_BASE" "$R"
KV1=$(kernels "$R")
printf '    Debian kernel %s\n' "$KV1"
cp "$DEB" "$R/root/"
out=$(in_root "$R" apt-get -y -q -o Dpkg::Use-Pty=0 install "/root/${DEB##*/}" 2>&1)
rc=$?
printf '%s\n' "$out" >>"$WORK/apt.log"
check chroot-install-exit0 test "$rc" -eq 0
check chroot-dkms-built dkms_ko "$R" "$KV1"
check chroot-dkms-key-made test -s "$R/var/lib/dkms/mok.pub" -a -s "$R/var/lib/dkms/mok.key"
signer=$(modinfo -F signer "$R/lib/modules/$KV1/updates/dkms/dmp.ko" 2>&1)
printf '    dmp.ko for %s: signer %s\n' "$KV1" "$signer"
check chroot-module-signed test -n "$signer"
# no EFI variables in a chroot: the hint has nothing to say
check chroot-no-hint sh -c '! grep -qF "dmp-dkms: Secure Boot" <<EOF
$1
EOF' sh "$out"
check backports-install-exit0 apt_in "$R" install -t bookworm-backports linux-image-amd64 linux-headers-amd64
KV2=$(kernels "$R" | grep -vx "$KV1")
printf '    backports kernel %s\n' "${KV2:-none}"
check backports-kernel-installed test -n "$KV2" -a "$(printf '%s\n' "$KV2" | wc -l)" -eq 1
check backports-dkms-built dkms_ko "$R" "$KV2"
# a module signed by another key, and an unsigned one (strip drops the
# appended signature), made from the Debian kernel's build
in_root "$R" sh -c "
	set -e
	mkdir -p /root/sb && cd /root/sb
	openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -batch \
		-subj '/CN=dmp test: a key nobody enrolled/' -outform DER \
		-keyout foreign.key -out foreign.der 2>/dev/null
	strip --strip-debug -o dmp-unsigned.ko /lib/modules/$KV1/updates/dkms/dmp.ko
	/lib/modules/$KV1/build/scripts/sign-file sha256 foreign.key foreign.der dmp-unsigned.ko dmp-foreign.ko
	rm -f foreign.key" >>"$WORK/apt.log" 2>&1
f_signer=$(modinfo -F signer "$R/root/sb/dmp-foreign.ko" 2>&1)
u_signer=$(modinfo -F signer "$R/root/sb/dmp-unsigned.ko" 2>&1)
printf '    dmp-foreign.ko signer: %s; dmp-unsigned.ko signer: "%s"\n' "$f_signer" "$u_signer"
check foreign-module-made test "$f_signer" = "dmp test: a key nobody enrolled"
check unsigned-module-made test -f "$R/root/sb/dmp-unsigned.ko" -a -z "$u_signer"
# the rpm: its payload (the same files as the .deb's) and its %post
if [ -n "$RPM" ]; then
	(cd "$R" && rpm2cpio "$RPM" | cpio -idmu --quiet)
	rpm -qp --qf '%{POSTIN}\n' "$RPM" >"$R/root/sb/rpm-post.sh"
	check rpm-post-has-hint grep -qF secureboot-hint.sh "$R/root/sb/rpm-post.sh"
else
	fail rpm-payload "no rpm was built"
fi
phase_end

# --- 3. the disk ------------------------------------------------------------------
phase_start "disk image"
apt_in "$R" clean
cat >"$R/etc/dmp-sb.conf" <<EOF
VERSION=$VERSION
KV1=$KV1
KV2=$KV2
PW=$PW
EOF
install -D -m 0755 "$GUEST/dmp-sb-check" "$R/usr/local/sbin/dmp-sb-check"
install -D -m 0644 "$GUEST/dmp-sb.service" "$R/etc/systemd/system/dmp-sb.service"
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/dmp-sb.service "$R/etc/systemd/system/multi-user.target.wants/dmp-sb.service"
echo dmp-sb >"$R/etc/hostname"
printf 'LABEL=%s / ext4 rw,errors=remount-ro 0 0\n' "$LABEL" >"$R/etc/fstab"
rm -f "$R/usr/sbin/policy-rc.d"
: >"$R/etc/resolv.conf"
# grub.cfg as update-grub would make it, written here (grub-probe cannot see
# a device in a chroot): Debian's kernel first; the guest selects the
# backports kernel for its last boot by creating /boot/dmp-sb-backports
cmdline="root=LABEL=$LABEL rw console=ttyS0,115200 systemd.show_status=1"
{
	printf 'set timeout=0\nset default=0\n'
	printf 'if [ -f /boot/dmp-sb-backports ]; then set default=1; fi\n'
	for kv in $KV1 $KV2; do
		printf 'menuentry "Debian GNU/Linux, with Linux %s" {\n' "$kv"
		printf '\tsearch --no-floppy --label --set=root %s\n' "$LABEL"
		printf '\techo "Loading Linux %s ..."\n' "$kv"
		printf '\tlinux /boot/vmlinuz-%s %s\n' "$kv" "$cmdline"
		printf '\tinitrd /boot/initrd.img-%s\n}\n' "$kv"
	done
} >"$WORK/grub-main.cfg"
install -D -m 0644 "$WORK/grub-main.cfg" "$R/boot/grub/grub.cfg"
for kv in $KV1 $KV2; do
	check "boot-files-$kv" test -f "$R/boot/vmlinuz-$kv" -a -f "$R/boot/initrd.img-$kv"
done
# what grub-install puts on the ESP: find the root file system, read its grub.cfg
printf 'search --no-floppy --label --set=root %s\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n' \
	"$LABEL" >"$WORK/grub-esp.cfg"
ESP=$WORK/esp.img
ROOTFS=$WORK/root.img
IMG=$WORK/disk.img
rm -f "$ESP" "$ROOTFS" "$IMG"
esp_mib=64
root_mib=$(($(du -sm "$R" | cut -f1) * 5 / 4 + 512))
check esp-mkfs mkfs.fat -F 32 -n ESP -C "$ESP" $((esp_mib * 1024))
check esp-files sh -c "
	mmd -i '$ESP' ::/EFI ::/EFI/BOOT ::/EFI/debian &&
	mcopy -i '$ESP' '$SHIM' ::/EFI/BOOT/BOOTX64.EFI &&
	mcopy -i '$ESP' '$MM' ::/EFI/BOOT/mmx64.efi &&
	mcopy -i '$ESP' '$GRUB' ::/EFI/BOOT/grubx64.efi &&
	mcopy -i '$ESP' '$WORK/grub-esp.cfg' ::/EFI/debian/grub.cfg &&
	mcopy -i '$ESP' '$WORK/grub-esp.cfg' ::/EFI/BOOT/grub.cfg"
mdir -i "$ESP" -/ ::/EFI 2>&1 | sed 's/^/    esp: /'
mv "$R/var/lib/apt/lists" "$WORK/apt-lists"
mkdir -p "$R/var/lib/apt/lists/partial"
check root-mkfs mkfs.ext4 -q -F -L "$LABEL" -d "$R" "$ROOTFS" "${root_mib}M"
rm -rf "$R/var/lib/apt/lists"
mv "$WORK/apt-lists" "$R/var/lib/apt/lists"
# GPT: 1 MiB, the ESP, the root, 1 MiB for the backup table
truncate -s $((1 + esp_mib + root_mib + 1))M "$IMG"
check gpt sh -c "sfdisk -q '$IMG' >/dev/null <<EOF
label: gpt
start=2048, size=$((esp_mib * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=\"EFI system partition\"
start=$((2048 + esp_mib * 2048)), size=$((root_mib * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root
EOF"
check disk-esp dd if="$ESP" of="$IMG" bs=1M seek=1 conv=notrunc,sparse status=none
check disk-root dd if="$ROOTFS" of="$IMG" bs=1M seek=$((1 + esp_mib)) conv=notrunc,sparse status=none
rm -f "$ESP" "$ROOTFS"
sfdisk -l "$IMG" 2>&1 | sed 's/^/    /'
cp "$OVMF_VARS" "$WORK/OVMF_VARS.fd"
phase_end

# --- 4. boot: OVMF (Secure Boot) -> shim -> grub -> kernel, four times ------------
phase_start "boot (A, MokManager, B, C)"
SOCK=$WORK/console.sock
rm -f "$SOCK"
: >"$WORK/result.txt"
: >"$WORK/events.txt"
: >"$WORK/mokmanager.txt"
: >"$WORK/console.log"
QEMU_T0=$(date +%s)
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -machine q35,smm=on -m 2048 -smp 2 \
	-global driver=cfi.pflash01,property=secure,value=on \
	-global ICH9-LPC.disable_s3=1 \
	-drive "if=pflash,format=raw,unit=0,file=$OVMF_CODE,readonly=on" \
	-drive "if=pflash,format=raw,unit=1,file=$WORK/OVMF_VARS.fd" \
	-drive "file=$IMG,if=virtio,format=raw" \
	-chardev "socket,id=con,path=$SOCK,server=on,wait=on" -serial chardev:con \
	-serial "file:$WORK/result.txt" \
	-display none -monitor none -nic none </dev/null >"$WORK/qemu.log" 2>&1 &
QEMU_PID=$!
python3 "$PKG_TOP/scripts/packaging/sb-console.py" --socket "$SOCK" --log "$WORK/console.log" \
	--screens "$WORK/mokmanager.txt" --events "$WORK/events.txt" --password "$PW" \
	--timeout "$TIMEOUT" --step-timeout "$STEP_TIMEOUT"
crc=$?
wait "$QEMU_PID"
qrc=$?
printf '    qemu exit %s (never the verdict), console driver exit %s\n' "$qrc" "$crc"
[ "$qrc" -eq 124 ] && fail qemu-timeout "QEMU still ran after ${TIMEOUT}s"
check mokmanager-dialog test "$crc" -eq 0
tr -d '\r' <"$WORK/result.txt" >"$WORK/result.clean"
# (the firmware and grub write to every serial port: only the guest's lines)
grep -aE '^(ok|not ok|info|stage|kernel|DONE) ' "$WORK/result.clean" | sed 's/^/    guest: /'
while IFS= read -r line; do
	case $line in
	"ok "*) pass "guest-${line#ok }" ;;
	"not ok "*) fail "guest-${line#not ok }" ;;
	esac
done <"$WORK/result.clean"
for s in A B C; do
	check "guest-stage-$s-completed" grep -qx "DONE $s" "$WORK/result.clean"
done
check mokmanager-shown-once test "$(grep -c "MokManager: 'Press any key" "$WORK/events.txt")" -eq 1
if grep -qE 'Kernel panic|BUG:|Oops|Verification failed|Security Violation' "$WORK/console.log"; then
	fail console-clean "$(grep -a -m1 -E 'Kernel panic|BUG:|Oops|Verification failed|Security Violation' "$WORK/console.log")"
else
	pass console-clean
fi
phase_end
# the boots' times, from the console driver's events
printf '    console events (seconds since QEMU started):\n'
sed 's/^/      /' "$WORK/events.txt"
prev=0 prevname="firmware+boot to stage A"
while read -r t ev; do
	case $ev in
	"stage "* | "MokManager: 'Press any key"* | "console closed"*)
		TIMES+=("$(printf '  %-30s %4ss' "$prevname" $((t - prev)))")
		prev=$t
		prevname="$ev"
		;;
	esac
done <"$WORK/events.txt"
TIMES+=("$(printf '  %-30s %4ss' "(QEMU run in all)" $(($(date +%s) - QEMU_T0)))")

if [ -z "${SB_KEEP:-}" ]; then
	rm -rf "$R" "$IMG"
fi
finish
