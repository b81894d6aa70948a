"""The CIP policy engine and the verification workflow (A1, A4, A5, A6, A7, A8, B1).

- :mod:`cloudcip.verification.profile`: the regulatory profile (retention for B1, deadline and
  re-verification bounds, notice version);
- :mod:`cloudcip.verification.policy`: the CIP policy file, validated with dotted-path errors (A1);
- :mod:`cloudcip.verification.decision`: the signup decision and the case's moves on evidence and
  deadlines (A4, A5, A6, A7, A8); the state machine itself is
  :mod:`cloudcip.domain.verification_case`.

Import from the submodules; this package module stays free of imports so that its parts load alone.
"""
