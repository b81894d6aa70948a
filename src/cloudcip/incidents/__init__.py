"""Incident reports: what was found, about which accounts, what was done, and to whom it went (G4, E3).

One report model serves malicious activity found on an account (``malicious_activity``) and a
reseller's non-compliance found in oversight (``reseller_noncompliance``). A report is kept as it was
made: its content is sealed under the subject customer's data key, its SHA-256 is stored beside it and
on the ledger, and nothing updates it; each disclosure (to whom, when, in what form, under which TLP,
and the hash of exactly what went) is a row and a ledger entry of its own.
"""
