"""Productions to legal process (B5): the signed, hash-manifested package of exactly what a registered
process covers, and its offline verification. The register of processes and the holds are in
``cloudcip.records``; this package sits above it and above the capabilities whose records it gathers."""
