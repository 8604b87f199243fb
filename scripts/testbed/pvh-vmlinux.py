#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""pvh-vmlinux.py BZIMAGE OUT: extract the ELF vmlinux from a compressed
kernel image, if it can be booted directly (PVH entry point).

QEMU boots such an ELF with -kernel without running the kernel's own
decompressor, which under TCG saves seconds per boot (an xz-compressed Debian
kernel takes ~4 s to decompress itself). Exit status 0 and OUT written when
the image holds an ELF with a Xen PHYS32_ENTRY note; 1 otherwise (vmrun.sh
then boots the bzImage as it is).
"""
import os
import struct
import subprocess
import sys

MAGICS = [  # (magic, decompressor) as in the kernel's scripts/extract-vmlinux
    (b"\xfd7zXZ\x00", ["xz", "-dcq"]),
    (b"\x28\xb5\x2f\xfd", ["zstd", "-dcq"]),
    (b"\x1f\x8b\x08", ["gzip", "-dcq"]),
    (b"\x02\x21\x4c\x18", ["lz4", "-dcq"]),
]
XEN_ELFNOTE_PHYS32_ENTRY = 18


def has_pvh_note(elf):
    if elf[:4] != b"\x7fELF" or elf[4] != 2:  # 64-bit only
        return False
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", elf, phoff + i * phentsize)
        if p_type != 4:  # PT_NOTE
            continue
        pos, end = p_offset, p_offset + p_filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                return True
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False


def main():
    src, out = sys.argv[1], sys.argv[2]
    data = open(src, "rb").read()
    for magic, cmd in MAGICS:
        off = data.find(magic)
        while off >= 0:
            try:
                res = subprocess.run(cmd, input=data[off:], capture_output=True)
            except FileNotFoundError:
                break
            # trailing data after the stream makes the tools complain: ignore
            if res.stdout[:4] == b"\x7fELF":
                if not has_pvh_note(res.stdout):
                    return 1
                tmp = "%s.tmp.%d" % (out, os.getpid())
                with open(tmp, "wb") as f:
                    f.write(res.stdout)
                os.rename(tmp, out)
                return 0
            off = data.find(magic, off + 1)
    return 1


if __name__ == "__main__":
    sys.exit(main())
