"""Checks a DSSE envelope with Debian's python3-securesystemslib, as an in-toto
verifier would: the key id is computed here from the PEM (SHA-256 of DER SPKI, hex),
the PAE is built here from the envelope, and securesystemslib checks the keyid
format, that the envelope's keyid names that key, and the Ed25519 signature.

stdin: {"envelope": "<manifest.dsse.json text>", "publicKeyPem": "<PEM>"}
stdout: {"verified": bool, "error": str | null}
Exit 3 when securesystemslib is not installed."""
import base64
import hashlib
import json
import sys

try:
    from securesystemslib import exceptions, keys
except ImportError:
    sys.stderr.write("python3-securesystemslib is not installed\n")
    sys.exit(3)

request = json.load(sys.stdin)
envelope = json.loads(request["envelope"])
pem_lines = [line for line in request["publicKeyPem"].strip().splitlines() if not line.startswith("-----")]
der = base64.b64decode("".join(pem_lines))
if len(der) != 44 or der[:12] != bytes.fromhex("302a300506032b6570032100"):
    sys.stderr.write("not an Ed25519 SPKI key\n")
    sys.exit(2)

key = {
    "keyid": hashlib.sha256(der).hexdigest(),
    "keytype": "ed25519",
    "scheme": "ed25519",
    "keyval": {"public": der[12:].hex()},
}
payload_type = envelope["payloadType"].encode("utf-8")
payload = base64.b64decode(envelope["payload"], validate=True)
pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type, len(payload), payload)

result = {"verified": False, "error": None}
try:
    signature = envelope["signatures"][0]
    sslib_signature = {"keyid": signature["keyid"], "sig": base64.b64decode(signature["sig"], validate=True).hex()}
    result["verified"] = bool(keys.verify_signature(key, sslib_signature, pae))
except (exceptions.FormatError, exceptions.CryptoError, exceptions.UnsupportedAlgorithmError) as error:
    result["error"] = "%s: %s" % (type(error).__name__, error)
json.dump(result, sys.stdout)
