"""Exemptions and the abuse-deterrence evidence (F1, F2; EO 13984 sec. 1(c)).

``register`` keeps the exemptions granted to the provider, an account type or a lessee type, their
notices of significant change and each use at a signup; ``hook`` is this package's side of the
signup hook (``verification.signup_exemptions``); ``evidence`` computes the figures an exemption
request needs from cloudcip's own records, each with its SQL, and ``render`` writes them as JSON,
HTML (inline SVG charts) or PDF.
"""
