"""The audit log of platform staff and regulators: who did what, when, from which address (append-only)."""
