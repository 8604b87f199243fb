#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host tests of dmpstat on fixture trees (make -C dmpstat check).

    tests/run.py BINARY [BINARY...]

Every case runs against every BINARY (the sanitizer build, the clang build).
A fixture tree is a directory with sys/module/dmp/stat/... and proc/diskstats
as the module and the kernel would show them; dmpstat reads it with --root
(or DMPSTAT_ROOT). Rates need samples at known times: with DMPSTAT_TEST_SEQ=1
dmpstat reads its k-th sample from ROOT/k/ (k = 0, 1, ...), takes the time of
that sample from ROOT/k/clock (seconds, as a decimal number) and does not
sleep. Expected values are computed here from the counters written into the
fixtures, never copied from dmpstat's output. Ends with "N passed, M failed".
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
COUNTERS = ["reads", "read_bytes", "writes", "write_bytes", "discards",
            "discard_bytes", "write_zeroes", "flushes", "errors"]
R, RB, W, WB, D, DB, WZ, F, E = range(9)

passed = failed = 0
CASES = []
BIN = None
TMP = None


def case(fn):
    CASES.append(fn)
    return fn


def case_once(fn):
    """a case that does not depend on the binary: run with the first only"""
    fn.once = True
    return case(fn)


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def eq(what, expected, actual):
    if expected != actual:
        raise Fail("%s:\n--- expected\n%s\n--- actual\n%s" % (what, expected, actual))


# ---- fixture trees ----

LAT_BOUNDS = [1 << i for i in range(26)]        # the module's: 1 us .. 2^25 us
SIZE_BOUNDS = [512 << i for i in range(14)]     # 512 B .. 4 MiB
HISTS = ["read_latency", "write_latency", "read_size", "write_size"]
SUM_NAME = {"read_latency": "read_latency_sum_ns", "write_latency": "write_latency_sum_ns",
            "read_size": "read_size_sum_bytes", "write_size": "write_size_sum_bytes"}


class Hist:
    """The histograms of a device: counts[name] (one per bound and one more),
    sums[name] (ns or bytes), the bounds of each kind."""

    def __init__(self, counts=None, sums=None, lat_bounds=LAT_BOUNDS, size_bounds=SIZE_BOUNDS):
        self.lat_bounds, self.size_bounds = list(lat_bounds), list(size_bounds)
        self.counts, self.sums = {}, {}
        for h in HISTS:
            n = len(self.bounds(h)) + 1
            c = (counts or {}).get(h, {})
            self.counts[h] = list(c) if isinstance(c, list) else [c.get(i, 0) for i in range(n)]
            self.sums[h] = (sums or {}).get(h, 0)

    def bounds(self, h):
        return self.size_bounds if h.endswith("size") else self.lat_bounds

    def minus(self, o):
        """what self counted since o"""
        return Hist({h: sub(self.counts[h], o.counts[h]) for h in HISTS},
                    {h: self.sums[h] - o.sums[h] for h in HISTS}, self.lat_bounds, self.size_bounds)

    def plus(self, o):
        return Hist({h: [x + y for x, y in zip(self.counts[h], o.counts[h])] for h in HISTS},
                    {h: self.sums[h] + o.sums[h] for h in HISTS}, self.lat_bounds, self.size_bounds)


def hist_file(h):
    """The histograms file of the module (README.md, "Histograms")."""
    if h is None:
        return "state off\n"
    t = ["state on", "latency_bounds_us " + " ".join(map(str, h.lat_bounds)),
         "size_bounds_bytes " + " ".join(map(str, h.size_bounds))]
    for name in HISTS:
        t.append(name + " " + " ".join(map(str, h.counts[name])))
        t.append("%s %d" % (SUM_NAME[name], h.sums[name]))
    return "\n".join(t) + "\n"


class Tree:
    """One sample's view of /sys and /proc under self.root."""

    def __init__(self, root, clock=None):
        self.root = root
        self.stat = os.path.join(root, "sys/module/dmp/stat")
        os.makedirs(self.stat, exist_ok=True)
        os.makedirs(os.path.join(root, "proc"), exist_ok=True)
        self.disks = []
        if clock is not None:
            with open(os.path.join(root, "clock"), "w") as f:
                f.write("%r\n" % clock)
        self.write_diskstats()

    def _write(self, path, text):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    def dev(self, minor, name, c, disk=None, symlink=True, hist=None):
        """dm-<minor> with dm name, counters c (9), block layer counters
        disk = (rd_ios, rd_ticks, wr_ios, wr_ticks, io_ticks, time_in_queue),
        histograms hist (a Hist, or None: off)."""
        k = "dm-%d" % minor
        d = os.path.join(self.stat, k)
        self._write(os.path.join(d, "stat"), " ".join(map(str, c)) + "\n")
        self._write(os.path.join(d, "name"), name + "\n")
        self._write(os.path.join(d, "reset"), "")
        self._write(os.path.join(d, "histograms"), hist_file(hist))
        if symlink and "/" not in name:
            try:
                os.symlink(k, os.path.join(self.stat, name))
            except FileExistsError:
                pass
        if disk is not None:
            self.disks.append((minor, disk))
            self.write_diskstats()
        return d

    def all(self, c, hist=None):
        d = os.path.join(self.stat, "all_devs")
        self._write(os.path.join(d, "stat"), " ".join(map(str, c)) + "\n")
        self._write(os.path.join(d, "reset"), "")
        self._write(os.path.join(d, "histograms"), hist_file(hist))

    def write_diskstats(self):
        lines = ["   8       0 sda 100 2 800 30 50 1 400 20 0 40 50 0 0 0 0 0 0",
                 "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"]
        for minor, (ri, rt, wi, wt, io, tq) in self.disks:
            lines.append(" 254 %7d dm-%d %d 0 %d %d %d 0 %d %d 0 %d %d 0 0 0 0 0 0"
                         % (minor, minor, ri, ri * 8, rt, wi, wi * 8, wt, io, tq))
        self._write(os.path.join(self.root, "proc/diskstats"), "\n".join(lines) + "\n")


