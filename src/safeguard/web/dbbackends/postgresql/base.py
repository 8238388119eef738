"""Django's PostgreSQL backend with deferred writes (``safeguard.web.dbbackends``)."""

from django.db.backends.postgresql import base
from psycopg import pq

from safeguard.web.dbbackends import DeferredWrites, PendingRows


class DatabaseWrapper(DeferredWrites, base.DatabaseWrapper):
    def _transaction_unstarted(self) -> bool:
        # psycopg sends BEGIN with a transaction's first statement: until then it is idle.
        return (self.connection is not None
                and self.connection.info.transaction_status == pq.TransactionStatus.IDLE)

    def _write_alone(self, rows: PendingRows) -> None:
        raw = self.connection
        raw.autocommit = True  # allowed while idle: psycopg then sends no BEGIN
        try:
            rows.flush()
        finally:
            raw.autocommit = False
