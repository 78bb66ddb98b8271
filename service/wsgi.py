"""The WSGI entry point for gunicorn: `gunicorn -c service/gunicorn_conf.py service.wsgi:app`."""

from sqlalchemy.exc import OperationalError

from service import oplog
from service.app import create_app

oplog.configure()
app = create_app()
try:
    # Parse the published processes while the worker starts, so its first requests do not pay
    # for it (gunicorn_conf.post_worker_init then freezes these long-lived objects).
    _context = app.extensions["phaen"]
    with _context.db.read() as _session:
        _context.models.warm(_session)
except OperationalError as err:  # the database is not up yet: parse on first use instead
    oplog.log("warm_up_skipped", error=str(err).splitlines()[0])