def new_root(name):
    d = os.path.join(TMP, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def run(args, root=None, seq=False, env=None, binary=None, timeout=20, pre=None):
    e = dict(os.environ)
    e.pop("DMPSTAT_ROOT", None)
    e.pop("DMPSTAT_TEST_SEQ", None)
    e["TZ"] = "UTC"
    e["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
    e["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    if seq:
        e["DMPSTAT_TEST_SEQ"] = "1"
    if env:
        e.update(env)
    argv = (pre or []) + [binary or BIN] + (["--root", root] if root else []) + args
    p = subprocess.run(argv, env=e, capture_output=True, text=True, timeout=timeout)
    if re.search(r"Sanitizer|runtime error:", p.stderr):
        raise Fail("sanitizer report:\n" + p.stderr)
    return p.returncode, p.stdout, p.stderr


# ---- what dmpstat must print, computed from the counters ----

def table(head, rows, left=2):
    allr = [head] + rows
    w = [max(len(r[i]) for r in allr) for i in range(len(head))]
    out = []
    for r in allr:
        parts = []
        for i, c in enumerate(r):
            if i < left:
                parts.append(c if i == len(r) - 1 else c.ljust(w[i]))
            else:
                parts.append(c.rjust(w[i]))
        out.append("  ".join(parts))
    return "\n".join(out) + "\n\n"


TOT_HEAD = ["Device", "Name", "reads", "rbytes", "ravg", "writes", "wbytes",
            "wavg", "discards", "dbytes", "wzeroes", "flushes", "errors"]
INT_HEAD = ["Device", "Name", "r/s", "w/s", "rkB/s", "wkB/s", "rareq-sz",
            "wareq-sz", "d/s", "f/s", "err/s", "r_await", "w_await", "aqu-sz",
            "%util"]


def tot_row(k, name, c):
    return [k, name or "-", str(c[R]), str(c[RB]), str(c[RB] // c[R] if c[R] else 0),
            str(c[W]), str(c[WB]), str(c[WB] // c[W] if c[W] else 0), str(c[D]),
            str(c[DB]), str(c[WZ]), str(c[F]), str(c[E])]


def rates(dc, secs, dd):
    """iostat -x's formulas (see delta.c) on counter deltas dc and disk deltas dd."""
    r = {
        "r/s": dc[R] / secs, "w/s": dc[W] / secs,
        "rkB/s": dc[RB] / 1024.0 / secs, "wkB/s": dc[WB] / 1024.0 / secs,
        "rareq-sz": dc[RB] / 1024.0 / dc[R] if dc[R] else 0.0,
        "wareq-sz": dc[WB] / 1024.0 / dc[W] if dc[W] else 0.0,
        "d/s": dc[D] / secs, "f/s": dc[F] / secs, "err/s": dc[E] / secs,
    }
    if dd is None:
        r.update({"r_await": None, "w_await": None, "aqu-sz": None, "%util": None})
    else:
        ri, rt, wi, wt, io, tq = dd
        r["r_await"] = rt / ri if ri else 0.0
        r["w_await"] = wt / wi if wi else 0.0
        r["aqu-sz"] = tq / secs / 1000.0
        r["%util"] = io / secs / 10.0
    return r


def int_row(k, name, dc, secs, dd):
    r = rates(dc, secs, dd)
    return [k, name or "-"] + ["-" if r[h] is None else "%.2f" % r[h] for h in INT_HEAD[2:]]


def sub(a, b):
    return [x - y for x, y in zip(a, b)]


# ---- cases ----

C0 = [3, 12288, 2, 32768, 1, 65536, 1, 1, 0]
C1 = [10, 40960, 0, 0, 0, 0, 0, 0, 2]
C10 = [7, 3584, 5, 6144, 2, 1048576, 3, 4, 0]
CALL = [sum(x) + 5 for x in zip(C0, C1, C10)]


def basic_tree(root, clock=None):
    t = Tree(root, clock)
    t.dev(0, "dmp1", C0, disk=(3, 9, 4, 16, 20, 25))
    t.dev(1, "data volume", C1, disk=(10, 30, 0, 0, 30, 30))
    t.dev(10, "x10", C10)          # not in diskstats: no block layer columns
    t.all(CALL)
    return t


@case
def totals_text():
    t = basic_tree(new_root("tot"))
    rc, out, err = run([], t.root)
    eq("rc", 0, rc)
    eq("stderr", "", err)
    exp = table(TOT_HEAD, [tot_row("dm-0", "dmp1", C0), tot_row("dm-1", "data volume", C1),
                           tot_row("dm-10", "x10", C10), tot_row("all_devs", None, CALL)])
    eq("text report", exp, out)
    # the same through DMPSTAT_ROOT
    rc, out2, err = run([], env={"DMPSTAT_ROOT": t.root})
    eq("DMPSTAT_ROOT report", exp, out2)


@case
def totals_json():
    t = basic_tree(new_root("totj"))
    rc, out, err = run(["-j"], t.root)
    eq("rc", 0, rc)
    check(out.count("\n") == 1 and out.endswith("\n"), "one line")
    doc = json.loads(out)
    subprocess.run([sys.executable, "-m", "json.tool"], input=out, text=True,
                   check=True, capture_output=True)
    eq("schema", 1, doc["schema"])
    eq("report", "totals", doc["report"])
    eq("interval", None, doc["interval"])
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", doc["timestamp"]), "timestamp")
    devs = [(d["device"], d["name"], [d["counters"][k] for k in COUNTERS]) for d in doc["devices"]]
    eq("devices", [("dm-0", "dmp1", C0), ("dm-1", "data volume", C1), ("dm-10", "x10", C10),
                   ("all_devs", None, CALL)], devs)


@case
def select_devices():
    t = basic_tree(new_root("sel"))
    for args, want in [(["dmp1"], ["dm-0"]), (["dm-1"], ["dm-1"]),
                       (["/dev/mapper/x10", "all_devs"], ["dm-10", "all_devs"]),
                       (["/dev/dm-0", "dmp1", "data volume"], ["dm-0", "dm-1"])]:
        rc, out, err = run(["-j"] + args, t.root)
        eq("rc for %s" % args, 0, rc)
        eq("devices for %s" % args, want, [d["device"] for d in json.loads(out)["devices"]])
    rc, out, err = run(["dmp1", "nosuch"], t.root)
    eq("rc unknown", 1, rc)
    eq("stdout unknown", "", out)
    check(err.count("\n") == 1 and "unknown device 'nosuch'" in err, "unknown message: " + err)


def seq_basic(name):
    """3 samples: 100.0, 102.0, 103.5 s; dm-0 grows, dm-1 idle."""
    base = new_root(name)
    a0, a1, a2 = C0, [x + y for x, y in zip(C0, [4, 16384, 6, 49152, 1, 4096, 0, 2, 1])], None
    a2 = [x + y for x, y in zip(a1, [1, 512, 0, 0, 0, 0, 2, 0, 0])]
    k0, k1, k2 = (3, 9, 4, 16, 20, 25), (7, 21, 12, 40, 900, 1500), (8, 22, 14, 41, 1000, 1555)
    for i, (clk, c, k) in enumerate([(100.0, a0, k0), (102.0, a1, k1), (103.5, a2, k2)]):
        t = Tree(os.path.join(base, str(i)), clk)
        t.dev(0, "dmp1", c, disk=k)
        t.dev(1, "idle", C1, disk=(10, 30, 0, 0, 30, 30))
        t.all([x + y for x, y in zip(c, C1)])
    return base, [a0, a1, a2], [k0, k1, k2]


@case
def interval_text():
    base, cs, ks = seq_basic("int")
    rc, out, err = run(["1", "3"], base, seq=True)
    eq("rc", 0, rc)
    eq("stderr", "", err)
    exp = table(TOT_HEAD, [tot_row("dm-0", "dmp1", cs[0]), tot_row("dm-1", "idle", C1),
                           tot_row("all_devs", None, [x + y for x, y in zip(cs[0], C1)])])
    for i, secs in [(1, 2.0), (2, 1.5)]:
        exp += table(INT_HEAD, [int_row("dm-0", "dmp1", sub(cs[i], cs[i - 1]), secs, sub(ks[i], ks[i - 1])),
                                int_row("dm-1", "idle", [0] * 9, secs, [0] * 6),
                                int_row("all_devs", None, sub(cs[i], cs[i - 1]), secs, None)])
    eq("reports", exp, out)
    # -y leaves out the first and still prints COUNT reports; -t adds the time
    rc, out, err = run(["-y", "-t", "1", "2"], base, seq=True)
    eq("rc -y", 0, rc)
    reports = out.split("\n\n")[:-1]
    eq("-y reports", 2, len(reports))
    eq("-t line", "1970-01-01T00:01:42+0000", reports[0].split("\n")[0])
    check(reports[0].split("\n")[1].startswith("Device"), "header after time")


@case
def interval_json_deltas_add_up():
    base, cs, ks = seq_basic("intj")
    rc, out, err = run(["-j", "dmp1", "0.5", "3"], base, seq=True)
    eq("rc", 0, rc)
    docs = [json.loads(l) for l in out.splitlines()]
    eq("reports", ["totals", "interval", "interval"], [d["report"] for d in docs])
    eq("intervals", [None, 2.0, 1.5], [d["interval"] for d in docs])
    total = [0] * 9
    for i, d in enumerate(docs[1:], 1):
        dev = d["devices"][0]
        eq("restarted", False, dev["restarted"])
        delta = [dev["delta"][k] for k in COUNTERS]
        total = [x + y for x, y in zip(total, delta)]
        eq("counters", cs[i], [dev["counters"][k] for k in COUNTERS])
        dd = sub(ks[i], ks[i - 1])
        eq("disk_delta", dict(zip(["rd_ios", "rd_ticks", "wr_ios", "wr_ticks", "io_ticks",
                                   "time_in_queue"], dd)), dev["disk_delta"])
        exp = rates(delta, d["interval"], dd)
        eq("rates", {k: round(v, 2) for k, v in exp.items()}, dev["rates"])
    eq("deltas add up", sub(cs[2], cs[0]), total)


@case
def reset_added_removed_reused_renamed():
    base = new_root("churn")
    t0 = Tree(os.path.join(base, "0"), 10.0)
    t0.dev(0, "a", [10, 10240, 10, 10240, 0, 0, 0, 0, 0], disk=(10, 50, 10, 60, 100, 110))
    t0.dev(1, "gone", [1, 512, 0, 0, 0, 0, 0, 0, 0], disk=(1, 1, 0, 0, 1, 1))
    t0.dev(2, "old", [50, 51200, 0, 0, 0, 0, 0, 0, 0], disk=(50, 500, 0, 0, 500, 500))
    t0.dev(4, "before", [7, 700, 7, 700, 0, 0, 0, 0, 0], disk=(7, 7, 7, 7, 7, 7))
    t0.all([61, 61952, 10, 10240, 0, 0, 0, 0, 0])
    t1 = Tree(os.path.join(base, "1"), 12.0)
    # renamed (dmsetup rename): nothing went down, the counts go on
    t1.dev(4, "after", [8, 800, 9, 900, 0, 0, 0, 0, 0], disk=(8, 8, 9, 9, 9, 9))
    ca = [2, 4096, 1, 512, 0, 0, 0, 0, 0]     # reset, then a little I/O
    t1.dev(0, "a", ca, disk=(12, 54, 11, 61, 104, 115))
    cn = [80, 81920, 0, 0, 0, 0, 0, 0, 0]     # dm-2 is another device now, busier
    t1.dev(2, "new", cn, disk=(80, 160, 0, 0, 90, 160))
    cadd = [5, 2560, 0, 0, 0, 0, 0, 0, 0]     # appeared
    t1.dev(3, "added", cadd, disk=(5, 5, 0, 0, 5, 5))
    t1.all([146, 150528, 11, 10752, 0, 0, 0, 0, 0])
    rc, out, err = run(["-j", "-y", "1", "1"], base, seq=True)
    eq("rc", 0, rc)
    eq("stderr", "", err)
    doc = json.loads(out)
    got = {d["device"]: d for d in doc["devices"]}
    eq("devices", ["dm-0", "dm-2", "dm-3", "dm-4", "all_devs"], [d["device"] for d in doc["devices"]])
    for k, c, restarted, dd in [("dm-0", ca, True, (2, 4, 1, 1, 4, 5)),
                                ("dm-2", cn, True, (80, 160, 0, 0, 90, 160)),
                                ("dm-3", cadd, True, (5, 5, 0, 0, 5, 5)),
                                ("dm-4", [1, 100, 2, 200, 0, 0, 0, 0, 0], False, (1, 1, 2, 2, 2, 2)),
                                ("all_devs", [85, 88576, 1, 512, 0, 0, 0, 0, 0], False, None)]:
        dev = got[k]
        eq(k + " restarted", restarted, dev["restarted"])
        eq(k + " delta", c, [dev["delta"][n] for n in COUNTERS])
        if dd is None:
            eq(k + " disk", None, dev["disk_delta"])
        else:
            eq(k + " disk", list(dd), list(dev["disk_delta"].values()))
        for v in dev["rates"].values():
            check(v is None or 0 <= v < 1e7, "%s: absurd rate %r" % (k, v))
    eq("dm-2 name", "new", got["dm-2"]["name"])
    # the text report of the same samples
    rc, out, err = run(["-y", "1", "1"], base, seq=True)
    exp = table(INT_HEAD, [int_row("dm-0", "a", ca, 2.0, (2, 4, 1, 1, 4, 5)),
                           int_row("dm-2", "new", cn, 2.0, (80, 160, 0, 0, 90, 160)),
                           int_row("dm-3", "added", cadd, 2.0, (5, 5, 0, 0, 5, 5)),
                           int_row("dm-4", "after", [1, 100, 2, 200, 0, 0, 0, 0, 0], 2.0, (1, 1, 2, 2, 2, 2)),
                           int_row("all_devs", None, [85, 88576, 1, 512, 0, 0, 0, 0, 0], 2.0, None)])
    eq("text", exp, out)


@case
def module_unloaded_midway():
    base = new_root("unl")
    t0 = Tree(os.path.join(base, "0"), 1.0)
    t0.dev(0, "a", C0)
    t0.all(C0)
    t1 = os.path.join(base, "1")
    os.makedirs(os.path.join(t1, "proc"))
    with open(os.path.join(t1, "clock"), "w") as f:
        f.write("2\n")
    rc, out, err = run(["-j", "1", "2"], base, seq=True)
    eq("rc", 0, rc)
    eq("second report has no device", [], json.loads(out.splitlines()[1])["devices"])


MALFORMED = [
    ("stat", "", "dm-0/stat: malformed (empty)"),
    ("stat", "1 2 3\n", "dm-0/stat: malformed (fewer than 9 numbers)"),
    ("stat", "1 2 3 4 5 6 7 8 x\n", "dm-0/stat: malformed (not a number)"),
    ("stat", "1 2 3 4 5 6 7 8 -9\n", "dm-0/stat: malformed (not a number)"),
    ("stat", "1 2 3 4 5 6 7 8 18446744073709551616\n", "dm-0/stat: malformed (not a number)"),
    ("stat", "1  2 3 4 5 6 7 8 9\n", "dm-0/stat: malformed (not a number)"),
    ("stat", "1 2 3 4 5 6 7 8 9\n10\n", "dm-0/stat: malformed (not a number)"),
    ("stat", "1" * 600, "dm-0/stat: malformed (too long)"),
    ("name", "", "dm-0/name: malformed (empty)"),
    ("name", "a\nb\n", "dm-0/name: malformed (more than one line)"),
    ("name", "n" * 200 + "\n", "dm-0/name: malformed (name too long)"),
    ("diskstats", " 254 0 dm-0 1 2 3\n", "proc/diskstats: malformed (fewer than 11 numbers on a dm line)"),
    ("diskstats", " 254 0 dm-0 1 2 3 4 5 6 7 8 9 10 z\n", "proc/diskstats: malformed (not a number)"),
    ("diskstats", "xx\n", "proc/diskstats: malformed (malformed line)"),
]


@case
def malformed_files():
    for i, (what, content, msg) in enumerate(MALFORMED):
        t = Tree(new_root("bad%d" % i))
        d = t.dev(0, "a", C0, disk=(1, 1, 1, 1, 1, 1))
        t.all(C0)
        path = os.path.join(t.root, "proc/diskstats") if what == "diskstats" else os.path.join(d, what)
        if content is None:
            os.unlink(path)
        else:
            with open(path, "w") as f:
                f.write(content)
        for args in ([], ["-j"], ["--prometheus"]):
            rc, out, err = run(args, t.root)
            eq("rc for %s %r" % (what, content), 1, rc)
            eq("stdout for %s %r" % (what, content), "", out)
            check(err.count("\n") == 1 and msg in err and err.startswith("dmpstat: " + t.root),
                  "message for %s %r: %r" % (what, content, err))
    # all_devs without its stat file: a module older than this dmpstat
    t = Tree(new_root("oldmodule"))
    t.dev(0, "a", C0)
    t.all(C0)
    os.unlink(os.path.join(t.stat, "all_devs", "stat"))
    for args in ([], ["-j"], ["--prometheus"]):
        rc, out, err = run(args, t.root)
        eq("rc without all_devs/stat", 1, rc)
        check(err == "dmpstat: %s/sys/module/dmp/stat/all_devs/stat: missing "
              "(is the dmp module older than this dmpstat?)\n" % t.root,
              "message without all_devs/stat: %r" % err)
    # a device entry that is only a symlink, or not dm-N, is not a device
    t = Tree(new_root("oddents"))
    t.dev(0, "a", C0)
    t.all(C0)
    os.makedirs(os.path.join(t.stat, "dm-01"))
    os.makedirs(os.path.join(t.stat, "holder"))
    os.symlink("dm-0", os.path.join(t.stat, "dm-7"))
    rc, out, err = run(["-j"], t.root)
    eq("odd entries rc", 0, rc)
    eq("odd entries", ["dm-0", "all_devs"], [d["device"] for d in json.loads(out)["devices"]])
    # without /proc/diskstats: /sys/block/dm-N/stat
    t = Tree(new_root("blockstat"), 0.0)
    t.dev(0, "a", C0)
    t.all(C0)
    os.unlink(os.path.join(t.root, "proc/diskstats"))
    os.makedirs(os.path.join(t.root, "sys/block/dm-0"))
    with open(os.path.join(t.root, "sys/block/dm-0/stat"), "w") as f:
        f.write("       5        0       40       7        2        0       16        3        0       9       10\n")
    seqroot = new_root("blockstatseq")
    shutil.copytree(t.root, os.path.join(seqroot, "0"))
    shutil.copytree(t.root, os.path.join(seqroot, "1"))
    with open(os.path.join(seqroot, "1", "clock"), "w") as f:
        f.write("1\n")
    rc, out, err = run(["-j", "-y", "dm-0", "1", "1"], seqroot, seq=True)
    eq("sys/block rc", 0, rc)
    eq("sys/block disk", {"rd_ios": 0, "rd_ticks": 0, "wr_ios": 0, "wr_ticks": 0, "io_ticks": 0,
                          "time_in_queue": 0}, json.loads(out)["devices"][0]["disk_delta"])


@case
def device_coming_or_going():
    """A device directory without its files (made before them, or left
    after them for a moment), or with only some of them, is a device that
    comes or goes: left out of that sample, in every output."""
    for i, gone_files in enumerate((["stat", "name", "reset", "histograms"], ["stat"], ["name"],
                                    ["histograms"])):
        t = Tree(new_root("partial%d" % i))
        t.dev(0, "a", C0, disk=(1, 1, 1, 1, 1, 1))
        d = t.dev(3, "b", C0, disk=(1, 1, 1, 1, 1, 1))
        t.all(C0)
        for f in gone_files:
            os.unlink(os.path.join(d, f))
        rc, out, err = run(["-j"], t.root)
        eq("rc with dm-3 missing %s" % gone_files, 0, rc)
        eq("stderr with dm-3 missing %s" % gone_files, "", err)
        eq("devices with dm-3 missing %s" % gone_files, ["dm-0", "all_devs"],
           [x["device"] for x in json.loads(out)["devices"]])
        rc, out, err = run(["-j"], t.root, env={"DMPSTAT_TRACE": "1"})
        eq("trace with dm-3 missing %s" % gone_files,
           "dmpstat: trace: dm-3/%s: directory without this file, left out\n"
           % (gone_files[0] if len(gone_files) == 1 else "stat"), err)
        rc, out, err = run(["--prometheus"], t.root)
        eq("prometheus rc with dm-3 missing %s" % gone_files, 0, rc)
        check('device="dm-0"' in out and 'device="dm-3"' not in out,
              "prometheus with dm-3 missing %s: %s" % (gone_files, out))
        promtool(out)


@case
def not_loaded():
    root = new_root("noload")
    os.makedirs(os.path.join(root, "sys/module"))
    for args in ([], ["-j"], ["1", "2"], ["dmp1"], ["--reset-all"]):
        rc, out, err = run(args, root)
        eq("rc %s" % args, 1, rc)
        eq("stdout %s" % args, "", out)
        check(err.count("\n") == 1 and "modprobe dmp" in err, "message %s: %r" % (args, err))
    rc, out, err = run(["--prometheus"], root)
    eq("prometheus rc", 0, rc)
    eq("prometheus stderr", "", err)
    eq("prometheus", "# HELP dmp_module_loaded Whether the dmp module is loaded (1) or not (0).\n"
       "# TYPE dmp_module_loaded gauge\ndmp_module_loaded 0\n", out)
    promtool(out)


USAGE = [["--bogus"], ["-x"], ["0"], ["-1"], ["1x"], ["1", "0"], ["1", "1.5"], ["1", "2", "3"],
         ["1", "dmp1"], ["abc", "1", "x"], [".", "1"], ["86401"], ["--reset"], ["--reset", "dmp1", "1"],
         ["--reset", "--reset-all"], ["--reset-all", "dmp1"], ["--json", "--prometheus"],
         ["--prometheus", "1"], ["--root"], [""], ["--hist", "-j"], ["--hist", "--prometheus"],
         ["--latency", "--prometheus"], ["--reset", "dmp1", "--latency"], ["--reset-all", "--hist"],
         ["--histograms"], ["--histograms", "maybe", "dmp1"], ["--histograms", "ON", "dmp1"],
         ["--histograms", "on"], ["--histograms", "off", "-j", "dmp1"],
         ["--histograms", "on", "--attach", "dmp1"], ["--histograms", "on", "--latency", "dmp1"]]


@case
def usage_errors():
    t = basic_tree(new_root("usage"))
    for args in USAGE:
        rc, out, err = run(args, t.root)
        eq("rc %s" % args, 2, rc)
        eq("stdout %s" % args, "", out)
        check("Usage: dmpstat" in err and err.startswith("dmpstat: "), "message %s: %r" % (args, err))
    rc, out, err = run(["--version"])
    with open(os.path.join(SRC, "../dmp/dmp_version.h")) as f:
        v = re.search(r'#define DMP_VERSION "([^"]+)"', f.read()).group(1)
    eq("--version", (0, "dmpstat %s\n" % v), (rc, out))
    rc, out, err = run(["-V"])
    eq("-V", "dmpstat %s\n" % v, out)


@case
def reset():
    t = basic_tree(new_root("reset"))
    rc, out, err = run(["--reset", "dmp1", "/dev/mapper/x10"], t.root)
    eq("rc", (0, "", ""), (rc, out, err))
    got = {k: open(os.path.join(t.stat, k, "reset")).read() for k in ["dm-0", "dm-1", "dm-10", "all_devs"]}
    eq("reset files", {"dm-0": "1", "dm-1": "", "dm-10": "1", "all_devs": ""}, got)
    rc, out, err = run(["--reset-all"], t.root)
    eq("rc all", 0, rc)
    got = {k: open(os.path.join(t.stat, k, "reset")).read() for k in ["dm-0", "dm-1", "dm-10", "all_devs"]}
    eq("reset-all files", {k: "1" for k in got}, got)
    rc, out, err = run(["--reset", "nosuch"], t.root)
    check(rc == 1 and "unknown device 'nosuch'" in err, "reset unknown: %r" % err)
    # permission denied: as nobody when root, else a file without write permission
    os.chmod(os.path.join(t.stat, "dm-0", "reset"), 0o200)
    pre = None
    if os.geteuid() == 0 and shutil.which("setpriv"):
        pre = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        for dp, dn, fn in os.walk(TMP):
            os.chmod(dp, 0o755)
        os.chmod(TMP, 0o755)
        for fn in (BIN,):
            pass
    else:
        os.chmod(os.path.join(t.stat, "dm-0", "reset"), 0o400)
    rc, out, err = run(["--reset", "dmp1"], t.root, pre=pre)
    eq("rc denied", 1, rc)
    check(err.count("\n") == 1 and "permission denied" in err and "root" in err and "disk" in err,
          "denied message: %r" % err)


def promtool(text):
    if not shutil.which("promtool"):
        raise Fail("promtool not installed (apt-get install prometheus)")
    p = subprocess.run(["promtool", "check", "metrics"], input=text, text=True, capture_output=True)
    if p.returncode != 0:
        raise Fail("promtool check metrics:\n" + p.stdout + p.stderr)


@case
def prometheus():
    t = basic_tree(new_root("prom"))
    t.dev(2, 'q"uo\\te', C0)
    rc, out, err = run(["--prometheus"], t.root)
    eq("rc", (0, ""), (rc, err))
    promtool(out)
    exp = ["# HELP dmp_module_loaded Whether the dmp module is loaded (1) or not (0).",
           "# TYPE dmp_module_loaded gauge", "dmp_module_loaded 1"]
    devs = [("dm-0", "dmp1", C0), ("dm-1", "data volume", C1), ("dm-2", 'q\\"uo\\\\te', C0),
            ("dm-10", "x10", C10)]
    samples = {}
    for line in out.splitlines():
        if not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            samples[k] = int(v)
    for i, c in enumerate(COUNTERS):
        check("# TYPE dmp_%s_total counter" % c in out, "TYPE of %s" % c)
        check("# TYPE dmp_all_%s_total counter" % c in out, "TYPE of all %s" % c)
        for k, n, cs in devs:
            key = 'dmp_%s_total{device="%s",name="%s"}' % (c, k, n)
            eq(key, cs[i], samples.get(key))
        eq("all " + c, CALL[i], samples.get("dmp_all_%s_total" % c))
    eq("sample count", 1 + 9 * len(devs) + 9, len(samples))
    check(out.startswith("\n".join(exp) + "\n"), "gauge first")


# ---- histograms ----

def quantile(q, bounds, counts):
    """Prometheus' histogram_quantile() on one histogram (promql/quantile.go,
    bucketQuantile): linear inside the bucket that holds rank q * total, from
    the bound below (0 for the first bucket) to its own; the last bound when
    the rank is in the bucket above it. 0 when there is no request (as iostat's
    r_await)."""
    total = sum(counts)
    if not total:
        return 0.0
    rank = q * total
    below = 0
    for i, upper in enumerate(bounds):
        if below + counts[i] >= rank:
            lower = bounds[i - 1] if i else 0
            return lower + (upper - lower) * ((rank - below) / counts[i])
        below += counts[i]
    return bounds[-1]


def top_ms(bounds, counts, inf_prefix=">"):
    """the upper bound of the last bucket with a request, in ms"""
    top = max((i for i, x in enumerate(counts) if x), default=-1)
    if top < 0:
        return "0.000"
    if top == len(bounds):
        return inf_prefix + "%.3f" % (bounds[-1] / 1000)
    return "%.3f" % (bounds[top] / 1000)


LAT_HEAD = ["r_p50", "r_p90", "r_p99", "r_max", "w_p50", "w_p90", "w_p99", "w_max"]


def lat_cells(h):
    if h is None:
        return ["-"] * 8
    cells = []
    for name in ("read_latency", "write_latency"):
        c = h.counts[name]
        cells += ["%.3f" % (quantile(q, h.lat_bounds, c) / 1000) for q in (0.5, 0.9, 0.99)]
        cells.append(top_ms(h.lat_bounds, c))
    return cells


def bars(label, h):
    """--hist for one device: bcc's biolatency layout (table.py, _print_log2_hist)."""
    if h is None:
        return "%s: histograms off\n\n" % label
    out = ""
    for name in HISTS:
        c, b, size = h.counts[name], h.bounds(name), name.endswith("size")
        total = sum(c)
        title = "%s %s: " % (label, name.replace("_", " "))
        if not total:
            out += title + "no requests\n\n"
            continue
        if size:
            title += "%d request%s, average %d bytes" % (total, "" if total == 1 else "s",
                                                          h.sums[name] // total)
        else:
            title += "%d request%s, average %.1f usecs" % (total, "" if total == 1 else "s",
                                                            h.sums[name] / total / 1000)
        last = max(i for i, x in enumerate(c) if x)
        vmax = max(c[:last + 1])
        out += title + "\n     %-19s : count     distribution\n" % ("bytes" if size else "usecs")
        for i in range(last + 1):
            lo = b[i - 1] if i else 0
            hi = str(b[i]) if i < len(b) else "inf"
            out += "%10s -> %-10s : %-8d |%-40s|\n" % (lo, hi, c[i], "*" * int(c[i] * 40 / vmax))
        out += "\n"
    return out


H0 = Hist({"read_latency": {5: 12, 6: 40, 7: 3}, "write_latency": {7: 5, 8: 20, 9: 1, 26: 1},
           "read_size": {3: 55}, "write_size": {3: 20, 5: 7}},
          {"read_latency": 4613720, "write_latency": 40009000000, "read_size": 225280,
           "write_size": 196608})
H10 = Hist({"read_latency": {0: 1}, "read_size": {0: 1}}, {"read_latency": 800, "read_size": 512})


def hist_tree(root, clock=None):
    """basic_tree with histograms: on for dm-0 and dm-10, off for dm-1"""
    t = Tree(root, clock)
    t.dev(0, "dmp1", C0, disk=(3, 9, 4, 16, 20, 25), hist=H0)
    t.dev(1, "data volume", C1, disk=(10, 30, 0, 0, 30, 30))
    t.dev(10, "x10", C10, hist=H10)
    t.all(CALL, hist=H0.plus(H10))
    return t


def json_hist(h):
    if h is None:
        return None
    d = {"latency_bounds_us": h.lat_bounds, "size_bounds_bytes": h.size_bounds}
    for name in HISTS:
        d[name] = {"counts": h.counts[name], "count": sum(h.counts[name]),
                   "sum_bytes" if name.endswith("size") else "sum_ns": h.sums[name]}
    return d


def json_lat(h):
    if h is None:
        return None
    d = {}
    for name, key in (("read_latency", "read"), ("write_latency", "write")):
        c = h.counts[name]
        top = top_ms(h.lat_bounds, c, inf_prefix=None) if not c[-1] else None
        d[key] = {"p50": round(quantile(0.5, h.lat_bounds, c) / 1000, 3),
                  "p90": round(quantile(0.9, h.lat_bounds, c) / 1000, 3),
                  "p99": round(quantile(0.99, h.lat_bounds, c) / 1000, 3),
                  "max": None if c[-1] else float(top)}
    return d


@case
def latency_by_hand():
    """A few quantiles worked out by hand, as a check of quantile() itself:
    55 reads, 12 in (16, 32] us, 40 in (32, 64], 3 in (64, 128]."""
    c = H0.counts["read_latency"]
    eq("p50", 32 + 32 * (27.5 - 12) / 40, quantile(0.5, LAT_BOUNDS, c))      # 44.4 us
    eq("p99", 64 + 64 * (54.45 - 52) / 3, quantile(0.99, LAT_BOUNDS, c))     # 116.27 us
    eq("p99 above the last bound", 33554432, quantile(0.99, LAT_BOUNDS, H0.counts["write_latency"]))
    t = hist_tree(new_root("latbyhand"))
    rc, out, err = run(["--latency", "dmp1"], t.root)
    eq("rc", (0, ""), (rc, err))
    eq("dmp1 latency cells", ["0.044", "0.062", "0.116", "0.128", "0.182", "0.252", "33554.432",
                              ">33554.432"], out.splitlines()[1].split()[-8:])


@case
def latency_text():
    t = hist_tree(new_root("lat"))
    rc, out, err = run(["--latency"], t.root)
    eq("rc", (0, ""), (rc, err))
    exp = table(TOT_HEAD + LAT_HEAD,
                [tot_row("dm-0", "dmp1", C0) + lat_cells(H0),
                 tot_row("dm-1", "data volume", C1) + lat_cells(None),
                 tot_row("dm-10", "x10", C10) + lat_cells(H10),
                 tot_row("all_devs", None, CALL) + lat_cells(H0.plus(H10))])
    eq("totals with --latency", exp, out)


def seq_hist(name):
    """3 samples, 100.0, 102.0, 103.5 s: dm-0's histograms grow, then are
    reset with the counters; dm-1 switches them on after the first sample;
    dm-5 has them on and idle; all_devs sums."""
    base = new_root(name)
    d1 = Hist({"read_latency": {6: 100, 7: 50, 10: 2}, "write_latency": {9: 30, 12: 3},
               "read_size": {3: 150, 4: 2}, "write_size": {3: 33}},
              {"read_latency": 12000000, "write_latency": 30000000, "read_size": 630784,
               "write_size": 135168})
    h2 = Hist({"read_latency": {4: 1}, "read_size": {1: 1}},
              {"read_latency": 12000, "read_size": 1024})        # after a reset
    on1 = Hist({"write_latency": {3: 4}, "write_size": {0: 4}}, {"write_latency": 24000, "write_size": 2048})
    d2 = Hist({"write_latency": {3: 1, 4: 1}, "write_size": {0: 2}}, {"write_latency": 18000, "write_size": 1024})
    idle = H10
    c = [C0, [x + 10 for x in C0], [1, 1024, 0, 0, 0, 0, 0, 0, 0]]     # reset before the third
    h = {"dm-0": [H0, H0.plus(d1), h2], "dm-1": [None, on1, on1.plus(d2)], "dm-5": [idle] * 3}
    # all_devs: the devices that have them on; a device's reset does not touch it
    a0 = H0.plus(idle)
    h["all_devs"] = [a0, a0.plus(d1).plus(on1), a0.plus(d1).plus(on1).plus(d2).plus(h2)]
    for i, clk in enumerate([100.0, 102.0, 103.5]):
        t = Tree(os.path.join(base, str(i)), clk)
        t.dev(0, "dmp1", c[i], disk=(i, i, i, i, i, i), hist=h["dm-0"][i])
        t.dev(1, "late", C1, disk=(10, 30, 0, 0, 30, 30), hist=h["dm-1"][i])
        t.dev(5, "idle", C1, hist=idle)
        t.all([x + 100 * i for x in CALL], hist=h["all_devs"][i])
    # what each interval counted, and whether it restarted
    deltas = {"dm-0": [(d1, False), (h2, True)],
              "dm-1": [(on1, True), (d2, False)],
              "dm-5": [(idle.minus(idle), False)] * 2,
              "all_devs": [(d1.plus(on1), False), (d2.plus(h2), False)]}
    return base, h, deltas


@case
def histograms_json():
    t = hist_tree(new_root("histj"))
    rc, out, err = run(["-j"], t.root)
    eq("rc", (0, ""), (rc, err))
    doc = json.loads(out)
    eq("schema", 1, doc["schema"])
    eq("histograms", [json_hist(H0), None, json_hist(H10), json_hist(H0.plus(H10))],
       [d["histograms"] for d in doc["devices"]])
    check(all("latency_ms" not in d for d in doc["devices"]), "latency_ms without --latency")
    rc, out, err = run(["-j", "--latency"], t.root)
    eq("latency_ms", [json_lat(H0), None, json_lat(H10), json_lat(H0.plus(H10))],
       [d["latency_ms"] for d in json.loads(out)["devices"]])
    # intervals: the raw deltas, restarted when switched on or reset
    base, h, deltas = seq_hist("histjseq")
    rc, out, err = run(["-j", "--latency", "1", "3"], base, seq=True)
    eq("rc seq", (0, ""), (rc, err))
    docs = [json.loads(line) for line in out.splitlines()]
    names = ["dm-0", "dm-1", "dm-5", "all_devs"]
    eq("devices", names, [d["device"] for d in docs[0]["devices"]])
    for i in (1, 2):
        for dev, k in zip(docs[i]["devices"], names):
            dh, restarted = deltas[k][i - 1]
            eq("%s histograms at %d" % (k, i), json_hist(h[k][i]), dev["histograms"])
            exp = {"restarted": restarted}
            exp.update({n: v for n, v in json_hist(dh).items() if n in HISTS})
            eq("%s histograms_delta at %d" % (k, i), exp, dev["histograms_delta"])
            eq("%s latency_ms at %d" % (k, i), json_lat(dh), dev["latency_ms"])
    # the deltas of a device that did not restart add up to its change
    total = Hist()
    for d in docs[1:]:
        delta = d["devices"][3]["histograms_delta"]
        total = total.plus(Hist({n: delta[n]["counts"] for n in HISTS},
                                {n: delta[n]["sum_ns" if "latency" in n else "sum_bytes"] for n in HISTS}))
    eq("all_devs deltas add up", vars(h["all_devs"][2].minus(h["all_devs"][0])), vars(total))


@case
def latency_and_hist_intervals():
    base, h, deltas = seq_hist("histseq")
    rc, out, err = run(["--latency", "-y", "1", "2"], base, seq=True)
    eq("rc", (0, ""), (rc, err))
    for i in (1, 2):
        rows = [line.split() for line in out.split("\n\n")[i - 1].splitlines()]
        eq("header of interval %d" % i, INT_HEAD + LAT_HEAD, rows[0])
        eq("devices of interval %d" % i, ["dm-0", "dm-1", "dm-5", "all_devs"], [r[0] for r in rows[1:]])
        eq("latency cells of interval %d" % i,
           [lat_cells(deltas[k][i - 1][0]) for k in ("dm-0", "dm-1", "dm-5", "all_devs")],
           [r[-8:] for r in rows[1:]])
    # --hist: the table, then each device's histograms of the interval
    rc, out, err = run(["--hist", "-y", "1", "2"], base, seq=True)
    eq("rc --hist", (0, ""), (rc, err))
    reports = out.split("Device  ")[1:]
    eq("reports", 2, len(reports))
    for i in (1, 2):
        body = reports[i - 1].split("\n\n", 1)[1]
        exp = (bars("dm-0 (dmp1)", deltas["dm-0"][i - 1][0]) + bars("dm-1 (late)", deltas["dm-1"][i - 1][0])
               + bars("dm-5 (idle)", deltas["dm-5"][i - 1][0]) + bars("all_devs", deltas["all_devs"][i - 1][0]))
        eq("--hist of interval %d" % i, exp, body)


@case
def hist_text():
    t = hist_tree(new_root("histtext"))
    rc, out, err = run(["--hist", "-t"], t.root)
    eq("rc", (0, ""), (rc, err))
    tab = table(TOT_HEAD, [tot_row("dm-0", "dmp1", C0), tot_row("dm-1", "data volume", C1),
                           tot_row("dm-10", "x10", C10), tot_row("all_devs", None, CALL)])
    exp = tab + bars("dm-0 (dmp1)", H0) + bars("dm-1 (data volume)", None) + bars("dm-10 (x10)", H10) \
        + bars("all_devs", H0.plus(H10))
    eq("--hist", exp, out.split("\n", 1)[1])
    # all_devs off; a module without histograms
    t = Tree(new_root("histoff"))
    t.dev(0, "a", C0)
    t.all(C0)
    rc, out, err = run(["--hist", "--latency"], t.root)
    eq("all off", (0, "", "dm-0 (a): histograms off\n\nall_devs: histograms off (on no device)\n\n"),
       (rc, err, out.split("\n\n", 1)[1]))
    for k in ("dm-0", "all_devs"):
        os.unlink(os.path.join(t.stat, k, "histograms"))
    rc, out, err = run(["--hist", "--latency"], t.root)
    eq("older module", (0, "", "dm-0 (a): no histograms (the dmp module is older than this dmpstat)\n\n"
                           "all_devs: no histograms (the dmp module is older than this dmpstat)\n\n"),
       (rc, err, out.split("\n\n", 1)[1]))
    eq("older module, --latency cells", [["-"] * 8] * 2,
       [line.split()[-8:] for line in out.split("\n\n")[0].splitlines()[1:]])


def prom_le_seconds(us):
    """an exact decimal of us / 10^6, as dmpstat prints le: 64 -> 0.000064"""
    from decimal import Decimal
    s = format(Decimal(us) / Decimal(1000000), "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


def prom_hist_lines(family, labels, name, h):
    """the series of histogram `name` of h as --prometheus must print them"""
    from decimal import Decimal
    lab = labels + "," if labels else ""
    lines, cum = [], 0
    size = name.endswith("size")
    for i, c in enumerate(h.counts[name]):
        cum += c
        b = h.bounds(name)
        le = "+Inf" if i == len(b) else (str(b[i]) if size else prom_le_seconds(b[i]))
        lines.append('%s_bucket{%sle="%s"} %d' % (family, lab, le, cum))
    s = h.sums[name]
    if not size:
        s = format(Decimal(s) / Decimal(10 ** 9), "f")
        s = s.rstrip("0").rstrip(".") if "." in s else s
    brace = "{%s}" % labels if labels else ""
    lines.append("%s_sum%s %s" % (family, brace, s))
    lines.append("%s_count%s %d" % (family, brace, cum))
    return lines


PROM_FAMILY = {"read_latency": "read_latency_seconds", "write_latency": "write_latency_seconds",
               "read_size": "read_size_bytes", "write_size": "write_size_bytes"}


@case
def prometheus_histograms():
    t = hist_tree(new_root("promhist"))
    rc, out, err = run(["--prometheus"], t.root)
    eq("rc", (0, ""), (rc, err))
    promtool(out)
    lines = out.splitlines()
    for name in HISTS:
        fam = "dmp_" + PROM_FAMILY[name]
        check("# TYPE %s histogram" % fam in lines, "TYPE of " + fam)
        check("# TYPE dmp_all_%s histogram" % PROM_FAMILY[name] in lines, "TYPE of all " + fam)
        got = [x for x in lines if x.startswith(fam + "_")]
        exp = prom_hist_lines(fam, 'device="dm-0",name="dmp1"', name, H0) + \
            prom_hist_lines(fam, 'device="dm-10",name="x10"', name, H10)
        eq(fam, exp, got)
        fam = "dmp_all_" + PROM_FAMILY[name]
        eq(fam, prom_hist_lines(fam, "", name, H0.plus(H10)), [x for x in lines if x.startswith(fam + "_")])
    check('device="dm-1"' in out and not re.search(r'_(bucket|sum|count)\{device="dm-1"', out),
          "dm-1 (off): counters, no histogram series")
    eq("le of 64 us", '0.000064', prom_le_seconds(64))
    check('dmp_read_latency_seconds_bucket{device="dm-0",name="dmp1",le="0.000064"} 52' in lines,
          "the bucket le=64 us of dm-0 holds 12 + 40 reads")
    check('dmp_write_latency_seconds_sum{device="dm-0",name="dmp1"} 40.009' in lines, "sum in seconds")
    # nobody has them on, or an older module: no histogram families at all
    for older in (False, True):
        t = basic_tree(new_root("promhistoff%d" % older))
        if older:
            for k in ("dm-0", "dm-1", "dm-10", "all_devs"):
                os.unlink(os.path.join(t.stat, k, "histograms"))
        rc, out, err = run(["--prometheus"], t.root)
        eq("rc off/older", (0, ""), (rc, err))
        promtool(out)
        check("histogram" not in out and "_bucket" not in out, "no histogram series: " + out)


@case
def histograms_from_the_file():
    """Bounds are the file's (a later module may change them), in any order
    of lines; lines of unknown names are skipped."""
    h = Hist({"read_latency": {0: 2, 1: 1, 3: 1}, "write_latency": {2: 4}, "read_size": {1: 3},
              "write_size": {0: 1, 2: 1}},
             {"read_latency": 777, "write_latency": 5, "read_size": 99, "write_size": 1},
             lat_bounds=[10, 100, 1000], size_bounds=[4096, 65536])
    t = Tree(new_root("histfile"))
    t.dev(0, "a", C0)
    t.all(C0)
    text = hist_file(h).splitlines()
    text = [text[0], "read_latency_max_ns 123456", "flavour strawberry"] + text[3:] + text[1:3] + [""]
    with open(os.path.join(t.stat, "dm-0", "histograms"), "w") as f:
        f.write("\n".join(text))
    rc, out, err = run(["-j", "--latency", "dm-0"], t.root)
    eq("rc", (0, ""), (rc, err))
    dev = json.loads(out)["devices"][0]
    eq("histograms", json_hist(h), dev["histograms"])
    eq("latency_ms", json_lat(h), dev["latency_ms"])
    rc, out, err = run(["--prometheus", "dm-0"], t.root)
    promtool(out)
    eq("buckets", prom_hist_lines("dmp_read_latency_seconds", 'device="dm-0",name="a"', "read_latency", h),
       [x for x in out.splitlines() if x.startswith("dmp_read_latency_seconds_")])
    rc, out, err = run(["--hist", "dm-0"], t.root)
    eq("--hist", bars("dm-0 (a)", h), out.split("\n\n", 1)[1])


MALFORMED_HIST = [
    ("", "empty"),
    ("on\n", "no state line"),
    ("state maybe\n", "state is neither on nor off"),
    ("state on\n", "no latency_bounds_us line"),
    ("state off\nstate off\n", "a line twice"),
    ("state on\nlatency_bounds_us 1 2\nsize_bounds_bytes 512\n", "no read_latency line"),
    (hist_file(H10).replace("latency_bounds_us 1 2 4", "latency_bounds_us 1 4 2"), "bounds not increasing"),
    (hist_file(H10).replace("size_bounds_bytes 512", "size_bounds_bytes 512 x"), "not a number"),
    (hist_file(H10).replace("read_size 1 0", "read_size 1"), "read_size: not one count per size bound and one more"),
    (hist_file(H10).replace("write_latency 0", "write_latency 0 0"),
     "write_latency: not one count per latency bound and one more"),
    (hist_file(H10).replace("read_latency_sum_ns 800", "read_latency_sum_ns 800 1"), "a sum is not one number"),
    (hist_file(H10).replace("read_latency_sum_ns 800", "read_latency_sum_ns -800"), "not a number"),
    (hist_file(Hist({"read_latency": {0: 2 ** 63, 1: 2 ** 63}})), "counts add up past 2^64"),
    ("state on\nlatency_bounds_us " + " ".join(str(i + 1) for i in range(129)) + "\n", "too many bounds"),
    ("state on\nlatency_bounds_us\n", "no bounds"),
    ("state off\n" + "x" * 70000 + "\n", "too long"),
]


@case
def histograms_switch():
    """--histograms on|off through the dm ioctls, against a device-mapper
    faked by build/fakedm.so (tests/fakedm.c): the message, to the first dmp
    target of each device; the errors."""
    fake = os.path.join(SRC, "build/fakedm.so")
    check(os.path.exists(fake), "build/fakedm.so not built (make check builds it)")
    log = os.path.join(new_root("histsw"), "log")
    tables = ("dmp1=0 2048 dmp 7:0 0;mix=0 1024 linear 7:1 0,1024 4096 dmp 7:2 8,5120 8 dmp 7:3 0;"
              "lin=0 10 linear 7:0 0;vg-lv=0 100 dmp 253:4 0")

    def sw(args, **env):
        if os.path.exists(log):
            os.unlink(log)
        e = {"LD_PRELOAD": fake, "FAKEDM_TABLES": tables, "FAKEDM_LOG": log,
             "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:verify_asan_link_order=0"}
        e.update(env)
        rc, out, err = run(["--histograms"] + args, env=e)
        msgs = open(log).read().splitlines() if os.path.exists(log) else []
        return rc, out, err, msgs

    eq("on", (0, "", "", ["dmp1 0 histograms on", "mix 1024 histograms on", "vg-lv 0 histograms on"]),
       sw(["on", "dmp1", "/dev/mapper/mix", "vg-lv"]))
    eq("off", (0, "", "", ["dmp1 0 histograms off"]), sw(["off", "dmp1"]))
    eq("not dmp, unknown: said, the others switched",
       (1, "", "dmpstat: lin: not a dmp device (no dmp target in its table: linear)\n"
               "dmpstat: unknown device 'nosuch': no device-mapper device has that name or number\n",
        ["dmp1 0 histograms on"]), sw(["on", "lin", "nosuch", "dmp1"]))
    eq("EINVAL: a module without histograms",
       (1, "", "dmpstat: dmp1: the dmp module refused 'histograms on' (is it older than this "
               "dmpstat? see modinfo dmp)\n", ["dmp1 0 histograms on"]),
       sw(["on", "dmp1"], FAKEDM_MSG_ERRNO="22"))
    eq("ENOMEM", (1, "", "dmpstat: mix: cannot switch its histograms on: Cannot allocate memory\n",
                  ["mix 1024 histograms on"]), sw(["on", "mix"], FAKEDM_MSG_ERRNO="12"))
    eq("not root",
       (1, "", "dmpstat: --histograms needs root: cannot open /dev/mapper/control: Permission denied\n", []),
       sw(["on", "dmp1"], FAKEDM_OPEN_ERRNO="13"))
    eq("no CAP_SYS_ADMIN",
       (1, "", "dmpstat: --histograms needs root (CAP_SYS_ADMIN): Operation not permitted\n", []),
       sw(["off", "dmp1"], FAKEDM_VERSION_ERRNO="1"))


@case
def malformed_histograms():
    for i, (content, msg) in enumerate(MALFORMED_HIST):
        t = Tree(new_root("badhist%d" % i))
        d = t.dev(0, "a", C0)
        t.all(C0)
        with open(os.path.join(d, "histograms"), "w") as f:
            f.write(content)
        for args in (["-j"], ["--prometheus"], ["--latency"], ["--hist"]):
            rc, out, err = run(args, t.root)
            eq("rc for %r %s" % (msg, args), (1, ""), (rc, out))
            eq("message for %r %s" % (msg, args),
               "dmpstat: %s/sys/module/dmp/stat/dm-0/histograms: malformed (%s)\n" % (t.root, msg), err)
        # the plain text report does not read them
        rc, out, err = run([], t.root)
        eq("rc without histograms options for %r" % msg, (0, ""), (rc, err))


@case_once
def prometheus_rules():
    """dmp.rules.yml: promtool check rules clean, and promtool test rules
    dmp.rules.test.yml (recording rules and alerts on input series, expected
    values worked out in that file) passes."""
    if not shutil.which("promtool"):
        raise Fail("promtool not installed (apt-get install prometheus)")
    for args in (["check", "rules", "dmp.rules.yml"], ["test", "rules", "dmp.rules.test.yml"]):
        p = subprocess.run(["promtool"] + args, cwd=SRC, capture_output=True, text=True)
        if p.returncode != 0:
            raise Fail("promtool %s:\n%s%s" % (" ".join(args), p.stdout, p.stderr))


@case
def prometheus_rules_use_dmpstat_names():
    """Every dmp_ metric the rules use is one that dmpstat --prometheus prints
    (for a device with its histograms on)."""
    t = hist_tree(new_root("rulenames"))
    rc, out, err = run(["--prometheus"], t.root)
    printed = set(re.findall(r"^(dmp_\w+?)(?:\{| )", out, re.M))
    exprs, lines = [], open(os.path.join(SRC, "dmp.rules.yml")).read().splitlines()
    for i, line in enumerate(lines):     # expr: X, or expr: >- and the lines indented below
        m = re.match(r"^(\s*)expr:\s*(.*)$", line)
        if not m:
            continue
        if m.group(2) not in (">-", ">", "|", "|-"):
            exprs.append(m.group(2))
            continue
        for cont in lines[i + 1:]:
            if len(cont) - len(cont.lstrip()) <= len(m.group(1)):
                break
            exprs.append(cont)
    used = set(re.findall(r"\b(dmp_\w+)", "\n".join(exprs)))
    check(used, "no dmp_ metric found in the rules")
    eq("metrics the rules use that dmpstat does not print", set(), used - printed)


@case
def human():
    t = Tree(new_root("human"))
    t.dev(0, "a", [2, 8192, 1, 3 * 1024 * 1024, 1, 5 * 1024 ** 3, 0, 0, 0])
    rc, out, err = run(["-h", "dm-0"], t.root)
    eq("rc", 0, rc)
    row = out.splitlines()[1].split()
    eq("human row", ["dm-0", "a", "2", "8.0k", "4.0k", "1", "3.0M", "3.0M", "1", "5.0G", "0", "0", "0"], row)


@case
def closed_pipe():
    t = basic_tree(new_root("pipe"))
    for args in (["0.01"], ["-j", "0.01"]):
        e = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        p = subprocess.Popen([BIN, "--root", t.root] + args, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=e)
        p.stdout.readline()
        p.stdout.close()
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            raise Fail("still running after its stdout closed")
        err = p.stderr.read().decode()
        eq("rc %s" % args, 0, rc)
        eq("stderr %s" % args, "", err)
    # and the shell way
    p = subprocess.run("'%s' --root '%s' 0.01 | head -n 2 >/dev/null; echo ${PIPESTATUS[0]}"
                       % (BIN, t.root), shell=True, executable="/bin/bash", capture_output=True,
                       text=True, timeout=20, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    eq("pipe status", ("0\n", ""), (p.stdout, p.stderr))


@case
def stopped_by_signal():
    """SIGTERM or SIGINT: the report being written is finished, then it dies of
    the signal; also while blocked writing into a full pipe (not read here
    until the signal was sent)."""
    import signal
    t = basic_tree(new_root("sig"))
    for sig in (signal.SIGTERM, signal.SIGINT):
        # bufsize=0: readline() takes exactly one line; a buffered reader
        # may take more, which communicate() (os.read on the fd) then loses,
        # cutting a report in two (seen on a busy host)
        p = subprocess.Popen([BIN, "--root", t.root, "-j", "0.01"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, bufsize=0,
                             env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        first = p.stdout.readline()     # the handlers are in place before it
        time.sleep(0.3)                 # not read: the pipe fills up
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
        out = first + out
        eq("status and stderr", (-sig, b""), (p.returncode, err))
        check(out.endswith(b"\n"), "last line cut")
        for line in out.decode().splitlines():
            json.loads(line)


@case
def write_error():
    """A full disk is an error (not a closed pipe): message, exit 1."""
    t = basic_tree(new_root("full"))
    with open("/dev/full", "w") as full:
        p = subprocess.run([BIN, "--root", t.root], stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=20)
    eq("rc", 1, p.returncode)
    eq("message", "dmpstat: write error: No space left on device\n", p.stderr)


@case
def real_sleep():
    """Without the test hook: two samples 0.2 s apart, measured interval."""
    t = basic_tree(new_root("sleep"))
    t0 = time.monotonic()
    rc, out, err = run(["-j", "0.2", "2"], t.root)
    el = time.monotonic() - t0
    eq("rc", 0, rc)
    docs = [json.loads(l) for l in out.splitlines()]
    check(0.19 <= docs[1]["interval"] <= 5, "interval %r" % docs[1]["interval"])  # a busy host
    check(el >= 0.19, "slept %.3f s" % el)
    eq("no change", [0] * 9, [docs[1]["devices"][0]["delta"][k] for k in COUNTERS])


def opts_of(text):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))


@case
def manpage_agrees_with_help():
    rc, help_out, err = run(["--help"])
    eq("--help rc", 0, rc)
    man = open(os.path.join(SRC, "dmpstat.8")).read().replace("\\-", "-")
    h, m = opts_of(help_out), opts_of(man)
    eq("long options in --help but not in dmpstat.8", set(), h - m)
    eq("long options in dmpstat.8 but not in --help", set(), m - h)
    comp = open(os.path.join(SRC, "dmpstat.bash-completion")).read()
    eq("long options missing from the bash completion", set(), h - opts_of(comp))
    short_h = set(re.findall(r"^\s+(-\w),", help_out, re.M))
    short_m = set(re.findall(r"^\.BR? (-\w)\b", man.replace('"', ''), re.M)) | \
        set(re.findall(r"^\.BR? (-\w) ", man, re.M))
    eq("short options in --help but not in dmpstat.8", set(), short_h - short_m)


@case_once
def completion_quotes_names():
    """Bash completion offers device names with spaces and shell characters
    as one word each, quoted, for what was typed raw or quoted."""
    t = Tree(new_root("complete"))
    t.all([0] * 9)
    for m, name in enumerate(["data vol", "data$x", "logs", "a'b"]):
        t.dev(m, name, [0] * 9, symlink=False)
    script = os.path.join(SRC, "dmpstat.bash-completion")

    def complete(*words):
        prog = ('. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
                '_dmpstat; printf "%s\\n" "${COMPREPLY[@]}"')
        p = subprocess.run(["bash", "-c", prog, "bash", script, "dmpstat"] + list(words),
                           env=dict(os.environ, DMPSTAT_ROOT=t.root),
                           capture_output=True, text=True)
        eq("completion exit status (%s)" % p.stderr, 0, p.returncode)
        return sorted(p.stdout.splitlines())

    eq("d", sorted(["data\\$x", "data\\ vol"]), complete("-j", "d"))
    eq("raw 'data v'", ["data\\ vol"], complete("data v"))
    eq("quoted 'data\\ v'", ["data\\ vol"], complete("data\\ v"))
    eq("empty word", sorted(["a\\'b", "all_devs", "data\\$x", "data\\ vol", "logs"]), complete(""))
    eq("--histograms", ["off", "on"], complete("--histograms", ""))


@case
def many_devices():
    """1000 and 4000 devices: one sample holds them all, right. (Its cost is
    measured by bench/dmpstat.sh, not here: a timed test fails on a busy host.)"""
    times = {}
    for n in (1000, 4000):
        t = Tree(new_root("many%d" % n))
        for m in range(n):
            t.disks.append((m, (m, m, m, m, m, m)))
            d = os.path.join(t.stat, "dm-%d" % m)
            os.makedirs(d)
            with open(os.path.join(d, "stat"), "w") as f:
                f.write("%d %d 0 0 0 0 0 0 0\n" % (m, 512 * m))
            with open(os.path.join(d, "name"), "w") as f:
                f.write("vol%d\n" % m)
            with open(os.path.join(d, "histograms"), "w") as f:
                f.write("state off\n")
        t.all([1] * 9)
        t.write_diskstats()
        best = 1e9
        for _ in range(5):      # CPU time (user + sys): the host may be busy
            p = subprocess.Popen([BIN, "--root", t.root, "-j"], stdout=subprocess.PIPE,
                                 env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
            out = p.stdout.read().decode()
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = rc = os.waitstatus_to_exitcode(status)
            best = min(best, ru.ru_utime + ru.ru_stime)
        eq("rc", 0, rc)
        doc = json.loads(out)
        eq("devices", n + 1, len(doc["devices"]))
        eq("dm-%d" % (n - 1), n - 1, doc["devices"][n - 1]["counters"]["reads"])
        times[n] = best
    sys.stderr.write("    (%s: 1000 devices %.3f s, 4000 devices %.3f s of CPU)\n"
                     % (os.path.basename(BIN), times[1000], times[4000]))


def main():
    global BIN, TMP, passed, failed
    bins = [os.path.abspath(b) for b in sys.argv[1:]] or [os.path.join(SRC, "dmpstat")]
    TMP = tempfile.mkdtemp(prefix="dmpstat-test.")
    os.chmod(TMP, 0o755)
    try:
        for b in bins:
            BIN = b
            for fn in CASES:
                if getattr(fn, "once", False) and b != bins[0]:
                    continue
                name = "%s %s" % (os.path.basename(b), fn.__name__)
                try:
                    fn()
                    passed += 1
                    print("ok   " + name)
                except Exception as ex:  # a failure of any kind fails the case
                    failed += 1
                    print("FAIL " + name + ": " + str(ex))
                sys.stdout.flush()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
