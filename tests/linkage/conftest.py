"""The API tests' client and keys fixtures, shared."""

from tests.api.conftest import client, keys

__all__ = ["client", "keys"]
