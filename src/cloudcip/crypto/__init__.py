"""Keyring, envelope encryption, blind indexes and key rotation (B2)."""
