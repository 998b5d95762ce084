"""Alembic environment: runs on the connection and state schema that db.state.migrate passes in."""
from alembic import context

config = context.config
connection = config.attributes["connection"]
schema = config.attributes["schema"]

connection.exec_driver_sql(f'create schema if not exists "{schema}"')
context.configure(
    connection=connection,
    version_table_schema=schema,
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations(schema=schema)
