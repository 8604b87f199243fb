#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""lint-pipes.py - find pipelines that can die of SIGPIPE at random.

Under `set -o pipefail` a pipeline fails with its writer's status.  When the
reader may stop before the writer has written everything (`head`, `grep -q`,
`grep -m`, `grep ... >/dev/null` (GNU grep then stops at the first match),
`sed ...q`, `awk '... exit ...'`, `read`), the writer gets SIGPIPE or EPIPE
(status 141 or 1) whenever it writes after the reader left: at random, more
often on a busy host.  shellcheck does not see this.

    lint-pipes.py [--self-test] [FILE...]

Without FILE, every shell script of the tree (scripts/, bench/, tests/, .ci/)
is checked.  A script counts as running under pipefail when it turns it on
itself or sources tests/lib.sh, which does.  A pipeline that is safe for a
reason the linter cannot see carries the comment `# pipe-ok: REASON` on its
first line or the line before.  Exit status: 0 clean, 1 findings, 2 usage.
"""

import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIRS = ("scripts", "bench", "tests", ".ci")


def is_shell(path):
    if path.endswith((".sh", ".bash")):
        return True
    try:
        with open(path, "rb") as f:
            first = f.readline(200)
    except OSError:
        return False
    return first.startswith(b"#!") and re.search(rb"\b(ba)?sh\b", first) is not None


def tree_files():
    for d in DIRS:
        for root, dirs, files in os.walk(os.path.join(TOP, d)):
            dirs[:] = [x for x in dirs if not x.startswith("__")]
            for n in sorted(files):
                p = os.path.join(root, n)
                if os.path.isfile(p) and is_shell(p):
                    yield p


def strip_heredocs(lines):
    """Blank the bodies of here-documents (they are data, or scripts for
    another shell); keep line numbers."""
    out, end = [], None
    for line in lines:
        if end is not None:
            out.append("")
            if line.lstrip("\t") == end:
                end = None
            continue
        out.append(line)
        m = re.search(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1", line)
        if m and "<<<" not in line[m.start():m.start() + 3]:
            end = m.group(2)
    return out


def logical_commands(lines):
    """Yield (first line number, text) of each command, continuation lines
    (ending in | || && or \\) joined; comments removed outside quotes."""
    buf, start = "", None
    for no, line in enumerate(lines, 1):
        code = strip_comment(line)
        if start is None:
            start = no
        buf += " " + code
        s = code.rstrip()
        if s.endswith("\\"):
            buf = buf.rstrip()[:-1]
            continue
        if s.endswith(("|", "&&")) or quotes_open(buf):
            continue
        yield start, buf
        buf, start = "", None
    if buf.strip():
        yield start, buf


def scan(text):
    """Yield (index, char, is_code) for TEXT: is_code is False inside quotes,
    True in the shell code around them and inside $(...) nested in double
    quotes.  The last value yielded tells whether quotes are still open."""
    stack = [["code", 0]]  # frames: kind, open parens (code frames)
    i = 0
    while i < len(text):
        c = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        kind = stack[-1][0]
        if kind == "code":
            if c == "\\":
                yield i, c, True
                yield i + 1, nxt, True
                i += 2
                continue
            if c == "'":
                stack.append(["sq", 0])
            elif c == '"':
                stack.append(["dq", 0])
            elif c == "(":
                stack[-1][1] += 1
            elif c == ")":
                if stack[-1][1] == 0 and len(stack) > 1:
                    stack.pop()
                else:
                    stack[-1][1] = max(0, stack[-1][1] - 1)
            yield i, c, True
        elif kind == "sq":
            if c == "'":
                stack.pop()
            yield i, c, False
        else:
            if c == "\\":
                yield i, c, False
                yield i + 1, nxt, False
                i += 2
                continue
            if c == '"':
                stack.pop()
                yield i, c, False
            elif c == "$" and nxt == "(":
                yield i, c, False
                stack.append(["code", 0])
                yield i + 1, "(", True
                i += 2
                continue
            else:
                yield i, c, False
        i += 1
    yield len(text), "", len(stack) == 1 or stack[-1][0] == "code"


def quotes_open(text):
    last = None
    for last in scan(text):
        pass
    return not last[2]


def strip_comment(line):
    for i, c, code in scan(line):
        if c == "#" and code and (i == 0 or line[i - 1] in " \t;|&("):
            return line[:i]
    return line


def stages(text):
    """Split TEXT at single '|' (not '||') outside quotes; a stage ends at
    ; && || ( ) too.  Yield (stage text, follows a pipe)."""
    cur, piped = "", False
    skip = 0
    for i, c, code in scan(text):
        if skip:
            skip -= 1
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if code and c == "|":
            yield cur, piped
            if nxt == "|":
                cur, piped, skip = "", False, 1
            else:
                cur, piped, skip = "", True, 1 if nxt == "&" else 0
            continue
        if code and (c == "&" and nxt == "&" or c in ";()`"):
            yield cur, piped
            cur, piped, skip = "", False, 1 if c == "&" else 0
            continue
        cur += c
    yield cur, piped


def words(stage):
    return re.findall(r"'[^']*'|\"(?:\\.|[^\"\\])*\"|\S+", stage)


def early_reader(stage):
    """The reason STAGE may stop reading before its input ends, or None."""
    w = words(stage)
    while w and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w[0]):
        w = w[1:]
    while w and w[0] in ("!", "command", "exec", "env", "LC_ALL=C"):
        w = w[1:]
    if not w:
        return None
    cmd = os.path.basename(w[0])
    args = w[1:]
    if cmd == "head":
        return "head stops after its lines"
    if cmd == "read":
        return "read takes one line"
    if cmd in ("grep", "egrep", "fgrep"):
        for a in args:
            if a.startswith("--"):
                if a in ("--quiet", "--silent", "--files-with-matches",
                         "--files-without-match") or a.startswith("--max-count"):
                    return "grep %s stops at a match" % a
            elif a.startswith("-") and not a.startswith("-e"):
                flags = a[1:]
                if re.search(r"[qlLm]", flags.split("e")[0]):
                    return "grep %s stops at a match" % a
        if re.search(r">\s*/dev/null", stage) and not re.search(r"2>\s*/dev/null", stage.replace(">/dev/null 2>", "")):
            return "grep >/dev/null stops at the first match (GNU grep)"
        if re.search(r"(^|\s)>\s*/dev/null", stage):
            return "grep >/dev/null stops at the first match (GNU grep)"
        return None
    if cmd == "sed":
        for a in args:
            if a[:1] in "'\"":
                body = a[1:-1]
                if re.search(r"(^|[;{}\s/0-9$])[qQ]([;}\s0-9]|$)", body):
                    return "sed q stops reading"
        return None
    if cmd in ("awk", "gawk", "mawk", "nawk"):
        for a in args:
            if a[:1] in "'\"" and re.search(r"\bexit\b", a):
                return "awk exit stops reading"
        return None
    return None


def sets_pipefail(text):
    if re.search(r"^\s*set\s+(-[a-zA-Z]*o\s+pipefail|.*\bpipefail\b)", text, re.M):
        return True
    return re.search(r"^\s*\.\s+\S*tests/lib\.sh", text, re.M) is not None


def check_file(path, force_pipefail=False):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if not (force_pipefail or sets_pipefail(text)):
        return []
    raw = text.split("\n")
    lines = strip_heredocs(raw)
    found = []
    for start, cmd in logical_commands(lines):
        st = list(stages(cmd))
        for i, (stage, piped) in enumerate(st):
            if not piped:
                continue
            why = early_reader(stage)
            if not why:
                continue
            near = raw[start - 1] + (raw[start - 2] if start >= 2 else "")
            if "pipe-ok" in near:
                continue
            found.append((start, why, " ".join(cmd.split())[:160]))
    return found


SELF_TEST = [
    # (script, findings expected)
    ("set -o pipefail\nx=$(a | head -n1)\n", 1),
    ("set -euo pipefail\nv=$(apt-cache policy p |\n\tawk '$1 == \"C:\" { print $2; exit }')\n", 1),
    ("set -euo pipefail\nlsmod | grep -q '^dmp '\n", 1),
    ("set -euo pipefail\nlsmod | grep -c dmp >/dev/null\n", 1),
    ("set -euo pipefail\nlsmod | grep -m1 dmp\n", 1),
    ("set -euo pipefail\nps | sed -n '1p;q'\n", 1),
    ("set -euo pipefail\ncat f | while read -r l; do :; done\n", 0),
    ("set -euo pipefail\nprintf x | read -r y\n", 1),
    (". \"$SRCDIR/tests/lib.sh\"\nyes | head -n 3\n", 1),
    ("set -euo pipefail\n# pipe-ok: yes is meant to die\nyes | head -n 3\n", 0),
    ("set -euo pipefail\nx=$(a || head -n1 f)\n", 0),
    ("set -euo pipefail\nawk '{ exit }' f\n", 0),
    ("set -euo pipefail\nx=$(a | sed -n 1p)\n", 0),
    ("set -euo pipefail\nx=$(a | grep -v y | sort)\n", 0),
    ("set -euo pipefail\nx=$(a | awk '{ print $1 }')\n", 0),
    ("set -euo pipefail\necho 'a | head' | tr a b\n", 0),
    ("set -euo pipefail\ncat <<EOF\na | head -n1\nEOF\nb | head -n2\n", 1),
    ("x=$(a | head -n1)\n", 0),  # no pipefail: the reader's status
    ("set -euo pipefail\ngrep -q x <<<\"$(lsmod)\"\n", 0),
    ("set -euo pipefail\nf \"$(yes dmp | head -n 3 | paste -sd ' ')\"\n", 1),
    ("set -euo pipefail\nx=\"a $(b \"$(c | grep -q d)\")\"\n", 1),
    ("set -euo pipefail\nx=\"a | head # b\"\n", 0),
]


def self_test():
    import tempfile
    bad = 0
    for n, (src, want) in enumerate(SELF_TEST):
        with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
            f.write(src)
        got = len(check_file(f.name))
        os.unlink(f.name)
        if got != want:
            bad += 1
            print("lint-pipes self-test %d: %d findings, want %d:\n%s" % (n, got, want, src))
    print("lint-pipes self-test: %d passed, %d failed" % (len(SELF_TEST) - bad, bad))
    return 1 if bad else 0


def main(argv):
    if argv[:1] == ["--self-test"]:
        return self_test()
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    files = argv or list(tree_files())
    total = 0
    for p in files:
        for no, why, cmd in check_file(p):
            total += 1
            print("%s:%d: %s: %s" % (os.path.relpath(p, TOP), no, why, cmd))
    if total:
        print("lint-pipes: %d pipeline(s) can fail at random under pipefail "
              "(read the whole output, or mark '# pipe-ok: REASON')" % total)
        return 1
    print("lint-pipes: %d shell scripts, no early-exit reader under pipefail" % len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
