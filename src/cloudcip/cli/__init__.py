"""The ``cloudcip`` command (Typer + Rich)."""
