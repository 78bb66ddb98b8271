"""Audit: verification of a plan's history in place or from an exported bundle, the bundle
itself, and the reports auditors take away. Read-only."""

from service.audit.bundle import bundle_digest, export_bundle, read_bundle, verify_bundle
from service.audit.reports import COMPLIANCE_FIELDS, compliance, compliance_csv, events_csv
from service.audit.verify import (
    Divergence,
    PlanRecord,
    Replayed,
    Verification,
    load_record,
    replay_to,
    verify_all,
    verify_plan,
    verify_record,
)

__all__ = ["COMPLIANCE_FIELDS", "Divergence", "PlanRecord", "Replayed", "Verification", "bundle_digest", "compliance",
           "compliance_csv", "events_csv", "export_bundle", "load_record", "read_bundle", "replay_to",
           "verify_all", "verify_bundle", "verify_plan", "verify_record"]
