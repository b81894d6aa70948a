"""Check a cloudcip ledger inclusion proof offline (B3): python offline_verifier.py proof.json pub.pem

Standalone on purpose: needs only `cryptography` and the standard library, never cloudcip itself.
"""

import base64
import hashlib
import json
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key


def verify(doc: dict, key: Ed25519PublicKey) -> str:
    """Return the tree-head summary if the proof holds; raise an Exception saying why if not."""
    if doc.get("format") != "cloudcip-inclusion-proof-v1":
        raise ValueError(f"unknown format {doc.get('format')!r}")
    head = doc["tree_head"]
    size, root_hex, ts = int(head["tree_size"]), head["root_hash"].lower(), int(head["timestamp_ms"])
    message = f"cloudcip-tree-head-v1\n{size}\n{root_hex}\n{ts}\n".encode()
    key.verify(base64.b64decode(head["signature"], validate=True), message)  # raises InvalidSignature
    leaf = hashlib.sha256(b"\x00" + doc["leaf_input"].encode("utf-8")).digest()
    if leaf.hex() != doc["leaf_hash"]:
        raise ValueError("leaf_hash is not SHA-256(0x00 || leaf_input)")
    index = int(doc["index"])
    if not 0 <= index < size:
        raise ValueError(f"index {index} outside the signed tree of size {size}")
    fn, sn, node = index, size - 1, leaf  # RFC 9162 sec 2.1.3.2
    for sibling in (bytes.fromhex(h) for h in doc["audit_path"]):
        if sn == 0:
            raise ValueError("audit path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            node = hashlib.sha256(b"\x01" + sibling + node).digest()
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = hashlib.sha256(b"\x01" + node + sibling).digest()
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or node.hex() != root_hex:
        raise ValueError("audit path does not lead to the signed root hash")
    return f"tree_size={size} root={root_hex}"


if __name__ == "__main__":
    try:
        with open(sys.argv[1], encoding="utf-8") as proof_file, open(sys.argv[2], "rb") as key_file:
            document, public_key = json.load(proof_file), load_pem_public_key(key_file.read())
        if not isinstance(public_key, Ed25519PublicKey):
            raise ValueError("the public key is not Ed25519")
        summary = verify(document, public_key)
    except Exception as error:  # any failure, whatever its kind, means "not verified"
        print(f"FAILED: {type(error).__name__}: {str(error) or 'tree head signature does not verify'}")
        sys.exit(1)
    print(f"OK {summary}")
