#!/usr/bin/python3
"""A small PE32+ EFI image (two sections, trailing data) for the direct-boot tests.

usage: make_pe.py OUT [--bzimage PAD]
--bzimage also makes it bzImage-shaped, as a Linux EFI-stub kernel is: setup_sects 1 at
0x1f1, "HdrS" at 0x202 (inside the headers' sector, as in a real bzImage), then PAD bytes
of patterned payload appended (trailing data, covered by the Authenticode digest).
"""
import struct
import sys

out = sys.argv[1]
img = bytearray((i * 37 + 11) & 0xff for i in range(0x400 + 0x180 + 0x28))
img[0:2] = b"MZ"; struct.pack_into("<I", img, 0x3c, 0x80); img[0x80:0x84] = b"PE\0\0"
struct.pack_into("<HH", img, 0x84, 0x8664, 2); struct.pack_into("<H", img, 0x94, 240)
opt = 0x98
struct.pack_into("<H", img, opt, 0x20b); struct.pack_into("<I", img, opt + 60, 0x200)
struct.pack_into("<H", img, opt + 68, 10); struct.pack_into("<I", img, opt + 108, 16)
struct.pack_into("<II", img, opt + 112 + 32, 0, 0); struct.pack_into("<I", img, opt + 64, 0)
for i, (name, size, off) in enumerate([(b".data", 0x180, 0x400), (b".text", 0x200, 0x200)]):
    h = bytearray(40); h[:len(name)] = name; struct.pack_into("<IIII", h, 8, size, off, size, off)
    img[opt + 240 + 40 * i:opt + 280 + 40 * i] = h
if len(sys.argv) > 3 and sys.argv[2] == "--bzimage":
    img[0x1f1] = 1
    img[0x202:0x206] = b"HdrS"
    img += bytes((i * 7 + (i >> 12)) & 0xff for i in range(int(sys.argv[3])))
open(out, "wb").write(img)
