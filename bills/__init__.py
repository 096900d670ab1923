"""Digital bills: the state machine and its canonical event log, splits, transfers, purchases, verification."""
