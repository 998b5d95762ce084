"""Alembic environment: runs on the connection and state schema that db.state.migrate passes in.

Each migration's upgrade(schema) gets the schema already quoted for SQL text (db.sql.quote).
"""
from alembic import context

from db.sql import quote

config = context.config
connection = config.attributes["connection"]
schema = config.attributes["schema"]

connection.exec_driver_sql(f"create schema if not exists {quote(schema, 'state schema')}")
context.configure(
    connection=connection,
    version_table_schema=schema,
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations(schema=quote(schema, "state schema"))
