"""Reports generated from the system's own data and configuration: the written CIP (A1, A4, A5, A6,
A7, A8, B1), the certification, the attestation and the compliance matrix.

Import from the submodules (``cloudcip.reports.written_cip`` ...); this module imports nothing.
"""
