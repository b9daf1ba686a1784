from riskrank.errors import UserError


def audit() -> None:
    """Fairness audit (placeholder)."""
    raise UserError("audit is not built yet")


def report() -> None:
    """Excel report (placeholder)."""
    raise UserError("report is not built yet")
