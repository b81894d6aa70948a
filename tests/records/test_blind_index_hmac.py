"""The blind index's HMAC with the key's padded hash states kept (B2, G1): the same hex as ``hmac``."""

from __future__ import annotations

import hashlib
import hmac
import random

from cloudcip.crypto.blind_index import blind_index, hmac_sha256_hex


def test_the_kept_states_give_the_standard_library_hmac_for_every_key_length() -> None:
    rng = random.Random(11)
    for length in (0, 1, 16, 32, 63, 64, 65, 100, 200):  # below, at and above SHA-256's 64-byte block
        key = rng.randbytes(length)
        for size in (0, 1, 55, 56, 64, 300):
            message = rng.randbytes(size)
            assert hmac_sha256_hex(key, message) == hmac.new(key, message, hashlib.sha256).hexdigest()
            assert hmac_sha256_hex(key, message) == hmac_sha256_hex(key, message)  # the states are copied


def test_a_blind_index_is_the_hmac_of_its_kind_scope_and_normalised_value() -> None:
    key = bytes(range(32))
    expected = hmac.new(key, b"national_id\x00DE\x00L01X00T47", hashlib.sha256).hexdigest()[:40]
    assert blind_index(key, "national_id", " l01x00t47 ", scope="DE") == expected
