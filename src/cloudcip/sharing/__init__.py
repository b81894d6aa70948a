"""Sharing indicators with peer providers and agencies: STIX 2.1 over TAXII 2.1, marked with TLP 2.0 (G3, G4).

- ``tlp``: the five TLP 2.0 marking definitions of the OASIS extension definition, and TLP 1.0 read on
  the way in (WHITE as CLEAR);
- ``stix``: STIX 2.1 objects built from an incident report (indicators with patterns, observed-data,
  sightings, relationships, the provider's identity, the incident);
- ``scrubber``: the allow-list of properties per TLP level, and redaction of the subject's personal
  data from free text, applied to everything before it leaves;
- ``store``: the TAXII collections, their objects (with date added, source, TLP and named recipient),
  peer grants and the status of POSTed envelopes;
- ``taxii``: the TAXII 2.1 server mounted at ``/taxii2/`` by ``cloudcip serve``;
- ``ingest`` and ``pull``: indicators taken in from peers, validated, stored and matched against the
  customers and the access ledger.
"""
