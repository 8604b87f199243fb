#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""scripts/request-path.py KO...: check dmp's request path in machine code.

dmp_map() and dmp_end_io() run for every bio. They must take no lock and
make no write shared between CPUs, allocate nothing and print nothing
(HACKING.md). With histograms on, they call dmp_hist_map() and
dmp_hist_end() (behind the test of a bit of the ti->private they load),
which are held to the same rules but may also read the clock and enter an
RCU read-side section. This reads their x86-64 code with objdump and refuses:
  - an atomic read-modify-write: a lock prefix, xchg with memory,
    cmpxchg, xadd;
  - a call or jump to anything but __fentry__ (ftrace), the return thunk,
    bio_associate_blkg (bio_set_dev(), as in linear), the function itself,
    and: from dmp_map only dmp_hist_map, from dmp_end_io only dmp_end_slow
    (a failed bio, or histograms on; itself checked: it may call only
    dmp_hist_end);
    from those two only ktime_get (ktime_get_ns()), dm_per_bio_data (an
    address computed by dm core), the scheduler when preempt_enable() at the
    end of their RCU-sched section finds a reschedule pending
    (__SCT__preempt_schedule, preempt_schedule_thunk on 5.10), and
    __ubsan_handle_out_of_bounds (kernels built with UBSAN_BOUNDS, 7.x: the
    report of an index out of its array, which the clamped buckets never are):
    kmalloc, printk, spin_lock, another helper... all are calls;
  - an indirect call or jump (its target is unknown);
  - a write to module or kernel data addressed through %rip (a global).
