"""The operational store's schema, made and upgraded by Alembic migrations (versions/, one file per revision).

`runner` holds what the rest of riskrank calls (riskrank.db.ensure_schema, `riskrank db upgrade|current|revision`);
`env.py` is Alembic's entry point, configured programmatically, so no alembic.ini is needed at run time.
"""
