"""Plain types and state machines of the CIP; no I/O, imports nothing else of cloudcip."""
