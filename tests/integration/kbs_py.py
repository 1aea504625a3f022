"""Small shared helpers of the Python test programs (kbs_standin.py, kbs_split_client.py):
base64url, the JCS of flat JSON and the KBS REPORT_DATA binding, written from the specs
(RFC 7515, RFC 8785, Trustee's kbs_attestation_protocol.md), independent of vigil's C code."""
import base64, hashlib, json


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jcs(v):  # RFC 8785 for objects of strings (all the binding needs)
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def report_data(nonce, jwk, additional=""):
    """SHA-384 of the JCS of {"additional-evidence","nonce","tee-pubkey"} || 16 zero bytes."""
    return hashlib.sha384(jcs({"additional-evidence": additional, "nonce": nonce,
                               "tee-pubkey": jwk}).encode()).digest() + bytes(16)
