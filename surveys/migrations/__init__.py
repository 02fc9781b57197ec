"""Alembic migrations of the Gapmeter schema (run through ``surveys.migrate``)."""
