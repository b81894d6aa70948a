"""Access ledger: intake, storage, queries, offline IP intelligence and signals (C1, C2, C3, C4, B1)."""
