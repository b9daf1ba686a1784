"""`riskrank db`: the operational store's schema revision (upgrade, current) and, for developers, a new revision."""

from __future__ import annotations

import typer

from riskrank.errors import UserError

db_app = typer.Typer(no_args_is_help=True)


def target_metadata() -> list:
    """The code's tables (every part's MetaData), for autogenerate and the test that the migrations make exactly
    these. Here, at the top beside the command that needs them, so that the migrations import no part."""
    from riskrank import db
    from riskrank.batch import score_store
    from riskrank.features.store import snapshot_metadata
    from riskrank.model import promotion_log
    from riskrank.serving import tables

    return [db.metadata, tables.metadata, score_store.metadata, snapshot_metadata, promotion_log.metadata]


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the store (RISKRANK_DATABASE_URL) to this riskrank's schema revision, in one transaction. A store made
    before migrations (riskrank fd2737b or older) is checked and stamped at the baseline first. Back it up first."""
    from riskrank.db import get_engine
    from riskrank.migrations.runner import upgrade
    from riskrank.settings import get_settings

    engine = get_engine(get_settings().database_url)
    found, reached = upgrade(engine)
    where = engine.url.render_as_string(hide_password=True)
    if found.state == "current":
        typer.echo(f"{where}: already at schema revision {reached} (head), nothing to do")
    elif found.state == "unversioned":
        typer.echo(f"{where}: made before migrations, its tables checked and stamped at the baseline, upgraded to {reached}")
    else:
        typer.echo(f"{where}: upgraded from {found.revision or 'an empty database'} to schema revision {reached}")


@db_app.command("current")
def db_current() -> None:
    """Print the store's schema revision and whether it is this riskrank's; changes nothing, creates nothing."""
    from riskrank.db import existing_engine
    from riskrank.migrations.runner import refusal, status
    from riskrank.settings import get_settings

    engine = existing_engine(get_settings().database_url)
    with engine.connect() as conn:
        found = status(conn)
    if found.state == "current":
        typer.echo(f"{found.revision} (head)")
    elif found.state == "new":
        typer.echo(f"none: an empty database; the first command that writes creates schema revision {found.head}")
    else:
        typer.echo(f"{found.revision or 'none'}: {refusal(engine, found)}")


@db_app.command("revision")
def db_revision(
    message: str = typer.Option(..., "--message", "-m", help="What the revision changes, e.g. 'users: token expiry'."),
) -> None:
    """For developers: write riskrank/migrations/versions/NNNN_<message>.py from the difference between the code's
    tables and the migrations' head (autogenerate on a scratch SQLite database). Review it, then run the tests."""
    import tempfile
    from pathlib import Path

    import sqlalchemy as sa
    from alembic import command

    from riskrank.migrations.runner import config, next_revision_id, reload_scripts

    with tempfile.TemporaryDirectory() as tmp:
        scratch = sa.create_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        with scratch.begin() as conn:
            command.upgrade(config(conn), "head")
            script = command.revision(config(conn, target_metadata()), message=message, autogenerate=True,
                                      rev_id=next_revision_id())
        scratch.dispose()
    reload_scripts()
    if script is None or isinstance(script, list):
        raise UserError("alembic wrote no single revision")
    typer.echo(f"wrote {script.path}: review it (SQLite needs op.batch_alter_table for column changes), then run "
               "tests/test_migrations.py")
