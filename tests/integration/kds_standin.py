#!/usr/bin/python3
"""A stand-in for AMD KDS and Intel PCS on loopback, serving the real files of
../shared/vectors under the services' URL layout (tests only).

  kds_standin.py --port-file F [--vcek PRODUCT:DER]... [--chain PRODUCT:PEM]...
                 [--vlek-chain PRODUCT:PEM]... [--crl PRODUCT:FILE]...
                 [--tcb FMSPC:JSON:CHAIN]... [--qe JSON:CHAIN] [--pckcrl FILE:CHAIN] [--rootcrl FILE]

A VCEK is served at /vcek/v1/{product}/{hwid}?{SPLs} only when hwid and the
SPLs equal the certificate's own extensions (python cryptography reads them),
like KDS, which issues the certificate of that exact TCB. PCS answers carry
their issuer chain URL-encoded in the header Intel uses.

Control (loopback test hooks):
  GET /_control?fail=429&count=N&retry_after=S   the next N requests answer 429
                                                  (or 503/500) with Retry-After: S
  GET /_stats                                     {"requests": n, "paths": {path: n}}
"""
import argparse
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

AMD = "1.3.6.1.4.1.3704.1."


def der_int(b):
    # DER INTEGER (02 len value) or a raw small value
    if len(b) >= 3 and b[0] == 2 and b[1] == len(b) - 2:
        return int.from_bytes(b[2:], "big")
    return int.from_bytes(b, "big")


def vcek_key(path):
    cert = x509.load_der_x509_certificate(open(path, "rb").read())
    ext = {}
    for e in cert.extensions:
        oid = e.oid.dotted_string
        if oid.startswith(AMD):
            ext[oid[len(AMD):]] = e.value.value
    hwid = ext["4"]
    if len(hwid) in (66, 10) and hwid[0] == 4:  # wrapped in an OCTET STRING
        hwid = hwid[2:]
    spl = {"blSPL": der_int(ext["3.1"]), "teeSPL": der_int(ext["3.2"]), "snpSPL": der_int(ext["3.3"]),
           "ucodeSPL": der_int(ext["3.8"])}
    if "3.9" in ext:
        spl["fmcSPL"] = der_int(ext["3.9"])
    return hwid.hex(), spl


class State:
    lock = threading.Lock()
    requests = 0
    paths = {}
    fail_code = 0
    fail_count = 0
    retry_after = None
    routes = {}  # exact path+query -> (body, headers)
    vceks = []   # (product, hwid, spl, body)


def read(p):
    with open(p, "rb") as f:
        return f.read()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path == "/_control":
            with State.lock:
                State.fail_code = int(q.get("fail", ["0"])[0])
                State.fail_count = int(q.get("count", ["1"])[0])
                State.retry_after = q.get("retry_after", [None])[0]
            return self.send(200, b"ok\n")
        if u.path == "/_stats":
            with State.lock:
                body = json.dumps({"requests": State.requests, "paths": State.paths}).encode()
            return self.send(200, body, {"Content-Type": "application/json"})
        with State.lock:
            State.requests += 1
            State.paths[self.path] = State.paths.get(self.path, 0) + 1
            if State.fail_count > 0 and State.fail_code:
                State.fail_count -= 1
                h = {"Retry-After": State.retry_after} if State.retry_after else {}
                return self.send(State.fail_code, b"rate limited\n", h)
        parts = u.path.strip("/").split("/")
        if len(parts) == 4 and parts[0] == "vcek" and parts[1] == "v1" and parts[3] != "cert_chain" \
                and parts[3] != "crl":
            want = {k: int(v[0]) for k, v in q.items() if v[0].isdigit()}
            for product, hwid, spl, body in State.vceks:
                if product == parts[2] and hwid == parts[3].lower() and spl == want:
                    return self.send(200, body, {"Content-Type": "application/pkix-cert"})
            return self.send(404, b"no such VCEK\n")
        key = u.path + ("?" + u.query if u.query else "")
        r = State.routes.get(key) or State.routes.get(key.lower())
        if r:
            return self.send(200, r[0], r[1])
        return self.send(404, b"not found\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--vcek", action="append", default=[])
    ap.add_argument("--chain", action="append", default=[])
    ap.add_argument("--vlek-chain", action="append", default=[])
    ap.add_argument("--crl", action="append", default=[])
    ap.add_argument("--tcb", action="append", default=[])
    ap.add_argument("--qe")
    ap.add_argument("--pckcrl")
    ap.add_argument("--rootcrl")
    a = ap.parse_args()
    for v in a.vcek:
        product, path = v.split(":", 1)
        hwid, spl = vcek_key(path)
        State.vceks.append((product, hwid, spl, read(path)))
    for v in a.chain:
        product, path = v.split(":", 1)
        State.routes["/vcek/v1/%s/cert_chain" % product] = (read(path), {"Content-Type": "application/x-pem-file"})
    for v in a.vlek_chain:
        product, path = v.split(":", 1)
        State.routes["/vlek/v1/%s/cert_chain" % product] = (read(path), {"Content-Type": "application/x-pem-file"})
    for v in a.crl:
        product, path = v.split(":", 1)
        State.routes["/vcek/v1/%s/crl" % product] = (read(path), {"Content-Type": "application/pkix-crl"})

    def chain_hdr(name, path):
        return {name: urllib.parse.quote(read(path).decode()), "Content-Type": "application/json"}

    for v in a.tcb:
        fmspc, body, chain = v.split(":", 2)
        State.routes["/tdx/certification/v4/tcb?fmspc=%s" % fmspc.lower()] = (
            read(body), chain_hdr("TCB-Info-Issuer-Chain", chain))
    if a.qe:
        body, chain = a.qe.split(":", 1)
        State.routes["/tdx/certification/v4/qe/identity"] = (
            read(body), chain_hdr("SGX-Enclave-Identity-Issuer-Chain", chain))
    if a.pckcrl:
        body, chain = a.pckcrl.split(":", 1)
        for ca in ("platform", "processor"):
            State.routes["/sgx/certification/v4/pckcrl?ca=%s&encoding=der" % ca] = (
                read(body), chain_hdr("SGX-PCK-CRL-Issuer-Chain", chain))
    if a.rootcrl:
        State.routes["/sgx/certification/v4/rootcacrl"] = (read(a.rootcrl), {"Content-Type": "application/pkix-crl"})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
