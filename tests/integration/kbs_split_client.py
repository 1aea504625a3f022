#!/usr/bin/python3
"""A KBS 0.4.0 client for the multi-instance tests: auth on one vigil-attestd, attest on a
second, resource on a third (they share one PostgreSQL database). It is built from the
agent's stable building blocks the way a script outside the project would use them:
`vigil-agent evidence --report-data HEX` gives the tee-evidence; the key pair, the
REPORT_DATA binding and the JWE unwrap (ECDH-ES+A256KW, A256GCM) are python cryptography.

usage: kbs_split_client.py AGENT TEE STATE_DIR RESOURCE URL_AUTH URL_ATTEST URL_RESOURCE [VMM_ARG...]
prints: the SHA-256 of the secret (never the secret); exit 1 with the HTTP answer on refusal
"""
import hashlib, json, os, subprocess, sys, urllib.error, urllib.request

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kbs_py import b64u, b64u_dec, report_data  # noqa: E402

agent, tee, state, resource, u_auth, u_attest, u_res = sys.argv[1:8]
vmm_args = [a for v in sys.argv[8:] for a in ("--vmm-arg", v)]


def call(url, path, body=None, cookie=None):
    req = urllib.request.Request(url + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    if cookie:
        req.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read(), r.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as e:
        print("%s %s: %d %s" % (url, path, e.code, e.read().decode(errors="replace")), file=sys.stderr)
        sys.exit(1)


_, body, cookies = call(u_auth, "/kbs/v0/auth", {"version": "0.4.0", "tee": "snp" if tee == "sim-snp" else "tdx",
                                                  "extra-params": {}})
nonce = json.loads(body)["nonce"]
cookie = next(c.split(";")[0] for c in cookies if c.startswith("kbs-session-id="))
key = ec.generate_private_key(ec.SECP256R1())
n = key.public_key().public_numbers()
jwk = {"kty": "EC", "crv": "P-256", "x": b64u(n.x.to_bytes(32, "big")), "y": b64u(n.y.to_bytes(32, "big"))}
rd = report_data(nonce, jwk).hex()
ev = subprocess.run([agent, "evidence", "--tee", tee, "--state-dir", state, "--report-data", rd] + vmm_args,
                    check=True, capture_output=True).stdout
call(u_attest, "/kbs/v0/attest", {"runtime-data": {"nonce": nonce, "tee-pubkey": jwk},
                                  "tee-evidence": json.loads(ev)}, cookie)
_, body, _ = call(u_res, "/kbs/v0/resource/" + resource, cookie=cookie)
jwe = json.loads(body)
hdr = json.loads(b64u_dec(jwe["protected"]))
assert hdr["alg"] == "ECDH-ES+A256KW" and hdr["enc"] == "A256GCM", hdr
epk = hdr["epk"]
peer = ec.EllipticCurvePublicNumbers(int.from_bytes(b64u_dec(epk["x"]), "big"), int.from_bytes(b64u_dec(epk["y"]), "big"),
                                     ec.SECP256R1()).public_key()
z = key.exchange(ec.ECDH(), peer)
alg = b"ECDH-ES+A256KW"
info = len(alg).to_bytes(4, "big") + alg + (len(b64u_dec(hdr.get("apu", ""))).to_bytes(4, "big")) + \
    b64u_dec(hdr.get("apu", "")) + (len(b64u_dec(hdr.get("apv", ""))).to_bytes(4, "big")) + \
    b64u_dec(hdr.get("apv", "")) + (256).to_bytes(4, "big")
kek = ConcatKDFHash(hashes.SHA256(), 32, info).derive(z)
cek = aes_key_unwrap(kek, b64u_dec(jwe["encrypted_key"]))
secret = AESGCM(cek).decrypt(b64u_dec(jwe["iv"]), b64u_dec(jwe["ciphertext"]) + b64u_dec(jwe["tag"]),
                             jwe["protected"].encode() + (b"." + jwe["aad"].encode() if "aad" in jwe else b""))
print(hashlib.sha256(secret).hexdigest())
