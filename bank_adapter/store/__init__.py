"""Storage: SQLAlchemy Core on SQLite (embedded default) or PostgreSQL."""
