"""The ERP over HTTP: delivers outbox postings with their idempotency key; the only importer of httpx for the ERP."""
