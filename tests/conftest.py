"""Suite-wide fixtures. pytest-env (pyproject) sets SAFEGUARD_ENV=test before Django loads;
DATABASE_URL comes from the caller (SQLite by default, PostgreSQL in .ci/run)."""
