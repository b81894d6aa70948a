"""Linked accounts: the shared-identifier graph, clusters and the ban-evasion signal (G1), and the risk
score built on them (G2).

Every customer, beneficial owner and sub-lessee is linked to every other that shares an identifier,
compared only through keyed blind indexes (``identifiers``): card, bank account, wallet, national ID or
passport, phone, normalised e-mail, device id (strong links, which join clusters), signup IP, its /24
or /64 and a hosting provider's ASN at signup, and access IPs seen by both within a window (weak
links: shown and scored, never joining clusters on their own, never a review by themselves: a
carrier NAT is not an actor).
"""
