"""The workspace's pages. Every page needs a signed-in investigator (the session cookie; see sessions.py);
every POST carries the page's CSRF token (checked by serving.csrf against the cookie, and here against the
session). Cases appear in addresses only as per-session handles, never by id."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import jinja2
import numpy as np
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from riskrank.errors import UserError
from riskrank.monitoring.numbers import format_number
from riskrank.serving.auth import Role, hash_token
from riskrank.serving.csrf import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, new_csrf_token, set_csrf_cookie
from riskrank.serving.deps import check_token
from riskrank.serving.outcomes import OutcomeConflict, OutcomeRejected, record_outcome
from riskrank.serving.pseudonym import pseudonymise
from riskrank.serving.routers.cases import explain_case
from riskrank.serving.routers.worklists import audit_worklist_view
from riskrank.serving.scoring import audit_reasons
from riskrank.serving.worklist import MAX_K, Objective, make_worklist, stored_worklist, worklists_of
from riskrank.serving.workspace import charts, forms, i18n
from riskrank.serving.workspace.sessions import Session, SessionStore
from riskrank.world import BENEFITS

PREFIX = "/workspace"
_TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("riskrank.serving.workspace", "templates"),
                                autoescape=True, undefined=jinja2.StrictUndefined)
_STATIC = {"workspace.js": "text/javascript", "workspace.css": "text/css"}
# Pages hold case data: never cached, never named in another site's Referer.
_PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
REASONS_SHOWN = 6

router = APIRouter(prefix=PREFIX, include_in_schema=False)


class SignInRequired(Exception):
    """No valid session: the page answers with the sign-in page's address."""


def _store(request: Request) -> SessionStore:
    return request.app.state.workspace_sessions


def _language(request: Request, session: Session | None) -> str:
    language = i18n.choose(request.query_params.get("lang"), session.language if session else None,
                           request.headers.get("accept-language"))
    if session is not None and request.query_params.get("lang") in i18n.LANGUAGES:
        session.language = language
    return language


def _render(request: Request, name: str, session: Session | None, status: int = 200, csrf: str | None = None,
            language: str | None = None, **values: Any) -> HTMLResponse:
    lang = language or _language(request, session)
    html = _TEMPLATES.get_template(name).render(
        lang=lang, other_lang="en" if lang == "sv" else "sv", t=i18n.words(lang), user=session.user if session else None,
        csrf=csrf or (session.csrf if session else ""), message=values.pop("message", None),
        message_kind=values.pop("message_kind", None), **values)
    return HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)


def _secure(request: Request) -> bool:
    # Secure cookies where the page came over TLS (behind a proxy: run uvicorn with --proxy-headers).
    return request.url.scheme == "https"


async def _session(request: Request) -> Session:
    """The signed-in investigator's session; its token is checked again (deactivated, rotated or expired: out)."""
    store = _store(request)
    session = store.get(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise SignInRequired
    user = await run_in_threadpool(request.app.state.authenticator.user_for_digest, session.token_digest)
    if user is None:
        store.drop(request.cookies.get(SESSION_COOKIE))
        raise SignInRequired
    if user.role != Role.investigator:
        raise HTTPException(403, "the workspace is for investigators")
    return session


async def _posted(request: Request, session: Session) -> dict[str, str]:
    """The form's fields, once its CSRF token is this session's (the middleware has compared it with the cookie)."""
    fields = forms.parse_form(await request.body())
    if fields.get(CSRF_FIELD) != session.csrf:
        raise HTTPException(403, "the form's CSRF token is not this session's; reload the page")
    return fields


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303, headers=_PAGE_HEADERS)


@router.get("")
async def home(request: Request) -> Response:
    session = await _session(request)
    return await _worklists_page(request, session)


async def _worklists_page(request: Request, session: Session, status: int = 200, message: str | None = None) -> Response:
    rows = await run_in_threadpool(worklists_of, request.app.state.engine, session.user.name)
    for row in rows:
        row["created_at"] = row["created_at"].replace(tzinfo=row["created_at"].tzinfo or UTC)
    return _render(request, "worklists.html", session, status=status, worklists=rows, benefits=BENEFITS, max_k=MAX_K,
                   message=message, message_kind="error" if message else None)


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    if _store(request).get(request.cookies.get(SESSION_COOKIE)) is not None:
        return _see_other(PREFIX)
    return _sign_in_form(request)


