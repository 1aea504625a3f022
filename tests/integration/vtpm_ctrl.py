#!/usr/bin/python3
"""Client for vigil-tpm's control and data channels, for the vTPM tests.

  vtpm_ctrl.py req ADDR HEX N [DATAFILE]
      sends the bytes HEX (then DATAFILE's bytes), prints the first N bytes of
      the answer as hex (fewer when the server closes; 5 s budget)
  vtpm_ctrl.py blob ADDR HEX OUTFILE
      sends a CMD_GET_STATEBLOB request, prints the 16-byte answer header as
      hex and writes the blob that follows to OUTFILE
  vtpm_ctrl.py health ADDR
      prints "STATE MESSAGE" from CMD_VIGIL_GET_HEALTH
  vtpm_ctrl.py idle ADDR COUNT SECONDS
      opens COUNT connections that send nothing, keeps them SECONDS, prints
      how many the server closed meanwhile
  vtpm_ctrl.py crowd PORT COUNT
      COUNT clients connect at once, each sends TPM2_GetRandom(8) and reads
      the answer; prints "ok=N reset=N other=N"
  vtpm_ctrl.py trickle ADDR HEX INTERVAL SECONDS
      sends HEX one byte every INTERVAL seconds for at most SECONDS; prints
      "closed after S s" when the server closes it, or "not closed"
ADDR is a UNIX socket path or HOST:PORT.
"""
import socket
import sys
import threading
import time

GETRANDOM = bytes.fromhex("80010000000c0000017b0008")


def connect(addr, timeout=5.0):
    if ":" in addr and not addr.startswith("/"):
        host, port = addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=timeout)
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(addr)
    return s


def read_n(s, n):
    out = b""
    while len(out) < n:
        try:
            chunk = s.recv(n - len(out))
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        out += chunk
    return out


def cmd_req(addr, hexreq, n, datafile=None):
    s = connect(addr)
    payload = bytes.fromhex(hexreq)
    if datafile:
        with open(datafile, "rb") as f:
            payload += f.read()
    s.sendall(payload)
    print(read_n(s, int(n)).hex())


def cmd_blob(addr, hexreq, outfile):
    s = connect(addr)
    s.sendall(bytes.fromhex(hexreq))
    hdr = read_n(s, 16)
    print(hdr.hex())
    data = b""
    if len(hdr) == 16:
        data = read_n(s, int.from_bytes(hdr[12:16], "big"))
    with open(outfile, "wb") as f:
        f.write(data)


def cmd_health(addr):
    s = connect(addr)
    s.sendall((0x56470001).to_bytes(4, "big"))
    hdr = read_n(s, 12)
    if len(hdr) != 12:
        print("no-answer")
        return
    msg = read_n(s, int.from_bytes(hdr[8:12], "big")).decode("utf-8", "replace")
    print(int.from_bytes(hdr[4:8], "big"), msg)


def cmd_idle(addr, count, seconds):
    conns = [connect(addr) for _ in range(int(count))]
    time.sleep(float(seconds))
    closed = 0
    for c in conns:
        c.setblocking(False)
        try:
            if c.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    print(closed)


def cmd_crowd(port, count):
    res = {"ok": 0, "reset": 0, "other": 0}
    lock = threading.Lock()
    go = threading.Event()

    def client():
        kind = "other"
        try:
            go.wait()
            s = socket.create_connection(("127.0.0.1", int(port)), timeout=30)
            s.sendall(GETRANDOM)
            a = read_n(s, 20)
            kind = "ok" if len(a) == 20 and a[6:10] == b"\0\0\0\0" else "other"
            s.close()
        except ConnectionResetError:
            kind = "reset"
        except ConnectionRefusedError:
            kind = "reset"
        except OSError:
            kind = "other"
        with lock:
            res[kind] += 1

    ts = [threading.Thread(target=client) for _ in range(int(count))]
    for t in ts:
        t.start()
    go.set()
    for t in ts:
        t.join(60)
    print("ok=%d reset=%d other=%d" % (res["ok"], res["reset"], res["other"]))


def cmd_trickle(addr, hexreq, interval, seconds):
    s = connect(addr)
    data = bytes.fromhex(hexreq)
    start = time.monotonic()
    i = 0
    while time.monotonic() - start < float(seconds):
        try:
            if i < len(data):
                s.send(data[i:i + 1])
                i += 1
            s.settimeout(float(interval))
            if s.recv(1) == b"":
                print("closed after %d s" % round(time.monotonic() - start))
                return
        except socket.timeout:
            continue
        except OSError:
            print("closed after %d s" % round(time.monotonic() - start))
            return
    print("not closed")


if __name__ == "__main__":
    cmds = {"req": cmd_req, "blob": cmd_blob, "health": cmd_health, "idle": cmd_idle,
            "crowd": cmd_crowd, "trickle": cmd_trickle}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.stderr.write(__doc__)
        sys.exit(2)
    try:
        cmds[sys.argv[1]](*sys.argv[2:])
    except OSError as e:
        print("error: %s" % e)
        sys.exit(1)
