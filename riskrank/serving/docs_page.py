"""/docs without inline script: FastAPI's Swagger UI page starts Swagger UI from an inline <script>, which a
Content-Security-Policy without 'unsafe-inline' blocks. Here the same UI is started from a static file of ours;
Swagger UI itself still comes from its CDN (as with FastAPI's default page), so this page's policy allows that
one origin."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

CDN = "https://cdn.jsdelivr.net"
_SWAGGER = f"{CDN}/npm/swagger-ui-dist@5"
DOCS_POLICY = (f"default-src 'none'; script-src 'self' {CDN}; style-src 'self' {CDN}; img-src 'self' data: {CDN}; "
               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>riskrank - API</title>
<link rel="stylesheet" href="{_SWAGGER}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{_SWAGGER}/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script>
</body>
</html>
"""


def add_docs(app: FastAPI) -> None:
    """Serve /docs and its starter script (the app is made with docs_url=None and redoc_url=None)."""
    script = (resources.files("riskrank.serving") / "static" / "docs-start.js").read_text(encoding="utf-8")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(_PAGE, headers={"Content-Security-Policy": DOCS_POLICY})

    @app.get("/docs/start.js", include_in_schema=False)
    def docs_script() -> Response:
        return Response(script, media_type="text/javascript")
