"""The REST API (/v1): FastAPI app, authentication by role, one router per capability (B4)."""
