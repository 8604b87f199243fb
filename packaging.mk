# SPDX-License-Identifier: GPL-2.0
# packaging.mk - packaging targets, included by the top-level Makefile.
# Outputs go to dist/, scratch to build/ (both git-ignored). See
# README.md "Installing" (users) and scripts/packaging/ (what each target runs).

.PHONY: deb rpm dkms-install dkms-uninstall version-check lint-packaging \
	check-packaging check-secureboot

# dist/dmp-dkms_<v>-<r>_all.deb and dist/dmp-utils_<v>-<r>_<arch>.deb (with
# its -dbgsym), built by dpkg-buildpackage -us -uc -b from a clean export of
# the tree.
deb:
	scripts/packaging/build-deb.sh

# dist/dmp-dkms-<v>-<r>.noarch.rpm, dist/dmp-utils-<v>-<r>.<arch>.rpm and the
# .src.rpm: rpmbuild -ta on a `git archive` tarball (dist/dmp-<v>.tar.gz).
rpm:
	scripts/packaging/build-rpm.sh

# DKMS from this clone, as root: source to /usr/src/dmp-<v>, dkms add, build
# and install for KVER (default: the running kernel); also modules-load.d
# and the udev rule under /usr/local/lib.
dkms-install:
	scripts/packaging/dkms.sh install

dkms-uninstall:
	scripts/packaging/dkms.sh uninstall

# dmp/dmp_version.h, debian/changelog, dmp.spec and dkms.conf agree.
version-check:
	scripts/version-check.sh

# version-check, build the packages, lintian and rpmlint without errors,
# dmpstat's hardening (blhc, hardening-check), shellcheck.
lint-packaging:
	scripts/packaging/lint.sh

# The end-to-end test (root, ~10 min; see scripts/packaging/e2e.sh):
# install the .deb into fresh bookworm systems and boot them in QEMU.
check-packaging:
	scripts/packaging/e2e.sh

# The Secure Boot end-to-end test (root, ~1 hour under TCG; not in CI, see
# HACKING.md): a Debian 12 system booted by OVMF with Secure Boot enforced,
# shim, signed grub and Debian's signed kernel; DKMS's key enrolled through
# MokManager over the serial console (scripts/packaging/secureboot.sh).
check-secureboot:
	scripts/packaging/secureboot.sh
