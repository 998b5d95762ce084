"""The bot's own schema: created and upgraded by Alembic migrations in db/migrations."""
from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine


def alembic_config(schema: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("db").joinpath("migrations")))
    cfg.attributes["schema"] = schema
    return cfg


def migrate(engine: Engine, schema: str) -> None:
    """Bring the state schema to the latest version; safe to run at every start."""
    cfg = alembic_config(schema)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
