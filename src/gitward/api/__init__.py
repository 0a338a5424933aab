"""gitward.api: the HTTP API (FastAPI) over the engine's ``EngineService`` seam (docs/architecture.md,
layers).

``create_app(service, token=...)`` builds the application; ``server.ApiServer`` runs it with uvicorn
inside an existing asyncio loop; ``tokens`` keeps the admin token file and the local-server record.
"""

from gitward.api.app import create_app

__all__ = ["create_app"]
