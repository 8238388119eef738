"""Django's SQLite backend with deferred writes (``safeguard.web.dbbackends``)."""

from django.db.backends.sqlite3 import base

from safeguard.web.dbbackends import DeferredWrites


class DatabaseWrapper(DeferredWrites, base.DatabaseWrapper):
    pass
