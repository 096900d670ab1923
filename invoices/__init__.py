"""E-invoices: upload, hashing, de-duplication and allocation to bills."""
