# SPDX-License-Identifier: GPL-2.0
#
# dmp - device-mapper proxy. Entry points; the work is done by the scripts
# they call. See README.md (users) and HACKING.md (developers).

KDIR ?= /lib/modules/$(shell uname -r)/build
KERNELS ?=
TESTS ?=

.PHONY: all modules clean dmpstat check-dmpstat check check-stress check-debug check-fetch \
	demo bench checkpatch sparse request-path counters32 lint-pipes

all: modules

# Build dmp/dmp.ko for the running kernel's headers, or for KDIR=...
modules:
	@test -e $(KDIR)/Makefile || { echo "No kernel headers at KDIR=$(KDIR)." \
		"Install them, pass KDIR=..., or use 'make check' / 'make demo'," \
		"which build and test dmp in virtual machines." >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR)/dmp modules

clean:
	rm -rf dmp/*.o dmp/*.ko dmp/*.mod dmp/*.mod.c dmp/.*.cmd dmp/*.order \
		dmp/Module.symvers dmp/.tmp_versions build out dist
	$(MAKE) -C dmpstat clean

# Every test case on every supported kernel, in QEMU. KERNELS="6.1" and
# TESTS="tests/target" narrow it.
check:
	KERNELS="$(KERNELS)" TESTS="$(TESTS)" scripts/testbed/check.sh

# The long cases too ("# QUICK: no": the churn).
check-stress:
	STRESS=1 KERNELS="$(KERNELS)" TESTS="$(TESTS)" scripts/testbed/check.sh

# The whole suite on a debug kernel (KASAN, lockdep, kmemleak, ...);
# DEBUG_STRESS=0 leaves out the long cases.
DEBUG_STRESS ?= 1
check-debug:
	STRESS=$(DEBUG_STRESS) KERNELS=debug TESTS="$(TESTS)" scripts/testbed/check.sh

# The test bed's kernel fetch as a fresh machine sees it: every kernel tag
# resolved (with an apt-cache that makes the SIGPIPE race certain, then
# RESOLVE_ROUNDS times beside two busy loops) and fetched FETCH_ROUNDS times
# into an empty cache; a broken security mirror; no mirror at all.
FETCH_ROUNDS ?= 1
RESOLVE_ROUNDS ?= 5
check-fetch:
	scripts/testbed/fetch-test.sh $(FETCH_ROUNDS) $(RESOLVE_ROUNDS)

# Pipelines whose reader may stop before the writer (head, grep -q, awk
# exit...) in scripts under pipefail: they fail at random (SIGPIPE).
lint-pipes:
	scripts/lint-pipes.py

# dmpstat, the userspace monitor (dmpstat/dmpstat), and its host tests: fixture
# trees under ASan+UBSan, gcc and clang, and a fuzz run of its parsers
# (make check runs them too).
FUZZ_SECONDS ?= 20
dmpstat:
	$(MAKE) -C dmpstat

check-dmpstat:
	$(MAKE) -C dmpstat check
	$(MAKE) -C dmpstat fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

# dmp working in a throw-away VM with the stock Debian 6.1 kernel.
demo:
	scripts/testbed/demo.sh

bench:
	KERNELS="$(KERNELS)" bench/run.sh

checkpatch:
	scripts/checkpatch.sh

sparse:
	scripts/testbed/build.sh --sparse $(or $(KERNELS),6.1)

# dmp_map and dmp_end_io in the machine code of every kernel: no atomic, no
# lock, no call (allocation, printk), no global write.
request-path:
	scripts/request-path.sh $(KERNELS)

# dmp_map and dmp_end_io of a 32-bit x86 build: the u64 counters are added
# to only inside their per-CPU u64_stats_sync (no torn reads).
counters32:
	scripts/counters32.sh $(KERNELS)

-include packaging.mk
