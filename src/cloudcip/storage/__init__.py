"""Database schema, engine and sessions, migrations, repositories (B1, B2, B3)."""
