"""Copies of the batch record: stored PDFs, a draft PDF, and the electronic record as JSON and BatchML."""
