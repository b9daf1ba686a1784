"""HTTP side of the manager metrics: JSON endpoints under /v1/metrics (manager role, checked by the
dependency the app injects) and the dashboard page at /dashboard.

The page itself holds no data and needs no token: its script asks for a manager token (kept in
sessionStorage) and fetches the JSON endpoints with an Authorization header. A token is never accepted in
the URL, where access logs, browser history and Referer headers would keep it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine

from riskrank.model import registry
from riskrank.monitoring.dashboard_data import dashboard_payload
from riskrank.monitoring.feature_drift import feature_drift_from_store
from riskrank.monitoring.kpis import filter_period, hit_rate_table, records, validate_by
from riskrank.monitoring.sources import outcomes_from_db
from riskrank.settings import Settings, get_settings
from riskrank.world import BENEFITS

if TYPE_CHECKING:
    BenefitChoice = str
else:
    BenefitChoice = Literal[(*BENEFITS, "all")]  # an enum in the OpenAPI
log = logging.getLogger("riskrank.monitoring")
_MODEL_CACHE: dict[str, tuple[float, dict]] = {}
_MODEL_CACHE_SECONDS = 60.0
UNPROCESSABLE = 422


def _check_period(first: date | None, last: date | None) -> tuple[date | None, date | None]:
    if first and last and first > last:
        raise HTTPException(UNPROCESSABLE, f"from ({first}) is after to ({last})")
    return first, last


def _parse_benefit(benefit: str | None) -> str | None:
    if benefit in (None, "", "all"):
        return None
    if benefit not in BENEFITS:
        raise HTTPException(UNPROCESSABLE, f"benefit: unknown benefit {benefit!r}; use one of {', '.join(BENEFITS)}")
    return benefit


def _settings(request: Request) -> Settings:
    """The app's own settings when it keeps them on its state (the service does), else the environment's."""
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


def _serving_model(request: Request, frame: pd.DataFrame) -> dict:
    """The model version serving: the app's loaded model if it has one, else MLflow's champion alias, else
    the latest version recorded with outcomes. Best effort; never fails the request."""
    holder = getattr(request.app.state, "holder", None)
    version = getattr(getattr(holder, "current", None), "version", None)
    if version is not None:
        return {"serving_version": str(version), "source": "service"}
    champion = _mlflow_champion(_settings(request))
    if champion:
        return champion
    versions = frame["model_version"].dropna() if "model_version" in frame.columns else pd.Series([], dtype=str)
    if len(versions):
        latest = frame.loc[versions.index].sort_values("closed_date")["model_version"].iloc[-1]
        return {"serving_version": str(latest), "source": "outcomes"}
    return {"serving_version": None, "source": None}


def _mlflow_champion(settings: Settings) -> dict | None:
    uri = settings.mlflow_tracking_uri
    cached = _MODEL_CACHE.get(uri)
    if cached and time.monotonic() - cached[0] < _MODEL_CACHE_SECONDS:
        return cached[1] or None
    info: dict = {}
    if registry.store_exists(uri):  # never create an MLflow database just to look
        try:
            version = registry.alias_version(registry.client(settings), settings.model_name, registry.CHAMPION)
            if version is not None:
                info = {"serving_version": str(version), "source": "mlflow champion alias"}
        except Exception as exc:  # an unreadable registry: the dashboard still works
            log.info("model version from MLflow not available: %s", type(exc).__name__)
    _MODEL_CACHE[uri] = (time.monotonic(), info)
    return info or None


def _read(*parts: str) -> str:
    return (resources.files("riskrank.monitoring").joinpath(*parts)).read_text(encoding="utf-8")


# The page loads its script and style as files (a Content-Security-Policy without inline script or style).
_STATIC = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}


class HitRate(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    by: list[str]
    first: date | None = Field(alias="from", description="First closing date included")
    last: date | None = Field(alias="to", description="Last closing date included")
    benefit: str | None
    cost_per_investigation_sek: float
    rows: list[dict[str, Any]] = Field(description="One row per breakdown cell; suppressed cells have null values")


def make_router(require_manager: Callable[..., Any], get_engine: Callable[..., Engine]) -> APIRouter:
    """The metrics endpoints and the dashboard page; `require_manager` guards every JSON endpoint."""
    router = APIRouter()

    @router.get("/v1/metrics/hit-rate", tags=["metrics"], dependencies=[Depends(require_manager)], response_model=HitRate,
                response_model_by_alias=True)
    def hit_rate(
        request: Request,
        by: str = Query("benefit", description="Comma-separated breakdowns: benefit, month, year, selection, sex"),
        start: date | None = Query(None, alias="from", description="First closing date, YYYY-MM-DD"),
        end: date | None = Query(None, alias="to", description="Last closing date, YYYY-MM-DD"),
        benefit: BenefitChoice | None = Query(None, description="Only this benefit (or all)"),
        engine: Engine = Depends(get_engine),
    ) -> dict:
        """Closed investigations, hit rate, detected and prevented SEK, detected SEK per SEK of control cost and
        police reports per breakdown. Totals include unknown sex; cells about fewer than four persons are null
        with `suppressed` true."""
        try:
            keys = validate_by(by.split(","))
        except ValueError as exc:
            raise HTTPException(UNPROCESSABLE, f"by: {exc}") from None
        first, last = _check_period(start, end)
        chosen = _parse_benefit(benefit)
        frame = filter_period(outcomes_from_db(engine, benefit=chosen), first, last)
        cost = _settings(request).cost_per_investigation_sek
        return {"by": keys, "from": first, "to": last, "benefit": chosen, "cost_per_investigation_sek": cost,
                "rows": records(hit_rate_table(frame, by=keys, cost_per_investigation=cost))}

    @router.get("/v1/metrics/dashboard", tags=["metrics"], dependencies=[Depends(require_manager)])
    def dashboard_data(
        request: Request,
        benefit: BenefitChoice | None = Query(None, description="Only this benefit (default: all)"),
        start: date | None = Query(None, alias="from"),
        end: date | None = Query(None, alias="to"),
        engine: Engine = Depends(get_engine),
    ) -> dict:
        """Everything the dashboard draws: hit rate by month per selection method, lift over random with
        intervals, detected SEK by month, fairness ratios by sex, drift and the serving model version."""
        chosen = _parse_benefit(benefit)
        first, last = _check_period(start, end)
        frame = filter_period(outcomes_from_db(engine), first, last)
        benefits = sorted(frame["benefit"].dropna().unique().tolist())
        settings = _settings(request)
        return dashboard_payload(frame, chosen, benefits, settings.cost_per_investigation_sek,
                                 feature_drift=feature_drift_from_store(engine, chosen), model=_serving_model(request, frame),
                                 number_locale=settings.number_locale)

    @router.get("/dashboard", response_class=HTMLResponse, include_in_schema=False)
    def dashboard_page(request: Request) -> HTMLResponse:
        if "token" in request.query_params:
            return HTMLResponse("A token never goes in the address: open /dashboard and paste the token into the page.",
                                status_code=400, headers={"Cache-Control": "no-store"})
        return HTMLResponse(_read("templates", "dashboard.html"),
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    @router.get("/dashboard/static/{name}", include_in_schema=False)
    def dashboard_static(name: str) -> Response:
        if name not in _STATIC:
            raise HTTPException(404, "no such file")
        return Response(_read("static", name), media_type=_STATIC[name], headers={"Cache-Control": "no-cache"})

    return router