def _sign_in_form(request: Request, status: int = 200, message: str | None = None) -> Response:
    # A CSRF pair even before sign-in: a browser still holding an old session cookie must pass the check.
    csrf = new_csrf_token()
    response = _render(request, "sign_in.html", None, status=status, csrf=csrf, message=message, message_kind="error")
    set_csrf_cookie(response, csrf, secure=_secure(request))
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    fields = forms.parse_form(await request.body())
    token = fields.get("token", "").strip()
    t = i18n.words(_language(request, None))
    try:
        user = await check_token(request, token)
    except HTTPException as exc:
        if exc.status_code == 429:
            wait = (exc.headers or {}).get("Retry-After", "?")
            return _sign_in_form(request, 429, t["too_many"].format(wait=wait))
        return _sign_in_form(request, exc.status_code, t["bad_token"])
    if user.role != Role.investigator:
        return _sign_in_form(request, 403, t["only_investigators"].format(role=user.role))
    csrf = new_csrf_token()
    store = _store(request)
    store.drop(request.cookies.get(SESSION_COOKIE))
    session_id = store.create(user, hash_token(token), csrf)
    if (lang := request.query_params.get("lang")) in i18n.LANGUAGES:
        session = store.get(session_id)
        if session is not None:
            session.language = lang
    response = _see_other(PREFIX)
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, secure=_secure(request), samesite="strict", path=PREFIX)
    set_csrf_cookie(response, csrf, secure=_secure(request))
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    session = await _session(request)
    await _posted(request, session)
    _store(request).drop(request.cookies.get(SESSION_COOKIE))
    response = _see_other(f"{PREFIX}/sign-in")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.post("/worklists")
async def new_worklist(request: Request) -> Response:
    session = await _session(request)
    fields = await _posted(request, session)
    app = request.app
    settings = app.state.settings
    snapshot = app.state.holder.current
    t = i18n.words(_language(request, session))
    if snapshot is None:
        return await _worklists_page(request, session, 503, t["no_model"])
    benefit = fields.get("benefit", "all")
    try:
        k = int(fields.get("k", ""))
        result = await run_in_threadpool(
            lambda: make_worklist(app.state.engine, snapshot, user=session.user.name,
                                  benefit=None if benefit == "all" else benefit, k=k, objective=Objective.hit_rate,
                                  share=settings.random_share, top=0, pseudonym_key=settings.pseudonym_key,
                                  show_scores=settings.worklist_show_scores,
                                  rng=app.state.worklist_rng or np.random.default_rng()))
    except ValueError:
        return await _worklists_page(request, session, 422, f"k: {fields.get('k', '')!r} is not a whole number")
    except UserError as exc:
        return await _worklists_page(request, session, 422, str(exc))
    return _see_other(f"{PREFIX}/worklists/{result['worklist_id']}")


def _not_found(request: Request, session: Session) -> Response:
    t = i18n.words(_language(request, session))
    return _render(request, "problem.html", session, status=404, heading=t["not_found"])


@router.get("/worklists/{worklist_id}")
async def worklist_page(request: Request, worklist_id: str) -> Response:
    session = await _session(request)
    app = request.app
    stored = await run_in_threadpool(stored_worklist, app.state.engine, worklist_id)
    if stored is None or stored.created_by != session.user.name:  # another's worklist is not theirs to see
        return _not_found(request, session)
    await run_in_threadpool(audit_worklist_view, app, session.user.name, stored)
    show = app.state.settings.worklist_show_scores
    lang = _language(request, session)
    items = [{**row, "handle": session.handle_for(worklist_id, int(row["case_id"])),
              "score_text": format_number(row["score"], 3, lang) if show and row["score"] is not None else ""}
             for row in stored.items]
    return _render(request, "worklist.html", session, language=lang, worklist=stored, items=items, show_scores=show)


