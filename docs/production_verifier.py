"""Check a cloudcip production package offline (B5): python production_verifier.py production.zip pub.pem

Standalone on purpose: needs only `cryptography` and the standard library, never cloudcip itself.
Prints "OK ..." and exits 0 when the package is intact; prints "FAILED: <file or entry>: <why>" and
exits 1 at the first file, ledger entry or proof that does not hold. See docs/productions.md.
"""

import base64
import hashlib
import json
import sys
import zipfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key


class Failed(Exception):
    pass


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def check_head(head: dict, key: Ed25519PublicKey, where: str) -> None:
    message = f"cloudcip-tree-head-v1\n{int(head['tree_size'])}\n{head['root_hash']}\n{int(head['timestamp_ms'])}\n"
    try:
        key.verify(base64.b64decode(head["signature"], validate=True), message.encode())
    except Exception as error:
        raise Failed(f"{where}: the tree head's signature does not verify") from error


def inclusion_root(leaf: bytes, index: int, size: int, path: list) -> bytes | None:
    fn, sn, result = index, size - 1, leaf  # RFC 9162 sec 2.1.3.2
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = node(sibling, result)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    return result if sn == 0 else None


def consistent(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list) -> bool:
    if old_size == new_size:  # RFC 9162 sec 2.1.4.2
        return not proof and old_root == new_root
    if not proof:
        return False
    path = ([old_root] if old_size & (old_size - 1) == 0 else []) + proof
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = path[0]
    for sibling in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first, second = node(sibling, first), node(sibling, second)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            second = node(second, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and first == old_root and second == new_root


def verify(archive: zipfile.ZipFile, key: Ed25519PublicKey) -> str:
    names = set(archive.namelist())
    if "manifest.json" not in names or "manifest.sig" not in names:
        raise Failed("not a production: no manifest.json and manifest.sig in the archive")
    manifest_bytes = archive.read("manifest.json")
    manifest = json.loads(manifest_bytes)
    if manifest.get("format") != "cloudcip-production-v1":
        raise Failed("not a production: manifest.json is not of format cloudcip-production-v1")
    try:
        signature = base64.b64decode(archive.read("manifest.sig").strip(), validate=True)
        key.verify(signature, b"cloudcip-production-manifest-v1\n" + manifest_bytes)
    except Exception as error:
        raise Failed("manifest.sig: the manifest's signature does not verify with this public key") from error
    listed = set()
    for item in manifest["files"]:
        path = item["path"]
        if path not in names:
            raise Failed(f"{path}: listed in the manifest but missing from the package")
        data = archive.read(path)
        if hashlib.sha256(data).hexdigest() != item["sha256"] or len(data) != item["bytes"]:
            raise Failed(f"{path}: SHA-256 does not match the manifest (the file was altered)")
        listed.add(path)
    for name in sorted(names - listed - {"manifest.json", "manifest.sig"}):
        raise Failed(f"{name}: in the package but not listed in the manifest")
    head = json.loads(archive.read("ledger/tree-head.json"))
    check_head(head, key, "ledger/tree-head.json")
    if head != manifest["tree_head"]:
        raise Failed("ledger/tree-head.json: differs from the tree head the manifest names")
    size, root = int(head["tree_size"]), bytes.fromhex(head["root_hash"])
    proofs = {p["index"]: p for p in map(json.loads, archive.read("ledger/proofs.jsonl").splitlines())}
    entries = [json.loads(line) for line in archive.read("ledger/entries.jsonl").splitlines()]
    for entry in entries:
        index, text = entry["index"], entry["leaf_input"]
        if json.loads(text).get("index") != index:
            raise Failed(f"ledger entry {index}: its content names another index")
        proof = proofs.get(index)
        leaf = hashlib.sha256(b"\x00" + text.encode("utf-8")).digest()
        if proof is None or proof["leaf_hash"] != leaf.hex():
            raise Failed(f"ledger entry {index}: its leaf hash does not match its content")
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        if not 0 <= index < size or inclusion_root(leaf, index, size, path) != root:
            raise Failed(f"ledger entry {index}: its inclusion proof does not lead to the signed root")
    consistency = json.loads(archive.read("ledger/consistency.json"))
    if consistency.get("from") is not None:
        old = consistency["from"]
        check_head(old, key, "ledger/consistency.json")
        proof = [bytes.fromhex(h) for h in consistency["proof"]]
        if not consistent(int(old["tree_size"]), size, bytes.fromhex(old["root_hash"]), root, proof):
            raise Failed("ledger/consistency.json: the ledger at the production does not extend the earlier one")
    return f"files={len(listed)} ledger_entries={len(entries)} tree_size={size}"


if __name__ == "__main__":
    try:
        with open(sys.argv[2], "rb") as key_file:
            public_key = load_pem_public_key(key_file.read())
        if not isinstance(public_key, Ed25519PublicKey):
            raise Failed("the public key is not Ed25519")
        if not zipfile.is_zipfile(sys.argv[1]):
            raise Failed("not a production: the file is not a zip archive")
        with zipfile.ZipFile(sys.argv[1]) as package:
            summary = verify(package, public_key)
    except Failed as failure:
        print(f"FAILED: {failure}")
        sys.exit(1)
    except Exception as error:  # any other failure, whatever its kind, means "not verified"
        print(f"FAILED: the package cannot be read as a production ({type(error).__name__})")
        sys.exit(1)
    print(f"OK {summary}")
