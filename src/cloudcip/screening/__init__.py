"""Screening against designated-persons lists: loaders, name normalisation, candidate index, matcher (D3, D4)."""
