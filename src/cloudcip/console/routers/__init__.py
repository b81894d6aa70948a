"""One router module per console area; each area's templates are in ``console/templates/<area>/``."""
