"""The WSGI entry point for gunicorn: `gunicorn -c service/gunicorn_conf.py service.wsgi:app`."""

from .app import create_app
from .oplog import configure

configure()
app = create_app()
