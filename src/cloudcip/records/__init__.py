"""The CIP record: customers and their evidence, roles and purposes, retention, purge (A3, B1-B5)."""
