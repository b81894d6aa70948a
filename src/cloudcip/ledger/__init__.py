"""The tamper-evident ledger (B3): RFC 9162 Merkle tree, Ed25519 signed tree heads, proofs, verifier."""
