"""Suite-wide fixtures. The environment is fixed before Django loads: test mode, a throwaway
data directory, and DATABASE_URL from the caller (SQLite by default, PostgreSQL in CI)."""

from __future__ import annotations

import os
import tempfile

os.environ["SAFEGUARD_ENV"] = "test"
os.environ.setdefault("SAFEGUARD_DATA_DIR", tempfile.mkdtemp(prefix="safeguard-test-"))