@router.get("/cases/{handle}")
async def case_page(request: Request, handle: str) -> Response:
    session = await _session(request)
    recorded = request.query_params.get("recorded")
    t = i18n.words(_language(request, session))
    message = {"new": t["recorded"], "again": t["already_recorded"]}.get(recorded or "")
    return await _case(request, session, handle, None, [], 200, message)


async def _case(request: Request, session: Session, handle: str, form: dict[str, Any] | None, errors: list[str],
                status: int, message: str | None = None) -> Response:
    if handle not in session.handles:
        return _not_found(request, session)
    worklist_id, case_id = session.handles[handle]
    app = request.app
    lang = _language(request, session)
    t = i18n.words(lang)
    snapshot = app.state.holder.current
    if snapshot is None:
        return _render(request, "problem.html", session, status=503, heading=t["no_model"])
    try:
        body, as_of = await run_in_threadpool(explain_case, app, snapshot, case_id, REASONS_SHOWN)
    except HTTPException as exc:
        if exc.status_code != 404:
            raise
        return _render(request, "problem.html", session, status=404, heading=t["no_features"])
    source = app.state.holder.feature_source
    features = await run_in_threadpool(source.get, case_id) if source is not None else None
    settings = app.state.settings
    # Every view of a case is an audit entry, like a score from the API.
    await app.state.audit_writer.append_async(
        actor=session.user.name, action="case_view", subject=pseudonymise(case_id, settings.pseudonym_key),
        model_version=snapshot.version, score=body["score"],
        details={"worklist_id": worklist_id, "reasons": audit_reasons(body)},
    )
    timeline = charts.timeline(features, lang)
    percentile = body.get("percentile")
    pct = "?" if percentile is None or math.isnan(percentile) else f"{format_number(percentile, 0, lang)} %"
    today = datetime.now(UTC).date()
    return _render(
        request, "case.html", session, status=status, language=lang, case_id=case_id, worklist_id=worklist_id,
        handle=handle, body=body, chart=charts.waterfall(body, t, lang), timeline=timeline,
        signals_help=t["signals_help"].format(as_of=timeline["as_of"]) if timeline else "",
        percentile_text=t["percentile"].format(pct=pct, benefit=body.get("benefit")),
        form=form or forms.defaults(session.investigation_for(handle), today), errors=errors,
        message=message, message_kind="ok" if message else None,
    )


@router.post("/cases/{handle}/outcome")
async def case_outcome(request: Request, handle: str) -> Response:
    session = await _session(request)
    fields = await _posted(request, session)
    if handle not in session.handles:
        return _not_found(request, session)
    case_id = session.handles[handle][1]
    report, errors = forms.outcome_request(fields, case_id)
    if report is None:
        return await _case(request, session, handle, forms.shown(fields), errors, 422)
    app = request.app
    try:
        recorded = await run_in_threadpool(
            record_outcome, app.state.engine, app.state.holder.feature_source, report.model_dump(exclude={"selection"}),
            None, session.user.name, app.state.settings.pseudonym_key)
    except (OutcomeConflict, OutcomeRejected) as exc:
        status = 409 if isinstance(exc, OutcomeConflict) else 422
        return await _case(request, session, handle, forms.shown(fields), [str(exc)], status)
    return _see_other(f"{PREFIX}/cases/{handle}?recorded={'new' if recorded.created else 'again'}")


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    if name not in _STATIC:
        raise HTTPException(404, "no such file")
    text = resources.files("riskrank.serving.workspace").joinpath("static", name).read_text(encoding="utf-8")
    return Response(text, media_type=_STATIC[name], headers={"Cache-Control": "no-cache"})


def install(app: FastAPI) -> None:
    """The workspace's pages, its session store and the answer to a request without a session."""
    app.state.workspace_sessions = SessionStore()
    app.include_router(router)

    async def to_sign_in(request: Request, exc: Exception) -> Response:
        response = _see_other(f"{PREFIX}/sign-in")
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    app.add_exception_handler(SignInRequired, to_sign_in)
