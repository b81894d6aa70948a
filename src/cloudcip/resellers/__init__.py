"""Resellers: the sub-lessees a Reseller Account shares, screened on arrival and re-screened, with
special measures reaching through the reseller chain (D1, D3, D4, E2)."""
