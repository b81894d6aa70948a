"""cloudcip: the Customer Identification Program of a U.S. IaaS provider (Executive Order 13984)."""

__version__ = "0.1.0"
