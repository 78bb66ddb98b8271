"""The job queue worked inside a test: documents are rendered in the background (commands/renders.py)
and frozen in the background (commands/documents.py), so a test that reads a PDF first lets a worker
run what the plan's changes queued."""

from __future__ import annotations

from service.commands import jobs, renders


def _ctx(client_or_ctx):
    return client_or_ctx.application.extensions["phaen"] if hasattr(client_or_ctx, "application") else client_or_ctx


def work_queue(client_or_ctx) -> int:
    """Run every job due now, as a worker would; how many ran."""
    return jobs.work(_ctx(client_or_ctx), "test-worker")


def work_freezing(client_or_ctx) -> int:
    """Run the freeze jobs due now only (the documents a completed step froze), as a worker would,
    leaving the drafts' renders queued; how many ran."""
    return jobs.work(_ctx(client_or_ctx), "test-worker", kinds=(renders.FREEZE,))


def get_document(client, url: str, **kwargs):
    """GET a document once the queue has been worked: the copy of what the plan now shows."""
    work_queue(client)
    return client.get(url, **kwargs)
