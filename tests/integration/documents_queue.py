"""The job queue worked inside a test: documents are rendered in the background (commands/renders.py),
so a test that reads a PDF first lets a worker run what the plan's changes queued."""

from __future__ import annotations

from service.commands import jobs


def work_queue(client_or_ctx) -> int:
    """Run every job due now, as a worker would; how many ran."""
    ctx = client_or_ctx.application.extensions["phaen"] if hasattr(client_or_ctx, "application") else client_or_ctx
    return jobs.work(ctx, "test-worker")


def get_document(client, url: str, **kwargs):
    """GET a document once the queue has been worked: the copy of what the plan now shows."""
    work_queue(client)
    return client.get(url, **kwargs)
