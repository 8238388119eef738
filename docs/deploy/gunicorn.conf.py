"""gunicorn settings for Safeguard: /etc/safeguard/gunicorn.conf.py (docs/deploy.md).

Started by safeguard-web.service as
    gunicorn --config /etc/safeguard/gunicorn.conf.py safeguard.wsgi:application
"""

import multiprocessing
import os

# Loopback only: nginx is the only client. The application trusts nginx's X-Forwarded-Proto
# header, so gunicorn must never be reachable from the network. Use TCP, not a Unix socket:
# over a socket there is no client address, and sign-in throttling needs one.
bind = os.environ.get("SAFEGUARD_BIND", "127.0.0.1:8000")

# Synchronous workers; 2-4 per core is the usual range. Each holds one database connection.
workers = int(os.environ.get("SAFEGUARD_WEB_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200

# gunicorn sets wsgi.url_scheme from X-Forwarded-Proto only for these peers (nginx).
forwarded_allow_ips = "127.0.0.1,::1"

# gunicorn writes the access log, through Safeguard's redactor: the request line, path, query,
# Referer and User-Agent are redacted before the line is written, so a card number typed into a
# URL never reaches the journal (R-OPS-2). nginx's own access log leaves the URI out
# (nginx-safeguard.conf). Safeguard writes JSON application logs to stderr; systemd sends both
# to the journal.
logger_class = "safeguard.ops.logging.GunicornLogger"
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%({x-request-id}i)s" "%(a)s"'
errorlog = "-"
loglevel = "info"
proc_name = "safeguard-web"
# Recent gunicorn releases open an admin control socket in $HOME; systemctl (reload, stop) is
# the control interface here. Older releases ignore this setting.
control_socket_disable = True


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the Prometheus multiprocess directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
