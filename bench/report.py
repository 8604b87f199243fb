#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench/report.py TSV...: the Markdown tables of bench/run.sh.

Input lines (tab-separated, written by bench/guest.sh and bench/run.sh):
  KVER info KEY VALUE
  KVER MODE BACKEND RW IODEPTH NUMJOBS KIND ROUND IOPS RUNTIME_MS IOS
  KVER create KIND ROUND NDEVS CREATE_S REMOVE_S
  KVER create-batch KIND ROUND FIRST SECONDS
"""
import collections
import statistics
import sys

BACKENDS = {"nb": "null_blk", "ram": "brd"}
RWS = {"randread": "randread", "randwrite": "randwrite"}


def med(v):
    return statistics.median(v)


def mean(v):
    return statistics.fmean(v)


def spread(v):
    """(max - min) / median, in %"""
    m = med(v)
    return 100.0 * (max(v) - min(v)) / m if m else 0.0


def kver_sort(k):
    return [int(x) if x.isdigit() else 0 for x in k.replace("-", ".").replace("+", ".").split(".")[:3]]


def main(files):
    info = collections.defaultdict(list)
    io = collections.defaultdict(list)  # (mode, kver, backend, rw, qd, nj, kind) -> [(round, iops)]
    create = collections.defaultdict(list)  # (kver, kind) -> [(create, remove)]
    batches = collections.defaultdict(list)  # (kver, kind) -> [(first, secs)]
    elapsed = collections.defaultdict(list)  # (kver, kind) -> [(create, remove)]
    for f in files:
        for line in open(f):
            p = line.rstrip("\n").split("\t")
            if len(p) < 3:
                continue
            kver, mode = p[0], p[1]
            if mode == "info":
                info[kver].append((p[2], "\t".join(p[3:])))
            elif mode == "create":
                # CPU seconds when present (repeatable), else elapsed
                if len(p) >= 9:
                    create[(kver, p[2])].append((float(p[7]), float(p[8])))
                else:
                    create[(kver, p[2])].append((float(p[5]), float(p[6])))
                elapsed[(kver, p[2])].append((float(p[5]), float(p[6])))
            elif mode == "create-batch":
                batches[(kver, p[2])].append((int(p[4]), float(p[5])))
            elif len(p) >= 11:
                io[(mode, kver, p[2], p[3], int(p[4]), int(p[5]), p[6])].append((int(p[7]), float(p[8])))

    out = []
    w = out.append
    for key, val in info.get("host", []):
        w(f"- host {key}: {val}")
    kvers = sorted({k for k in info if k != "host"}, key=kver_sort)
    for kv in kvers:
        d = dict(info[kv])
        w(f"- guest {kv}: `{d.get('kernel', '')}`, {d.get('cpus', '?')} vCPU(s); "
          f"null_blk `{d.get('null_blk', '')}`, brd `{d.get('brd', '')}`, {d.get('fio', '')}")
    w("")

    def iops(mode, kv, b, rw, qd, nj, kind):
        return [x for _, x in sorted(io.get((mode, kv, b, rw, qd, nj, kind), []))]

    def multi_jobs(mode, kv):
        """(backend, rw, numjobs) of each multi-CPU job of MODE on KV"""
        for b in ("nb", "ram"):
            for rw in ("randread", "randwrite"):
                ks = [k for k in io if k[0] == mode and k[1:4] == (kv, b, rw)]
                if ks:
                    yield b, rw, ks[0][5]

    # --- cost per I/O ------------------------------------------------------
    modes = sorted({k[0] for k in io if k[0] == "icount" or k[0].startswith("var-")})
    for mode in modes:
        if mode == "icount":
            w("### Cost per I/O (1 vCPU, `-icount shift=0,sleep=off`): IOPS, mean of the rotated rounds")
            w("")
            w("| kernel | device | rw | iodepth | raw | linear | dmp | spread raw/lin/dmp % | **dmp/linear** (per round) | dmp/raw | linear/raw |")
            w("| --- | --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
        else:
            w(f"### Variant `{mode[4:]}` (1 vCPU, icount): IOPS")
            w("")
            w("| kernel | device | rw | iodepth | linear | dmp | **dmp/linear** (per round) |")
            w("| --- | --- | --- | --- | ---: | ---: | ---: |")
        worst = None
        for kv in kvers:
            for b in ("nb", "ram"):
                for rw in ("randread", "randwrite"):
                    for qd in (1, 32):
                        lin = iops(mode, kv, b, rw, qd, 1, "linear")
                        dmp = iops(mode, kv, b, rw, qd, 1, "dmp")
                        if not lin or not dmp:
                            continue
                        # The order rotates from round to round, so that every
                        # device takes every position once: the ratio of the
                        # means cancels the position effect (see RESULTS.md);
                        # the per-round ratios show its size.
                        rr = [x / y for x, y in zip(dmp, lin)]
                        r = mean(dmp) / mean(lin)
                        worst = min(worst or 9, r)
                        if mode == "icount":
                            raw = iops(mode, kv, b, rw, qd, 1, "raw")
                            w(f"| {kv} | {BACKENDS[b]} | {rw} | {qd} | {mean(raw):.0f} | {mean(lin):.0f} | {mean(dmp):.0f} "
                              f"| {spread(raw):.3f}/{spread(lin):.3f}/{spread(dmp):.3f} "
                              f"| **{r:.4f}** ({min(rr):.4f}..{max(rr):.4f}) | {mean(dmp) / mean(raw):.4f} | {mean(lin) / mean(raw):.4f} |")
                        else:
                            w(f"| {kv} | {BACKENDS[b]} | {rw} | {qd} | {mean(lin):.0f} | {mean(dmp):.0f} | **{r:.4f}** ({min(rr):.4f}..{max(rr):.4f}) |")
        w("")
        if worst is not None:
            w(f"Lowest dmp/linear (ratio of the means): {worst:.4f} (goal >= 0.998: {'met' if worst >= 0.998 else 'NOT met'}).")
            w("")

    # --- several CPUs --------------------------------------------------------
    if any(k[0] == "multi" for k in io):
        w("### Several CPUs (2 vCPUs, no icount, numjobs=2, iodepth 32): IOPS, median and spread (max-min)/median of the rounds")
        w("")
        w("| kernel | device | rw | rounds | raw | linear | dmp | spread raw/lin/dmp % | dmp/linear | dmp below linear by more than the spread? |")
        w("| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | --- |")
        for kv in kvers:
            for b, rw, nj in multi_jobs("multi", kv):
                raw, lin, dmp = (iops("multi", kv, b, rw, 32, nj, k) for k in ("raw", "linear", "dmp"))
                if not (raw and lin and dmp):
                    continue
                gap = med(lin) - med(dmp)
                sp = max(max(lin) - min(lin), max(dmp) - min(dmp))
                w(f"| {kv} | {BACKENDS[b]} | {rw} | {len(dmp)} | {med(raw):.0f} | {med(lin):.0f} | {med(dmp):.0f} "
                  f"| {spread(raw):.1f}/{spread(lin):.1f}/{spread(dmp):.1f} | {med(dmp) / med(lin):.3f} "
                  f"| {'**yes**' if gap > sp else 'no'} |")
        loads = [(k, v) for k, v in ((a, b) for kv in info for a, b in info[kv]) if k.startswith(("load_", "qemus_"))]
        if loads:
            w("")
            w("Host load around the multi-CPU boots: " + "; ".join(f"{k} {v}" for k, v in loads))
        w("")

    # --- variants on several CPUs (bench/variants.sh, BENCH_VARIANT_MODE=multi)
    vmodes = sorted({k[0] for k in io if k[0].startswith("vmulti-")})
    if vmodes:
        w("### Variants on several CPUs (2 vCPUs, no icount, numjobs=2, iodepth 32): IOPS, median of the rounds")
        w("")
        w("Each variant against linear in the same boot, rounds alternating linear first / variant first; "
          "per round: the variant's IOPS over linear's in that round.")
        w("")
        w("| kernel | device | rw | variant | rounds | linear | variant | spread lin/var % | var/linear (medians) | per round: median (min..max) |")
        w("| --- | --- | --- | --- | ---: | ---: | ---: | --- | ---: | --- |")
        for kv in kvers:
            for mode in vmodes:
                for b, rw, nj in multi_jobs(mode, kv):
                    rl = dict(io.get((mode, kv, b, rw, 32, nj, "linear"), []))
                    rd = dict(io.get((mode, kv, b, rw, 32, nj, "dmp"), []))
                    rounds = sorted(set(rl) & set(rd))
                    if not rounds:
                        continue
                    lin, dmp = [rl[r] for r in rounds], [rd[r] for r in rounds]
                    rr = [rd[r] / rl[r] for r in rounds]
                    w(f"| {kv} | {BACKENDS[b]} | {rw} | {mode[7:]} | {len(rounds)} | {med(lin):.0f} | {med(dmp):.0f} "
                      f"| {spread(lin):.1f}/{spread(dmp):.1f} | {med(dmp) / med(lin):.3f} "
                      f"| {med(rr):.3f} ({min(rr):.3f}..{max(rr):.3f}) |")
        w("")

    # --- sysfs reader ----------------------------------------------------------
    if any(k[0].startswith("sysfs-") for k in io):
        w("### sysfs reader during fio (1 vCPU, icount; null_blk, randread, iodepth 1)")
        w("")
        w("| kernel | device | reader | IOPS without | IOPS with | cost % |")
        w("| --- | --- | --- | ---: | ---: | ---: |")
        for kv in kvers:
            readers = sorted({k[0][6:] for k in io if k[0].startswith("sysfs-") and k[1] == kv} - {"none"})
            for kind in ("dmp", "linear"):
                base = iops("sysfs-none", kv, "nb", "randread", 1, 1, kind)
                for rd in readers:
                    withr = iops("sysfs-" + rd, kv, "nb", "randread", 1, 1, kind)
                    if base and withr:
                        w(f"| {kv} | {kind} | {rd} | {med(base):.0f} | {med(withr):.0f} | {100 * (1 - med(withr) / med(base)):.2f} |")
        for kv in kvers:
            for key, val in info[kv]:
                if key.startswith("sysfs"):
                    w(f"- {kv} {key}: {val}")
        w("")

    # --- create / remove ---------------------------------------------------------
    if create:
        w("### Create and remove N devices over one null_blk (1 vCPU, icount; guest CPU seconds, median of the rounds)")
        w("")
        w("| kernel | N | linear create | dmp create | ratio | linear remove | dmp remove | ratio | **total ratio** | dmp batch elapsed, first/last 100 |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for kv in kvers:
            lin, dmp = create.get((kv, "linear")), create.get((kv, "dmp"))
            if not lin or not dmp:
                continue
            lc, lr = med([c for c, _ in lin]), med([r for _, r in lin])
            dc, dr = med([c for c, _ in dmp]), med([r for _, r in dmp])
            bt = collections.defaultdict(list)
            for first, secs in batches.get((kv, "dmp"), []):
                bt[first].append(secs)
            fl = ""
            if bt:
                fl = f"{med(bt[min(bt)]):.3f}/{med(bt[max(bt)]):.3f}"
            n = [v for k, v in info[kv] if k == "create_n"]
            w(f"| {kv} | {n[0] if n else ''} | {lc:.3f} | {dc:.3f} | {dc / lc:.3f} | {lr:.3f} | {dr:.3f} | {dr / lr:.3f} "
              f"| **{(dc + dr) / (lc + lr):.3f}** | {fl} |")
        w("")
        w("Elapsed guest seconds per round (create/remove), which include idle stretches whose length depends on the host:")
        w("")
        for (kv, kind), v in sorted(elapsed.items()):
            w(f"- {kv} {kind}: " + ", ".join(f"{c:.2f}/{r:.2f}" for c, r in v))
        w("")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
