"""gunicorn settings for `phaen serve --production`; every value can be set by environment."""

import multiprocessing
import os

bind = os.environ.get("PHAEN_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("PHAEN_WEB_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))
worker_class = "sync"
timeout = int(os.environ.get("PHAEN_WEB_TIMEOUT", 30))  # a request longer than this is killed
graceful_timeout = 30
keepalive = 5
max_requests = 10000  # recycle workers now and then; jitter so they do not restart together
max_requests_jitter = 1000
accesslog = None  # one JSON line per request comes from the application (service/oplog.py)
errorlog = "-"
loglevel = os.environ.get("PHAEN_LOG_LEVEL", "info").lower()
preload_app = False  # each worker opens its own database pool
