"""The plan's documents: what they are made from (records), how they are rendered (render).
Freezing them is a command (commands/documents.py)."""

from service.documents.records import FREEZE_PROPERTY, TITLES, NotReady, PlanFile, load
from service.documents.render import DOCUMENTS, Document, available, document

__all__ = ["DOCUMENTS", "FREEZE_PROPERTY", "TITLES", "Document", "NotReady", "PlanFile", "available", "document",
           "load"]
