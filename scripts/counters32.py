#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""scripts/counters32.py KO...: dmp's counting on 32-bit x86, in machine code.

On i386 a u64 add is two instructions, add to the low word and adc to the
high one; this_cpu_add() of a u64 does them with interrupts off (pushf;
cli ... sti), which keeps the CPU's own interrupts out but not a reader on
another CPU: it can see the low word wrapped and the high word not carried.
dmp therefore counts inside a u64_stats_sync, a per-CPU seqcount that the
writer increments before and after the adds and readers check (dmp.h).

For the functions that count on the request path of an i386 dmp.ko
(dmp_map(); dmp_end_slow(), which dmp_end_io() calls for a failed bio;
dmp_hist_map() and dmp_hist_end(), which they call with histograms on),
this checks that:
  - the function counts: it has a section with interrupts off (cli up to
    the next sti, or popf: local_irq_restore() of 5.10) that adds with
    carry (adc) to memory;
  - in every such section, every adc to memory lies between two increments
    (addl $0x1 / incl) of one and the same memory word, the seqcount.
An adc outside such a section is not a per-CPU counter (bio_set_dev()'s
64-bit sector arithmetic on the bio, for one) and is not looked at.
Prints one line per module and function; exits 1 if any is refused.
--self-test: the rules against hand-made instructions.
"""
import re
import subprocess
import sys

FUNCS = ("dmp_map", "dmp_end_slow", "dmp_hist_map", "dmp_hist_end")
INC = re.compile(r"^(?:addl?\s+\$0x1,|incl?\s+)(\S*\(.*\))$")
ADC = re.compile(r"^adcl?\s+\S+,(\S*\(.*\))$")


def functions(ko):
    """{name: [insn]} for the functions in FUNCS"""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", ko],
                         check=True, capture_output=True, text=True).stdout
    funcs, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if m:
            cur = funcs.setdefault(m.group(1), []) if m.group(1) in FUNCS else None
            continue
        m = re.match(r"^\s*[0-9a-f]+:\s+(.*)$", line)
        if cur is not None and m:
            cur.append(re.sub(r"\s+", " ", m.group(1).split("#")[0].strip()))
    return funcs


def sections(insns):
    """the instruction lists from each cli to the next sti or popf"""
    out, cur = [], None
    for i in insns:
        if i == "cli":
            cur = []
        elif i in ("sti", "popf", "popfl") and cur is not None:
            out.append(cur)
            cur = None
        elif cur is not None:
            cur.append(i)
    return out


def check(insns):
    """None if the counting is torn-read safe, else the reason"""
    counted = False
    for sec in sections(insns):
        adcs = [k for k, i in enumerate(sec) if ADC.match(i)]
        if not adcs:
            continue
        counted = True
        incs = {}
        for k, i in enumerate(sec):
            m = INC.match(i)
            if m:
                incs.setdefault(m.group(1), []).append(k)
        if not any(len(ks) >= 2 and ks[0] < adcs[0] and adcs[-1] < ks[-1]
                   for ks in incs.values()):
            return "64-bit adds with interrupts off but outside a seqcount: " + \
                "; ".join(sec[k] for k in adcs)
    if not counted:
        return "no 64-bit add to memory with interrupts off: nothing counted?"
    return None


def self_test():
    good = ["pushf", "pop %edx", "cli", "add %fs:0x0,%eax",
            "addl $0x1,0x108(%eax)", "addl $0x1,0x100(%eax)",
            "adcl $0x0,0x104(%eax)", "addl $0x1,0x108(%eax)",
            "and $0x2,%dh", "je 260", "sti"]
    cases = [
        ("u64_stats_sync", good, True),
        ("this_cpu_add", ["pushf", "pop %edx", "cli", "add %fs:0x0,%eax",
                          "addl $0x1,(%eax)", "adcl $0x0,0x4(%eax)", "sti"], False),
        ("seqcount ends before the adc", good[:6] + [good[7], good[6]] + good[8:], False),
        ("two different words", good[:7] + ["addl $0x1,0x10c(%eax)"] + good[8:], False),
        ("nothing counted", ["mov %eax,%edx", "ret"], False),
        ("adc on the bio, outside cli", ["add %ecx,0x18(%ebx)", "adc %edi,0x1c(%ebx)"]
         + good, True),
        ("restored by popf (5.10)", good[:-3] + ["push %edx", "popf"], True),
        ("this_cpu_add, popf", ["pushf", "pop %edx", "cli", "addl $0x1,(%eax)",
                                "adcl $0x0,0x4(%eax)", "push %edx", "popf"], False),
        ("incl as seqcount", [("incl 0x108(%eax)" if i.startswith("addl $0x1,0x108") else i)
                              for i in good], True),
    ]
    bad = 0
    for name, insns, ok in cases:
        got = check(insns) is None
        if got != ok:
            print("self-test: %s: %s, should be %s" % (name, got, ok))
            bad += 1
    print("counters32 self-test: %d rules checked, %d wrong" % (len(cases), bad))
    return 1 if bad else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    refused = 0
    for ko in argv[1:]:
        funcs = functions(ko)
        for f in FUNCS:
            why = check(funcs[f]) if f in funcs else "no function " + f
            print("%s %s %s%s" % ("OK" if why is None else "REFUSED", ko, f,
                                  "" if why is None else ": " + why))
            refused += why is not None
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
