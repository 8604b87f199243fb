#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# secureboot-hint.sh - installed as /usr/share/dmp-dkms/secureboot-hint.sh and
# run (with sh) by the package scripts after DKMS built dmp: Debian's
# dmp-dkms.postinst and the rpm's %post (dmp.spec). When Secure Boot is
# enabled and the key DKMS signs modules with is not enrolled, the kernel
# refuses dmp ("Key was rejected by service"): say so and what to do (README
# "Secure Boot"). Silent when Secure Boot is off or unknown (no mokutil, no
# EFI variables: a chroot, a container, BIOS), when DKMS has no key yet, and
# when the key is already enrolled. Never fails.

# The certificate DKMS signs with: dkms 3's default, or framework.conf's
# mok_certificate.
cert=/var/lib/dkms/mok.pub
for f in /etc/dkms/framework.conf /etc/dkms/framework.conf.d/*.conf; do
	[ -f "$f" ] || continue
	c=$(sed -n 's/^[[:space:]]*mok_certificate=["'\'']\{0,1\}\([^"'\'']*\)["'\'']\{0,1\}[[:space:]]*$/\1/p' "$f")
	[ -n "$c" ] && cert=$c
done

command -v mokutil >/dev/null 2>&1 || exit 0
sb=$(mokutil --sb-state 2>/dev/null) || exit 0
case $sb in
*"SecureBoot enabled"*) ;;
*) exit 0 ;;
esac
[ -f "$cert" ] || exit 0
# "<cert> is already enrolled", "<cert> is not enrolled", or (after
# mokutil --import, before the reboot) "... is already in the enrollment request"
state=$(mokutil --test-key "$cert" 2>&1)
case $state in
*"already enrolled"*) exit 0 ;;
*"enrollment request"*)
	cat >&2 <<EOF
dmp-dkms: Secure Boot is enabled and DKMS signed dmp with its key $cert,
dmp-dkms: whose enrolment is pending: reboot, and in the blue MOK manager choose
dmp-dkms: "Enroll MOK", "Continue", "Yes", type the password given to mokutil, then "Reboot".
dmp-dkms: Until then "modprobe dmp" fails with "Key was rejected by service".
EOF
	exit 0
	;;
esac
cat >&2 <<EOF
dmp-dkms: Secure Boot is enabled: the kernel only loads modules signed by a key it trusts,
dmp-dkms: and DKMS signed dmp with its key $cert, which is not enrolled,
dmp-dkms: so "modprobe dmp" fails with "Key was rejected by service". Enrol the key once:
dmp-dkms:     mokutil --import $cert      (choose a one-time password)
dmp-dkms:     reboot; in the blue MOK manager: "Enroll MOK", "Continue", "Yes",
dmp-dkms:     that password, "Reboot"
dmp-dkms: "mokutil --test-key $cert" then says it is enrolled. See README.md, "Secure Boot".
EOF
exit 0
