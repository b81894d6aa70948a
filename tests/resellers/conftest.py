"""The API tests' client and keys fixtures, shared with the reseller register's tests."""

from tests.api.conftest import client, keys

__all__ = ["client", "keys"]
