#!/usr/bin/python3
"""Independent re-computation of the TDX direct-boot RTMR1/RTMR2 events, written from
the edk2 and Linux rules as docs/measurement.md states them (not from Vigil's C code),
compared with `vigil measure tdx --json` output.

usage: tdx_boot_model.py MEASURE_JSON KERNEL [INITRD] [--cmdline S] [--edk2 YYYYMM]
Prints one line per mismatch and exits 1 on any; prints "model ok" otherwise.
"""
import hashlib
import json
import struct
import sys


def authenticode(img, alg="sha384"):
    """PE/COFF spec 'Calculating the PE Image Hash', as edk2 MeasurePeImageAndExtend."""
    h = hashlib.new(alg)
    pe = struct.unpack_from("<I", img, 0x3C)[0] if img[:2] == b"MZ" else 0
    assert img[pe:pe + 4] == b"PE\0\0"
    nsec, = struct.unpack_from("<H", img, pe + 6)
    optsize, = struct.unpack_from("<H", img, pe + 20)
    opt = pe + 24
    magic, = struct.unpack_from("<H", img, opt)
    ddir = opt + (112 if magic == 0x20B else 96)
    ndirs, = struct.unpack_from("<I", img, ddir - 4)
    soh, = struct.unpack_from("<I", img, opt + 60)
    cksum = opt + 64
    sec = ddir + 4 * 8
    h.update(img[:cksum])
    if ndirs > 4:
        h.update(img[cksum + 4:sec])
        h.update(img[sec + 8:soh])
        cert_size, = struct.unpack_from("<I", img, sec + 4)
    else:
        h.update(img[cksum + 4:soh])
        cert_size = 0
    sections = []
    for i in range(nsec):
        size, ptr = struct.unpack_from("<II", img, opt + optsize + 40 * i + 16)
        if size:
            sections.append((ptr, i, size))
    total = soh
    for ptr, _, size in sorted(sections):
        h.update(img[ptr:ptr + size])
        total += size
    if len(img) > total + cert_size:
        h.update(img[total:len(img) - cert_size])
    return h.digest()


def sha384(b):
    return hashlib.sha384(b).digest()


def events(kernel, initrd, cmdline, edk2):
    """(rtmr, event type, digest) in the order they are extended."""
    ev = [(1, "EV_EFI_BOOT_SERVICES_APPLICATION", authenticode(kernel))]
    ev.append((1, "EV_EFI_ACTION", sha384(b"Calling EFI Application from Boot Option")))
    # TdTcg2Dxe OnReadyToBoot separator: RTMR1 before stable202302 and from stable202411
    if edk2 < 202302 or edk2 >= 202411:
        ev.append((1, "EV_SEPARATOR", sha384(b"\0\0\0\0")))
    # X86QemuLoadImageLib LoadOptions: bytes widened to UTF-16, with the NUL
    if initrd:
        opts = ("initrd=initrd " + cmdline) if edk2 >= 202508 else (cmdline + " initrd=initrd")
    else:
        opts = cmdline
    if opts:
        raw = b"".join(bytes([c, 0]) for c in opts.encode("latin-1")) + b"\0\0"
        ev.append((2, "EV_EVENT_TAG", sha384(raw)))
    if initrd:
        ev.append((2, "EV_EVENT_TAG", sha384(initrd)))
    ev.append((1, "EV_EFI_ACTION", sha384(b"Exit Boot Services Invocation")))
    ev.append((1, "EV_EFI_ACTION", sha384(b"Exit Boot Services Returned with Success")))
    return ev


def main():
    args = sys.argv[1:]
    cmdline, edk2 = "", 202508
    if "--cmdline" in args:
        i = args.index("--cmdline")
        cmdline = args[i + 1]
        del args[i:i + 2]
    if "--edk2" in args:
        i = args.index("--edk2")
        edk2 = int(args[i + 1])
        del args[i:i + 2]
    out = json.load(open(args[0]))
    kernel = open(args[1], "rb").read()
    initrd = open(args[2], "rb").read() if len(args) > 2 else b""
    want = events(kernel, initrd, cmdline, edk2)
    got = out["direct_boot"]["events"]
    bad = 0
    if len(got) != len(want):
        print("event count: vigil %d, model %d" % (len(got), len(want)))
        bad += 1
    regs = {1: bytes(48), 2: bytes(48)}
    for i, (rtmr, typ, dig) in enumerate(want):
        regs[rtmr] = sha384(regs[rtmr] + dig)
        if i >= len(got):
            continue
        g = got[i]
        if (g["rtmr"], g["event_type"], g["digest"]) != (rtmr, typ, dig.hex()):
            print("event %d: vigil %s %s %s, model %s %s %s" % (i, g["rtmr"], g["event_type"], g["digest"],
                                                              rtmr, typ, dig.hex()))
            bad += 1
    for r in (1, 2):
        if out["direct_boot"]["rtmr%d" % r] != regs[r].hex():
            print("rtmr%d: vigil %s, model %s" % (r, out["direct_boot"]["rtmr%d" % r], regs[r].hex()))
            bad += 1
    print("model ok" if not bad else "model MISMATCH")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
