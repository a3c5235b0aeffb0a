"""Alembic environment: migrations run on the connection observatory.opsdb.migrate hands
over (config.attributes["connection"]), inside the transaction that holds its lock."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
