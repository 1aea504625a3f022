#!/usr/bin/python3
"""A tiny KBS 0.4.0 stand-in for test_agent.sh's client-side checks (NOT the service:
the end-to-end tests run the real vigil-attestd). Written independently of vigil's C code
with python cryptography: it checks the agent's REPORT_DATA binding (SHA-384 of the JCS of
{"additional-evidence","nonce","tee-pubkey"} || 16 zero bytes) inside the SNP report or TDX
quote, and wraps the resource as a flattened JWE (ECDH-ES+A256KW, A256GCM) to tee-pubkey,
so the agent's unwrap is checked against an implementation we did not write.

usage: kbs_standin.py PORTFILE SECRETFILE [MODE]
  MODE: ok | deny-attest | deny-resource | no-cookie | garbage | big | slow
"""
import base64, hashlib, http.server, json, os, secrets, sys, time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

PORTFILE, SECRET, MODE = sys.argv[1], open(sys.argv[2], "rb").read(), (sys.argv[3] if len(sys.argv) > 3 else "ok")
sessions = {}


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jcs(v):  # enough of RFC 8785 for strings and objects of strings
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def jwe_to(jwk, plaintext):
    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(b64u_dec(jwk["x"]), "big"),
                                        int.from_bytes(b64u_dec(jwk["y"]), "big"), ec.SECP256R1()).public_key()
    eph = ec.generate_private_key(ec.SECP256R1())
    z = eph.exchange(ec.ECDH(), pub)
    n = eph.public_key().public_numbers()
    epk = {"kty": "EC", "crv": "P-256", "x": b64u(n.x.to_bytes(32, "big")), "y": b64u(n.y.to_bytes(32, "big"))}
    alg = b"ECDH-ES+A256KW"
    otherinfo = len(alg).to_bytes(4, "big") + alg + (0).to_bytes(4, "big") + (0).to_bytes(4, "big") + (256).to_bytes(4, "big")
    kek = ConcatKDFHash(hashes.SHA256(), 32, otherinfo).derive(z)
    cek = os.urandom(32)
    header = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "epk": epk}
    prot = b64u(json.dumps(header).encode())
    iv = os.urandom(12)
    ct = AESGCM(cek).encrypt(iv, plaintext, prot.encode())
    return {"protected": prot, "encrypted_key": b64u(aes_key_wrap(kek, cek)), "iv": b64u(iv),
            "ciphertext": b64u(ct[:-16]), "tag": b64u(ct[-16:])}


def report_data_of(tee, ev):
    p = ev["primary_evidence"]
    if tee == "snp":
        rep = base64.b64decode(p["attestation_report"], validate=True)
        assert len(rep) == 1184, "SNP report length"
        assert {c["type"] for c in p["cert_chain"]} == {"vcek", "ask", "ark"}, "SNP cert_chain types"
        return rep[0x50:0x90]
    q = base64.b64decode(p["quote"], validate=True)
    assert "cc_eventlog" in p, "cc_eventlog key"
    return q[48 + 520:48 + 584]  # v4 header, TD 1.0 body: REPORTDATA at 520


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, obj, cookie=None, ctype="application/json"):
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if cookie:
            self.send_header("Set-Cookie", "kbs-session-id=%s; Path=/kbs/v0; HttpOnly" % cookie)
        self.end_headers()
        self.wfile.write(body)

    def problem(self, code, typ, detail):
        self.reply(code, {"type": "https://github.com/confidential-containers/kbs/errors/" + typ, "detail": detail},
                   ctype="application/problem+json")

    def session(self):
        for part in self.headers.get("Cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == "kbs-session-id" and v in sessions:
                return sessions[v]
        return None

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if self.path == "/kbs/v0/auth":
            if body.get("version") != "0.4.0" or body.get("extra-params") != {} or body.get("tee") not in ("snp", "tdx"):
                return self.problem(400, "InvalidRequest", "bad auth request %r" % body)
            sid, nonce = secrets.token_hex(16), base64.b64encode(os.urandom(32)).decode()
            sessions[sid] = {"nonce": nonce, "tee": body["tee"]}
            if MODE == "garbage":
                return self.reply(200, b"<html>not json</html>", cookie=sid, ctype="text/html")
            return self.reply(200, {"nonce": nonce, "extra-params": ""}, cookie=None if MODE == "no-cookie" else sid)
        if self.path == "/kbs/v0/attest":
            s = self.session()
            if not s:
                return self.problem(401, "UnAuthenticated", "no session cookie")
            rd = body["runtime-data"]
            if rd["nonce"] != s["nonce"]:
                return self.problem(401, "AttestationFailed", "nonce mismatch")
            want = hashlib.sha384(jcs({"additional-evidence": "", "nonce": rd["nonce"],
                                       "tee-pubkey": rd["tee-pubkey"]}).encode()).digest() + bytes(16)
            ev = body["tee-evidence"]
            if ev.get("additional_evidence") != "" or set(ev) != {"primary_evidence", "additional_evidence"}:
                return self.problem(400, "InvalidRequest", "tee-evidence shape")
            if report_data_of(s["tee"], ev) != want:
                return self.problem(401, "AttestationFailed", "REPORT_DATA does not bind nonce and tee-pubkey")
            if MODE == "deny-attest":
                return self.problem(401, "AttestationFailed",
                                    "measurement: expected 11aa..., found 22bb... (workload demo)")
            s["jwk"] = rd["tee-pubkey"]
            return self.reply(200, {"token": "standin.token.value"})
        self.problem(404, "NotFound", "no such endpoint")

    def do_GET(self):
        s = self.session()
        if not self.path.startswith("/kbs/v0/resource/"):
            return self.problem(404, "NotFound", "no such endpoint")
        if not s or "jwk" not in s:
            return self.problem(401, "UnAuthenticated", "not attested")
        if MODE == "deny-resource":
            return self.problem(403, "PolicyDeny", "resource rule 'default/key/*': simulated evidence refused")
        if self.path != "/kbs/v0/resource/default/key/demo":
            return self.problem(404, "ResourceNotFound", "unknown resource " + self.path)
        if MODE == "big":
            return self.reply(200, b"x" * (2 << 20))
        if MODE == "slow":
            time.sleep(30)
        self.reply(200, jwe_to(s["jwk"], SECRET))


srv = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
