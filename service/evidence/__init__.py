"""Attachments kept as evidence: their bytes under the instance folder by SHA-256 (store), and the
reads of which files a step or a plan has (listing). The write is commands/attachments.py."""
