"""Which tables and fields are GMP data: the registry the audit guard enforces (AUD-01).

Every mapped table must be classified here; a test fails otherwise.  For a GMP table each column
is either audited with its values, audited without them (secrets), or operational (covered by
semantic entries such as login_failed).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GmpTable:
    """A table whose every change writes audit entries in the same transaction."""

    object_type: str
    redacted: frozenset[str] = field(default_factory=frozenset)
    operational: frozenset[str] = field(default_factory=frozenset)
    deletable: bool = False


# The columns of an outbox row that move as it is delivered; everything else is frozen at enqueue (ERP-03).
OUTBOX_DELIVERY = frozenset(
    {"status", "attempts", "next_attempt_at", "claimed_by", "claimed_until", "last_error", "last_status", "sent_at"}
)

GMP_TABLES: dict[str, GmpTable] = {
    # Password and lock fields are covered by one semantic entry each (password_reset, password_change,
    # lockout, unlock), so an admin action yields exactly one entry (ACC-06) and no hash enters the trail.
    "user_account": GmpTable(
        "user",
        operational=frozenset(
            {
                "failed_attempts",
                "last_login_at",
                "password_changed_at",
                "locked_at",
                "password_hash",
                "password_history",
                "must_change_password",
            }
        ),
    ),
    "gmp_setting": GmpTable("setting", operational=frozenset({"updated_at"})),
    "api_client": GmpTable("api_client", redacted=frozenset({"token_hash"})),
    # Key material is never copied into the trail; issuance and revocation are semantic entries.
    "signing_key": GmpTable(
        "signing_key",
        operational=frozenset(
            {
                "certificate_pem",
                "kdf_salt",
                "kdf_time_cost",
                "kdf_memory_kib",
                "nonce",
                "wrapped_key",
                "revoked_at",
                "revoke_reason",
            }
        ),
    ),
    "signature": GmpTable("signature", operational=frozenset({"signature", "certificate_pem"})),
    "signature_policy": GmpTable("signature_policy", operational=frozenset({"text"})),
    "signature_acknowledgement": GmpTable("signature_acknowledgement"),
    "setting_change": GmpTable("setting_change"),
    "badge": GmpTable("badge", redacted=frozenset({"badge_hash"})),
    "procedure_version": GmpTable("procedure_version"),
    # The bytes are identified by their hash in the entry; the content itself stays in the bundle table.
    "bundle_file": GmpTable("bundle_file", operational=frozenset({"content"})),
    "product_procedure": GmpTable("product_procedure"),
    # ERP master data copies and production orders; the sync timestamps are not record content.
    "material": GmpTable("material", operational=frozenset({"updated_at"})),
    "material_lot": GmpTable("material_lot", operational=frozenset({"updated_at"})),
    "container": GmpTable("container", operational=frozenset({"updated_at"})),
    "production_order": GmpTable("production_order", operational=frozenset({"status_changed_at"})),
    # A batch and its step records; the engine cursor beside them is not GMP (below).
    "batch": GmpTable("batch"),
    "step_record": GmpTable("step_record", operational=frozenset({"engine_key"})),
    # The evidence of execution (values append-only; a change is a new row superseding the old one).
    "step_value": GmpTable("step_value"),
    # Controlled paper forms issued for a step before an outage; entries transcribed from one name it (OPS-02).
    "paper_form": GmpTable("paper_form"),
    "deviation": GmpTable("deviation"),
    "batch_action": GmpTable("batch_action"),
    "batch_yield": GmpTable("batch_yield"),
    "material_reconciliation": GmpTable("material_reconciliation"),
    "training_record": GmpTable("training_record"),
    "terminal": GmpTable("terminal", redacted=frozenset({"token_hash"})),
    # Equipment instances: every change to class, endpoint, place or status is an entry with old and new value;
    # the version counter and the change time say nothing the entry does not.
    "equipment": GmpTable("equipment", operational=frozenset({"version", "updated_at"})),
    "equipment_log": GmpTable("equipment_log"),
    "equipment_use": GmpTable("equipment_use"),
    "identity_check": GmpTable("identity_check"),
    "dispensing": GmpTable("dispensing"),
    # Samples and step attachments: the entry names an attachment's bytes by their SHA-256; the bytes stay in the row.
    "batch_sample": GmpTable("batch_sample"),
    "step_attachment": GmpTable("step_attachment", operational=frozenset({"content"})),
    # QA review and release: acknowledgements, audit-trail reviews, decisions and addenda, each appended once.
    "review_mark": GmpTable("review_mark"),
    "trail_review": GmpTable("trail_review"),
    "batch_decision": GmpTable("batch_decision"),
    "batch_addendum": GmpTable("batch_addendum"),
    # Rendered record PDFs: the entry names the bytes by their SHA-256; the bytes stay in the row.
    "batch_document": GmpTable("batch_document", operational=frozenset({"pdf"})),
    # ERP postings: the enqueue is an entry naming the payload's SHA-256; delivery progress is operational, its
    # evidence is the append-only attempt log, and dead letters and replays are semantic entries.
    "outbox_message": GmpTable("erp_posting", operational=frozenset({"payload", "payload_json", *OUTBOX_DELIVERY})),
    # A planned order's BOM lines are the ERP's; a change before the batch starts replaces them.
    "order_component": GmpTable("order_component", deletable=True),
}

# Not GMP data, each with the reason; their changes are covered by semantic entries or carry no record content.
NOT_GMP: dict[str, str] = {
    "audit_entry": "the audit trail itself: append-only, guarded separately",
    "audit_head": "cursor of the audit chain; its truth is the chain and the signed checkpoints",
    "user_session": "session state; logins, logouts and timeouts are audited as events",
    "login_attempt": "security log, insert-only; failures are also audited as events",
    "alert": "delivery state of notifications whose cause is audited",
    "system_state": "installation facts; version changes are audited as system events",
    "rate_limit": "throttling counters; refusals are audited as failed attempts",
    "batch_engine_state": "engine cursor; stored by hash in the audit trail",
    "incident": "notification state of incidents whose causes (deviations, failures) are audited themselves",
    "signing_challenge": "single-use nonces of the signing dialog; the signature and its audit entry are the record",
    "outbox_attempt": "delivery log of ERP postings, insert-only; dead letters and replays are audited as events",
    "inbound_message": "idempotency log of inbound ERP messages, insert-only; what they change is audited itself",
}

IMMUTABLE_TABLES = frozenset(
    {
        "audit_entry",
        "login_attempt",
        "signature",
        "signature_acknowledgement",
        "bundle_file",
        "step_value",
        "batch_yield",
        "material_reconciliation",
        "equipment_use",
        "identity_check",
        "dispensing",
        "batch_sample",
        "step_attachment",
        "review_mark",
        "trail_review",
        "batch_decision",
        "batch_addendum",
        "outbox_attempt",
        "inbound_message",
    }
)

# Append-only tables with the columns that may still change (each change audited with old and new value).
APPEND_ONLY_EXCEPT: dict[str, frozenset[str]] = {
    "batch_document": frozenset({"status"}),
    "outbox_message": OUTBOX_DELIVERY,
}
