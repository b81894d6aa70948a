"""The API's answers as typed models, one module per area, so ``/openapi.json`` names the shape of
every 2xx JSON response (B4; issue 12's typed answers)."""
