"""The audit log for auditors: read entries and verify the hash chain."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from riskrank.serving import audit_chain
from riskrank.serving.auth import User
from riskrank.serving.deps import AUTH_ERRORS, require_auditor
from riskrank.serving.schemas import MAX_ID, AuditEntries, AuditVerification

router = APIRouter(prefix="/v1/audit-log", tags=["audit log"], responses=AUTH_ERRORS)


@router.get("", response_model=AuditEntries, summary="Audit entries after a sequence number (case ids are pseudonymised)")
def read_audit_log(
    request: Request,
    after: int = Query(0, ge=0, le=MAX_ID, description="Return entries with a larger sequence number"),
    limit: int = Query(100, ge=1, le=1000),
    user: User = Depends(require_auditor),
) -> dict:
    return {"entries": audit_chain.read_entries(request.app.state.engine, after, limit)}


@router.get("/verify", response_model=AuditVerification, summary="Check the hash chain; names the first edited or deleted entry")
def verify_audit_log(request: Request, user: User = Depends(require_auditor)) -> dict:
    result = audit_chain.verify(request.app.state.engine)
    return {"ok": result.ok, "entries": result.entries, "first_bad_seq": result.first_bad_seq, "problem": result.problem}