Per-CPU writes (%gs:) and writes through pointers (the bio) pass: their
sharing cannot be seen here; the per-CPU layout is what makes them private.
Prints one line per module and function; exits 1 if any is refused.
--self-test: the rules against hand-made instructions.
"""
import re
import subprocess
import sys

FUNCS = ("dmp_map", "dmp_end_io", "dmp_end_slow", "dmp_hist_map", "dmp_hist_end")
ALLOWED = {"__fentry__", "__x86_return_thunk", "bio_associate_blkg"}
HIST = {"ktime_get", "ktime_get_ns", "dm_per_bio_data", "__SCT__preempt_schedule",
        "preempt_schedule_thunk", "preempt_schedule", "__ubsan_handle_out_of_bounds"}
ALLOWED_IN = {
    "dmp_map": ALLOWED | {"dmp_hist_map"},
    "dmp_end_io": ALLOWED | {"dmp_end_slow"},
    "dmp_end_slow": ALLOWED | {"dmp_hist_end"},
    "dmp_hist_map": ALLOWED | HIST,
    "dmp_hist_end": ALLOWED | HIST,
}
ATOMIC = re.compile(r"^(lock\b|cmpxchg|xadd)")
NOWRITE = ("cmp", "test", "push", "lea", "bt ", "nop", "prefetch")


def functions(ko):
    """{name: [(insn, [reloc targets])]} for the functions in FUNCS"""
    out = subprocess.run(["objdump", "-dr", "--no-show-raw-insn", ko],
                         check=True, capture_output=True, text=True).stdout
    funcs, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if m:
            cur = funcs.setdefault(m.group(1), []) if m.group(1) in FUNCS else None
            continue
        if cur is None:
            continue
        m = re.match(r"^\s+[0-9a-f]+:\s+R_X86_64_\w+\s+(\S+?)(?:[-+]0x[0-9a-f]+)?$", line)
        if m and cur:
            cur[-1][1].append(m.group(1))
            continue
        m = re.match(r"^\s+[0-9a-f]+:\s+(.*\S)\s*$", line)
        if m:
            cur.append((re.sub(r"\s+", " ", m.group(1)), []))
    return funcs


def writes_global(insn):
    """a write to memory addressed through %rip (its last operand, AT&T)"""
    if "%gs:" in insn or insn.startswith(NOWRITE):
        return False
    if re.match(r"^(inc|dec|not|neg)\w* ", insn):
        return "(%rip)" in insn
    return "," in insn and "(%rip)" in insn.rsplit(",", 1)[-1]


def problems(func, insns):
    for insn, relocs in insns:
        op = insn.split(" ", 1)[0]
        branch = op.startswith(("call", "j"))
        target = re.search(r"<([^+>]+)", insn) if branch else None
        if ATOMIC.match(insn) or (op.startswith("xchg") and "(" in insn):
            yield f"atomic: {insn}"
        elif branch and "*" in insn:
            yield f"indirect: {insn}"
        elif branch and relocs:
            for r in relocs:
                if r not in ALLOWED_IN.get(func, ALLOWED):
                    yield f"calls {r}: {insn}"
        elif target and target.group(1) in ALLOWED_IN.get(func, ()):
            pass  # a call or tail call to a checked helper of this module
        elif op.startswith("call"):
            yield f"calls a local function: {insn}"
        elif target and target.group(1) != func:
            yield f"jumps into {target.group(1)}: {insn}"
        elif writes_global(insn):
            yield f"writes a global: {insn}"


def self_test():
    """the rules against hand-made instructions; 0 if each is judged right"""
    cases = [
        ("incq %gs:0x100(%rax)", [], True),
        ("add %rdx,%gs:0x8(%rax)", [], True),
        ("add %rax,0x20(%rbx)", [], True),
        ("mov 0x0(%rip),%rax", ["dmp_thing"], True),
        ("cmpb $0x0,0x0(%rip)", ["dmp_thing"], True),
        ("xchg %ax,%ax", [], True),
        ("call 291 <dmp_map+0x41>", ["bio_associate_blkg"], True),
        ("jmp 231 <dmp_end_io+0x11>", ["__x86_return_thunk"], True),
        ("jmp 2b7 <dmp_map+0x67>", [], True),
        ("jne 231 <dmp_map+0x11>", [], True),
        ("lock incq (%rax)", [], False),
        ("lock add %rcx,(%rax)", [], False),
        ("xchg %rax,(%rdx)", [], False),
        ("call 2cc <dmp_map+0x7c>", ["_raw_spin_lock"], False),
        ("call 2cc <dmp_map+0x7c>", ["__kmalloc"], False),
        ("jmp 2cc <dmp_map+0x7c>", ["_printk"], False),
        ("call 2cc <dmp_helper>", [], False),
        ("jmp 2cc <dmp_helper>", [], False),
        ("je 2cc <dmp_helper+0x4>", [], False),
        ("call *%rax", [], False),
        ("incq 0x0(%rip)", ["dmp_total"], False),
        ("mov %rax,0x0(%rip)", ["dmp_total"], False),
        ("call 2cc <dmp_map+0x7c>", ["dmp_hist_map"], True),
        ("call 2cc <dmp_map+0x7c>", ["dmp_hist_end"], False),
        ("call 2cc <dmp_map+0x7c>", ["ktime_get_ns"], False),
        ("call 2cc <dmp_hist_map+0x7c>", ["ktime_get_ns"], True, "dmp_hist_map"),
        ("call 2cc <dmp_hist_end+0x7c>", ["__SCT__preempt_schedule"], True, "dmp_hist_end"),
        ("call 2cc <dmp_hist_end+0x7c>", ["__rcu_read_unlock"], False, "dmp_hist_end"),
        ("call 2cc <dmp_hist_map+0x7c>", ["_raw_spin_lock"], False, "dmp_hist_map"),
        ("lock incq (%rax)", [], False, "dmp_hist_end"),
        ("call 2cc <dmp_hist_end+0x7c>", ["dmp_hist_map"], False, "dmp_hist_end"),
        ("jmp 2cc <dmp_end_slow>", [], True, "dmp_end_io"),
        ("call 2cc <dmp_end_slow>", [], False, "dmp_map"),
        ("call 2cc <dmp_helper>", [], False, "dmp_end_slow"),
        ("call 2cc <dmp_end_slow+0x4>", ["dmp_hist_end"], True, "dmp_end_slow"),
        ("call 2cc <dmp_end_io+0x4>", ["dmp_hist_end"], False, "dmp_end_io"),
    ]
    bad = 0
    for insn, relocs, ok, *func in cases:
        got = not list(problems(func[0] if func else "dmp_map", [(insn, relocs)]))
        if got != ok:
            bad += 1
            print(f"self-test: {insn} {relocs}: {'accepted' if got else 'refused'}, should not be")
    print(f"self-test: {len(cases) - bad} of {len(cases)} instructions judged right")
    return 1 if bad else 0


def main(kos):
    bad = 0
    for ko in kos:
        funcs = functions(ko)
        for f in FUNCS:
            insns = funcs.get(f)
            if not insns:
                print(f"{ko}: {f}: REFUSED: not found")
                bad += 1
                continue
            p = list(problems(f, insns))
            if p:
                bad += 1
                print(f"{ko}: {f}: REFUSED ({len(insns)} instructions)")
                for x in p:
                    print(f"    {x}")
            else:
                print(f"{ko}: {f}: ok ({len(insns)} instructions, calls: "
                      f"{', '.join(sorted({r for _, rs in insns for r in rs} & ALLOWED_IN[f])) or 'none'})")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    sys.exit(main(sys.argv[1:]))
