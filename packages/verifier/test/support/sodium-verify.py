"""Reads [{message, publicKey, signature}] (hex) on stdin and prints one verdict per
vector, as libsodium's crypto_sign_verify_detached gives it through PyNaCl (Debian
python3-nacl). Exit 3 when PyNaCl is missing, so the caller can tell that apart."""
import json
import sys

try:
    from nacl.bindings import crypto_sign_open
    from nacl.exceptions import BadSignatureError
except ImportError:
    sys.stderr.write("python3-nacl is not installed\n")
    sys.exit(3)

verdicts = []
for vector in json.load(sys.stdin):
    signed = bytes.fromhex(vector["signature"]) + bytes.fromhex(vector["message"])
    try:
        crypto_sign_open(signed, bytes.fromhex(vector["publicKey"]))
        verdicts.append(True)
    except (BadSignatureError, ValueError):
        verdicts.append(False)
json.dump(verdicts, sys.stdout)
