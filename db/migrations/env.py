"""Alembic environment: runs on the connection and state schema that db.state.migrate passes in.

A migration is frozen history and writes "{schema}" itself: it gets the name checked as a plain
identifier here (db.sql), so that quoting cannot be broken out of.
"""
from alembic import context

from db.sql import check_identifier, quote

config = context.config
connection = config.attributes["connection"]
schema = check_identifier("state schema", config.attributes["schema"])

connection.exec_driver_sql(f"create schema if not exists {quote(schema)}")
context.configure(
    connection=connection,
    version_table_schema=schema,
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations(schema=schema)
