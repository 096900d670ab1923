"""SME credit: profiles derived from bill history, limits, scores and verifiable credit reports."""
