"""Alembic environment of the GeoEnergy store.

Not run through an ``alembic.ini``: :mod:`geoenergy.store.migrate` builds the
Alembic ``Config`` in code and hands over an open connection in
``config.attributes["connection"]`` (or a URL in ``config.attributes["url"]``).

The GeoAlchemy2 helpers make autogenerate write ``create_geospatial_table`` /
``create_geospatial_index``, which register geometry columns with SpatiaLite
(``RecoverGeometryColumn``, ``CreateSpatialIndex``) and build GiST indexes
on PostGIS.
"""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers

from geoenergy.store.engine import make_engine
from geoenergy.store.models import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to):
    """Compare only GeoEnergy's own tables.

    SpatiaLite and PostGIS keep many system tables (``spatial_ref_sys``,
    ``geometry_columns``, ``SpatialIndex``, ``idx_*`` R-trees, ...) that
    autogenerate must neither drop nor diff.
    """
    if type_ == "table" and reflected and compare_to is None:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def _configure(**kw) -> None:
    context.configure(
        target_metadata=target_metadata,
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
        **kw,
    )


def run_migrations_offline() -> None:
    """Emit the SQL of the migrations instead of running them."""
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    _configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the given connection, or on a new engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
