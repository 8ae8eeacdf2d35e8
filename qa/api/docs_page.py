"""The API documentation at /docs: Swagger UI from files installed with the package, never from a CDN.

FastAPI's own /docs page loads Swagger UI from a public CDN and starts it with
an inline script; both are refused by the page's Content-Security-Policy and
the first fails offline. Here the Swagger UI files come from the
``fastapi-offline`` package and the start-up script is a file of its own. Without
that package /docs is simply not served (the schema stays at /openapi.json).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

PAGE = Path(__file__).resolve().parent / "docs"


def swagger_assets() -> Path | None:
    """The folder of Swagger UI's files, or None when fastapi-offline is not installed."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    folder = Path(fastapi_offline.__file__).resolve().parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def install_docs(app: FastAPI) -> bool:
    """Serve /docs from packaged files; returns whether it is served."""
    assets = swagger_assets()
    if assets is None:
        return False
    app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        return FileResponse(PAGE / "index.html")

    @app.get("/docs/init.js", include_in_schema=False)
    def docs_script() -> FileResponse:
        return FileResponse(PAGE / "init.js", media_type="text/javascript")

    return True
