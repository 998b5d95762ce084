"""The bot's own schema: migrations create it from nothing and are safe to run at every start."""
import re
import uuid
from pathlib import Path

import sqlalchemy as sa

from db.state import migrate

ROOT = Path(__file__).resolve().parent.parent


def test_migrations_create_and_rerun(engine):
    schema = f"state_{uuid.uuid4().hex[:8]}"
    migrate(engine, schema)
    migrate(engine, schema)  # a restart: nothing to do, no error
    with engine.connect() as conn:
        tables = set(conn.execute(
            sa.text("select table_name from information_schema.tables where table_schema = :s"),
            {"s": schema},
        ).scalars())
        version = conn.execute(sa.text(f'select version_num from "{schema}".alembic_version')).scalar()
    assert {"subscriptions", "deliveries", "alembic_version"} <= tables
    assert version is not None


def test_env_example_documents_every_setting():
    code = (ROOT / "db" / "settings.py").read_text(encoding="utf-8")
    keys = set(re.findall(r'get\("([A-Z_]+)"\)', code)) | set(re.findall(r'\("([A-Z_]+)", "[a-z_]+"\)', code))
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.MULTILINE))
    assert keys and keys <= documented, keys - documented
