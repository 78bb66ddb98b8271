"""Documents."""

from service.documents.render import *  # noqa
from service.documents.render import _collector_paused  # noqa
