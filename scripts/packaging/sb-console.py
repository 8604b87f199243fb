#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""sb-console.py - the serial console of the Secure Boot test guest
(scripts/packaging/secureboot.sh), as a user at the keyboard.

Connects to QEMU's first serial port (a unix socket, `-chardev socket,...,
server=on,wait=on`), logs everything it receives (--log, raw) and, when shim's
MokManager comes up after `mokutil --import`, enrols the pending key as a user
does: a key at "Press any key to perform MOK management", then "Enroll MOK",
"Continue", "Yes", the one-time password, "Reboot". Menus are driven with the
terminal's arrow keys (ESC [ B) and Enter (CR); every step waits for its
screen text with a timeout, and every screen is written, as text, to
--screens. Timestamps of the guest's milestones (lines "dmp-sb: stage X",
"dmp-sb: DONE X", MokManager) go to --events as "<seconds> <event>".

Returns when QEMU closes the socket (the guest powered off) or after
--timeout seconds; exit status 0 when the enrolment dialog completed once,
1 when it failed (or MokManager came back), 2 on timeout, 3 when MokManager
never showed up.
"""

import argparse
import codecs
import re
import select
import socket
import sys
import time

ESC_SEQ = re.compile(rb"\x1b\[[0-9;?=]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]")
CURSOR_POS = re.compile(rb"\x1b\[[0-9]+;[0-9]+[Hf]")
DOWN = b"\x1b[B"
ENTER = b"\r"


# OVMF's terminal draws MokManager's boxes with code page 437's box
# characters (bytes 0xB3, 0xC4, ...), which are not UTF-8 (the kernel's and
# systemd's output is): firmware screens are decoded as cp437.
codecs.register_error("cp437", lambda e: (bytes(e.object[e.start:e.end]).decode("cp437"), e.end))


def screen_text(raw, firmware=False):
    """What a reader of the terminal sees, roughly: cursor positioning
    becomes a line break, other escape sequences and control characters go,
    runs of blank lines collapse."""
    raw = CURSOR_POS.sub(b"\n", raw)
    raw = ESC_SEQ.sub(b"", raw)
    text = raw.decode("cp437") if firmware else raw.decode("utf-8", "cp437")
    text = "".join(c if c in "\n\t" or c.isprintable() else " " for c in text)
    lines = [l.rstrip() for l in text.split("\n")]
    out = []
    for l in lines:
        if l.strip() or (out and out[-1].strip()):
            out.append(l)
    return "\n".join(out).strip("\n")


def squash(s):
    return re.sub(r"\s+", "", s)


class Console:
    def __init__(self, path, log, screens, events, deadline):
        self.sock = None
        self.path = path
        self.log = open(log, "ab")
        self.screens = open(screens, "a")
        self.events = open(events, "a")
        self.deadline = deadline
        self.t0 = time.time()
        self.buf = b""       # everything since the last key we sent
        self.line = b""      # the current console line (milestones)
        self.eof = False

    def connect(self):
        while time.time() < self.deadline:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.path)
                self.sock = s
                self.event("connected")
                return True
            except OSError:
                time.sleep(0.2)
        return False

    def event(self, what):
        self.events.write("%d %s\n" % (time.time() - self.t0, what))
        self.events.flush()
        print("    console +%ds: %s" % (time.time() - self.t0, what), file=sys.stderr, flush=True)

    def pump(self, timeout):
        """Read what arrives within timeout seconds; False at EOF."""
        if self.eof:
            return False
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            return True
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.eof = True
            self.event("console closed (QEMU exited)")
            return False
        self.log.write(data)
        self.log.flush()
        self.buf += data
        if len(self.buf) > 1 << 20:
            self.buf = self.buf[-(1 << 19):]
        self.line += data
        while b"\n" in self.line:
            l, self.line = self.line.split(b"\n", 1)
            t = screen_text(l)
            m = re.search(r"dmp-sb: (stage [A-Z]|DONE [A-Z])", t)
            if m:
                self.event(m.group(1))
            elif "Kernel panic" in t:
                self.event("kernel panic: " + t.strip())
        return True

    def wait_for(self, texts, timeout, quiet=1.5, blind=None):
        """Wait until one of texts is on the screen (since the last key),
        then until the output has been quiet for `quiet` seconds (the screen
        is drawn). Returns the text found, or None. With `blind` seconds:
        when the screen changed after the last key and then stayed quiet
        that long, return "(quiet)" although the text was not seen (a
        safety net: see drain() for how a screen's text was once lost)."""
        end = min(time.time() + timeout, self.deadline)
        found = None
        checked = 0.0
        last_data = time.time()
        while time.time() < end and found is None:
            n = len(self.buf)
            if not self.pump(0.5):
                return None
            if len(self.buf) != n:
                last_data = time.time()
            elif blind and self.buf and time.time() - last_data >= blind:
                self.event("screen text %r not seen; the screen changed and has been "
                           "quiet for %ds: going on" % (texts, blind))
                return "(quiet)"
            if time.time() - checked < 0.3:
                continue
            checked = time.time()
            # the screen's tail is enough (the kernel's log can be long)
            s = squash(screen_text(self.buf[-65536:]))
            for t in texts:
                if squash(t) in s:
                    found = t
                    break
        if found is None:
            return None
        last = time.time()
        while time.time() - last < quiet and time.time() < end:
            n = len(self.buf)
            if not self.pump(0.2):
                break
            if len(self.buf) != n:
                last = time.time()
        return found

    def shot(self, title):
        self.screens.write("===== %s (+%ds) =====\n%s\n\n" % (
            title, time.time() - self.t0, screen_text(self.buf[-16384:], firmware=True)))
        self.screens.flush()

    def drain(self, secs):
        """Keep reading for secs seconds. Never stop reading: QEMU writes
        the serial port to the socket a byte at a time, a unix socket holds
        only a few hundred such writes, and QEMU's 16550 drops what it
        cannot write (seen: MokManager's screens arrived without their
        text while the driver slept between two keys)."""
        end = time.time() + secs
        while time.time() < end:
            if not self.pump(end - time.time()):
                return

    def send(self, keys, what):
        self.shot("screen before: " + what)
        self.event("send: " + what)
        self.buf = b""
        for k in keys:
            self.sock.sendall(k)
            self.drain(0.3)


def enrol(con, password, step_timeout, blind):
    """The MokManager dialog, from its first screen. True when done."""
    steps = [
        # (screen text to wait for, keys, what)
        (["Perform MOK management"], [DOWN, ENTER], "main menu: down to 'Enroll MOK', Enter"),
        (["View key 0"], [DOWN, ENTER], "[Enroll MOK]: down to 'Continue', Enter"),
        (["Enroll the key(s)?"], [DOWN, ENTER], "'Enroll the key(s)?': down to 'Yes', Enter"),
        (["Password:", "assword"], [c.encode() for c in password] + [ENTER], "password, Enter"),
        # the main menu again, "Reboot" first (or a notice to confirm)
        (["Reboot", "must now be rebooted"], [ENTER], "'Reboot', Enter"),
    ]
    for texts, keys, what in steps:
        if con.wait_for(texts, step_timeout, blind=blind) is None:
            con.shot("TIMEOUT waiting for %r" % texts)
            con.event("FAILED: no %r within %ds" % (texts, step_timeout))
            return False
        con.send(keys, what)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--screens", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--timeout", type=float, default=7200)
    ap.add_argument("--step-timeout", type=float, default=300)
    ap.add_argument("--blind", type=float, default=30,
                    help="go on after this many quiet seconds when a screen's text was lost")
    a = ap.parse_args()
    deadline = time.time() + a.timeout
    con = Console(a.socket, a.log, a.screens, a.events, deadline)
    if not con.connect():
        print("sb-console: cannot connect to %s" % a.socket, file=sys.stderr)
        return 2
    rc = 0
    enrolled = False
    while time.time() < deadline:
        found = con.wait_for(["Press any key to perform MOK management",
                              "perform MOK management"],
                             deadline - time.time(), quiet=0)
        if found is None:
            break
        con.event("MokManager: 'Press any key to perform MOK management'")
        if enrolled:
            # a second request would mean the first did not take: do
            # nothing, let the countdown run out
            con.shot("MokManager again (not touched)")
            con.buf = b""
            rc = 1
            continue
        con.send([ENTER], "a key (Enter) at the countdown")
        if enrol(con, a.password, a.step_timeout, a.blind):
            con.event("MokManager: enrolment dialog done")
            enrolled = True
        else:
            rc = 1
    if not con.eof:
        con.event("timeout after %ds" % a.timeout)
        return 2
    if not enrolled and rc == 0:
        con.event("MokManager never showed up")
        return 3
    return rc


if __name__ == "__main__":
    sys.exit(main())
