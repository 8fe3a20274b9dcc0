"""The same dbt project on other engines (DESIGN §11, docs/scaling.md): Apache Spark through
dbt-spark and PostgreSQL through dbt-postgres, beside the DuckDB build a cycle normally runs.

The models read the landed tables as the dbt source ``landing``. DuckDB and Spark read the landed
Parquet files in place (the source's ``external_location``; on Spark, views over the files made by
the macro ``landing_tables`` on run start). PostgreSQL cannot read Parquet, so
``load_landing_postgres`` copies a cycle's landing folder into the schema ``landing`` first: each
file is streamed from Arrow by record batches through ``COPY … FROM STDIN``, in one transaction that
replaces the schema whole.

``dbt_engine_args`` and ``dbt_engine_env`` build the ``dbt build`` of one cycle on an engine; the
equivalence test (tests/test_engines.py) runs them and compares every mart with the DuckDB build.
"""
from __future__ import annotations

import os
from pathlib import Path

from orchestration import pipeline
from orchestration.config import Config, Cycle
from orchestration.postgres import _load_mart

ENGINES = ("duckdb", "spark", "postgres")
LANDING_SCHEMA = "landing"        # the dbt source's schema (models/staging/sources.yml: source name)


class EngineError(RuntimeError):
    """An engine could not be prepared for the build; the message says what to check."""


def landed_tables(landing_dir: Path) -> dict[str, Path]:
    """table → its Parquet file in a cycle's landing folder (the quarantine too: a source)."""
    tables = {p.stem: p for p in sorted(Path(landing_dir).glob("*.parquet"))}
    if not tables:
        raise EngineError(f"{landing_dir} holds no landed tables: land the cycle first "
                          f"(tutoring-impact validate --cycle …)")
    return tables


def load_landing_postgres(conninfo: str, landing_dir: Path, schema: str = LANDING_SCHEMA) -> dict[str, int]:
    """Replace ``schema`` with the landed tables of ``landing_dir``; returns rows per table.
    One transaction: a failure leaves the schema as it was."""
    import psycopg
    from psycopg import sql
    tables = landed_tables(landing_dir)
    rows: dict[str, int] = {}
    with psycopg.connect(conninfo) as con, con.cursor() as cur:
        cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
        cur.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
        for table, path in tables.items():
            rows[table] = _load_mart(cur, schema, table, path)
    return rows


def dbt_engine_args(config: Config, cycle: Cycle, engine: str, data_tests: bool = True) -> list[str]:
    """The cycle's ``dbt build`` (pipeline.dbt_args) on ``engine``'s profile target.
    ``data_tests=False`` builds seeds and models only."""
    if engine not in ENGINES:
        raise EngineError(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}")
    args = pipeline.dbt_args(config, cycle) + ["--target", engine]
    if not data_tests:
        args += ["--exclude-resource-type", "test"]
    return args


def dbt_engine_env(engine: str, work_dir: Path, **settings: str) -> dict[str, str]:
    """Environment for a dbt run on ``engine`` whose scratch (Spark warehouse, metastore) lives in
    ``work_dir``; ``settings`` are further TUTORING_IMPACT_* variables of profiles.yml, e.g.
    ``PG_PORT="5433"``."""
    work_dir = Path(work_dir).resolve()
    env = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    if engine == "spark":
        # the JVM resolves its own address before it reads the profile: keep it on the loopback
        env.setdefault("SPARK_LOCAL_IP", os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"))
        env.update({"TUTORING_IMPACT_SPARK_WAREHOUSE": str(work_dir / "spark-warehouse"),
                    "TUTORING_IMPACT_SPARK_METASTORE": str(work_dir / "spark-metastore")})
    env.update({f"TUTORING_IMPACT_{k.upper()}": str(v) for k, v in settings.items()})
    return env


def spark_mart_folder(work_dir: Path, mart: str, schema: str | None = None) -> Path:
    """Where Spark wrote a mart (a Parquet table partitioned by cycle_id) under ``work_dir``."""
    schema = schema or os.environ.get("TUTORING_IMPACT_SPARK_SCHEMA", "tutoring_impact")
    return Path(work_dir).resolve() / "spark-warehouse" / f"{schema}.db" / mart
