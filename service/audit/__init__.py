"""Audit."""

from service.audit.verify import *  # noqa
from service.audit.verify import _bundle_digest  # noqa
