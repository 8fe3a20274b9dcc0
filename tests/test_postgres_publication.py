"""The optional PostgreSQL publication (DESIGN §9, §10), against a real PostgreSQL 15 server: every
mart is loaded with its rows and types, the two read roles see only their schema, PUBLIC sees
nothing, readers never see an error or a mix of publications while publishes happen, a reader holding
a snapshot keeps it, a failed load changes nothing, and errors name the server but never the password."""
from __future__ import annotations

import datetime as dt
import decimal
import json
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from conftest import write_config
from orchestration.config import load_config
from orchestration.marts import AGGREGATE
from orchestration.postgres import (AGGREGATE_READER, RESTRICTED_READER, PostgresPublishError, pg_type,
                                    publish_postgres)
from orchestration.publish import publish
from pg_server import free_port, postgres_server  # noqa: F401  (the session fixture)

YEAR = {"id": "2026-27", "first_day": "2026-08-17", "last_day": "2027-06-04", "breaks": []}
DSN_ENV = "TI_TEST_PG_DSN"
USERS = {"agg_user": AGGREGATE_READER, "res_user": RESTRICTED_READER, "nobody": None}
PASSWORD = "reader-pw-Zq9"
TIER_ROWS = 4          # tier_distribution rows per cycle (2 subjects × 2 schools)


# -- a publication folder made by the real publisher -------------------------------------------------

def fake_build(path: Path, cycle_id: str, tier_rows: int = TIER_ROWS, students: int = 40) -> Path:
    con = duckdb.connect(str(path))
    con.execute(f"""create table tier_distribution as
        select '{cycle_id}' as cycle_id, ['reading', 'math'][1 + i % 2] as subject, 'sch-' || (i // 2) as school_id,
               'ALL' as grade, 10 + i as n_students, (10 + i) / 100.0 as share_tier3, false as suppressed,
               date '2026-09-25' as as_of
        from range({tier_rows}) t(i)""")
    con.execute(f"""create table student_tiers as
        select '{cycle_id}' as cycle_id, 'k' || i as student_key, 'stu-' || i as student_id,
               'First' || i || ', "Jr"' as student_name, 1 + i % 3 as tier
        from range({students}) t(i)""")
    # One mart with every kind of column the marts use, and values that trip careless CSV handling.
    con.execute(f"""create table impact_estimates as select * from (values
        ('{cycle_id}', 'reading', 0.1::double, 1.250::decimal(8,3), true, date '2026-09-01',
         timestamp '2026-09-01 10:30:00.123456', timestamptz '2026-09-01 10:30:00+00', [1, 2, 3], {{'lo': 0.5, 'hi': 2.0}},
         'a "quoted", comma' || chr(10) || 'line', 18446744073709551615::ubigint, 'ab'::blob,
         '00000000-0000-0000-0000-00000000002a'::uuid, interval 3 day, 7::tinyint, 1e300::double),
        ('{cycle_id}', '', null, null, null, null, null, null, null, null, null, null, null, null, null, null,
         'inf'::double),
        ('{cycle_id}', '\\.', -2.5e-8, -0.001, false, date '2027-06-04', timestamp '2027-06-04 00:00:00',
         timestamptz '2027-06-04 23:59:59.5+00', [], {{'lo': null, 'hi': 1.0}}, '', 0, ''::blob, null,
         interval 90 minute, -1, -0.0)
    ) t(cycle_id, subject, effect_size, effect_sd, significant, window_end, computed_at, computed_at_utc,
        weeks, ci, note, big_count, raw, run_uuid, wait_time, small, extreme)""")
    con.close()
    return path


@pytest.fixture
def pg_db(postgres_server, request, monkeypatch):  # noqa: F811
    """A fresh database for the test; the publisher connects to it as the superuser via DSN_ENV."""
    name = "t_" + request.node.name.lower()[:50].replace("[", "_").replace("]", "_").replace("-", "_")
    postgres_server.create_database(name)
    for user in USERS:
        postgres_server.execute(f"do $$ begin create role {user} login password '{PASSWORD}'; "
                                f"exception when duplicate_object then null; end $$")
    monkeypatch.setenv(DSN_ENV, postgres_server.dsn(name))
    yield postgres_server, name


@pytest.fixture
def cfg(tmp_path):
    c = load_config(write_config(tmp_path, YEAR, publish={
        "retention": 10, "postgres": {"enabled": True, "dsn_env": DSN_ENV}}))
    c.landing.mkdir(parents=True)
    return c


def publish_cycle(cfg, tmp_path: Path, index: int, tier_rows: int = TIER_ROWS, quarantine: bool = False,
                  students: int = 40) -> str:
    cycle = cfg.cycles[index]
    landing = tmp_path / f"landing-{index}-{tier_rows}"
    landing.mkdir()
    if quarantine:
        pq.write_table(pa.table({"source_file": ["sis/users.csv"] * 2, "line": [7, 9],
                                 "reason": ["bad date", "unknown school"]}), landing / "quarantine.parquet")
    audit = [{"cycle_id": cycle.id, "run_id": f"r{index}", "source_file": "sis/users.csv", "rows_read": 3}]
    build = fake_build(tmp_path / f"build-{index}-{tier_rows}.duckdb", cycle.id, tier_rows, students)
    return publish(cfg, cycle, build, landing, audit)


def engine(pg, db, user=None):
    return sa.create_engine(pg.url(db, user, PASSWORD if user else None), poolclass=sa.pool.NullPool)


def scalar(eng, query):
    with eng.connect() as c:
        return c.execute(sa.text(query)).scalar()


# -- tests -------------------------------------------------------------------------------------------

def test_every_mart_is_loaded_with_its_rows_types_and_values(pg_db, cfg, tmp_path):
    pg, db = pg_db
    version = publish_cycle(cfg, tmp_path, 0, quarantine=True, students=150_000)   # several COPY batches
    folder = cfg.published / version
    result = publish_postgres(cfg, folder, version)

    parquet_rows = {p.stem: pq.ParquetFile(p).metadata.num_rows for p in (folder / "parquet").glob("*.parquet")}
    assert {"tier_distribution", "student_tiers", "impact_estimates", "cycle_audit", "quarantine"} <= set(parquet_rows)
    aggregate_rows = {m: n for m, n in parquet_rows.items() if m in AGGREGATE}
    assert result["schemas"] == {"marts_restricted": parquet_rows, "marts_aggregate": aggregate_rows}
    eng = engine(pg, db)
    insp = sa.inspect(eng)
    assert set(insp.get_table_names("marts_restricted")) == set(parquet_rows) | {"publication"}
    assert set(insp.get_table_names("marts_aggregate")) == set(aggregate_rows) | {"publication"}
    for schema, marts in result["schemas"].items():
        for mart, n in marts.items():
            assert scalar(eng, f"select count(*) from {schema}.{mart}") == n, (schema, mart)
    assert scalar(eng, "select count(*) from marts_restricted.student_tiers") == 150_000
    assert scalar(eng, "select version from marts_aggregate.publication") == version
    assert not {"marts_restricted__new", "marts_aggregate__new", "marts_restricted__old"} & set(insp.get_schema_names())

    types = {c["name"]: str(c["type"]) for c in insp.get_columns("impact_estimates", "marts_aggregate")}
    assert types == {"cycle_id": "TEXT", "subject": "TEXT", "effect_size": "DOUBLE PRECISION",
                     "effect_sd": "NUMERIC(8, 3)", "significant": "BOOLEAN", "window_end": "DATE",
                     "computed_at": "TIMESTAMP", "computed_at_utc": "TIMESTAMP", "weeks": "JSONB", "ci": "JSONB",
                     "note": "TEXT", "big_count": "NUMERIC(20, 0)", "raw": "BYTEA", "run_uuid": "UUID",
                     "wait_time": "INTERVAL", "small": "SMALLINT", "extreme": "DOUBLE PRECISION"}
    assert scalar(eng, "select data_type from information_schema.columns where table_schema = 'marts_aggregate' "
                       "and column_name = 'computed_at_utc'") == "timestamp with time zone"
    with eng.connect() as c:
        got = c.execute(sa.text("select * from marts_aggregate.impact_estimates order by effect_size nulls first")).all()
    utc = dt.timezone.utc
    assert [tuple(r) for r in got] == [
        (cfg.cycles[0].id, "", None, None, None, None, None, None, None, None, None, None, None, None, None, None,
         float("inf")),
        (cfg.cycles[0].id, "\\.", -2.5e-8, decimal.Decimal("-0.001"), False, dt.date(2027, 6, 4),
         dt.datetime(2027, 6, 4), dt.datetime(2027, 6, 4, 23, 59, 59, 500000, tzinfo=utc), [],
         {"lo": None, "hi": 1.0}, "", decimal.Decimal(0), b"", None, dt.timedelta(minutes=90), -1, -0.0),
        (cfg.cycles[0].id, "reading", 0.1, decimal.Decimal("1.250"), True, dt.date(2026, 9, 1),
         dt.datetime(2026, 9, 1, 10, 30, 0, 123456), dt.datetime(2026, 9, 1, 10, 30, tzinfo=utc), [1, 2, 3],
         {"lo": 0.5, "hi": 2.0}, 'a "quoted", comma\nline', decimal.Decimal(18446744073709551615), b"ab",
         uuid.UUID(int=42), dt.timedelta(days=3), 7, 1e300),
    ]
    assert scalar(eng, "select student_name from marts_restricted.student_tiers where student_id = 'stu-7'") == \
        'First7, "Jr"'
    eng.dispose()


def test_each_reader_role_sees_only_its_schema_and_public_sees_nothing(pg_db, cfg, tmp_path):
    pg, db = pg_db
    # A careless server default that would hand every new table to PUBLIC: the publisher overrides it.
    pg.execute("alter default privileges for role postgres grant select on tables to public", dbname=db)
    version = publish_cycle(cfg, tmp_path, 0, quarantine=True)
    publish_postgres(cfg, cfg.published / version, version)
    pg.execute(f"grant {AGGREGATE_READER} to agg_user", f"grant {RESTRICTED_READER} to res_user", dbname=db)

    with psycopg.connect(pg.dsn(db)) as con:
        assert con.execute("select rolname, rolcanlogin from pg_roles where rolname in (%s, %s) order by 1",
                           [AGGREGATE_READER, RESTRICTED_READER]).fetchall() == \
            [(AGGREGATE_READER, False), (RESTRICTED_READER, False)]
        public_grants = con.execute("""
            select n.nspname, null from pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
            where n.nspname like 'marts_%' and a.grantee = 0
            union all
            select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace,
                   aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
            where n.nspname like 'marts_%' and a.grantee = 0""").fetchall()
        assert public_grants == []

    agg, res, nobody = (engine(pg, db, u) for u in ("agg_user", "res_user", "nobody"))
    assert scalar(agg, "select count(*) from marts_aggregate.tier_distribution") == TIER_ROWS
    assert scalar(agg, "select version from marts_aggregate.publication") == version
    for table in ("student_tiers", "quarantine", "tier_distribution"):
        with pytest.raises(sa.exc.ProgrammingError) as e:
            scalar(agg, f"select count(*) from marts_restricted.{table}")
        assert isinstance(e.value.orig, psycopg.errors.InsufficientPrivilege)
    assert scalar(res, "select count(*) from marts_restricted.student_tiers") == 40
    assert scalar(res, "select count(*) from marts_restricted.quarantine") == 2
    assert scalar(res, "select count(*) from marts_aggregate.tier_distribution") == TIER_ROWS
    for table in ("marts_aggregate.tier_distribution", "marts_aggregate.publication", "marts_restricted.student_tiers"):
        with pytest.raises(sa.exc.ProgrammingError) as e:
            scalar(nobody, f"select count(*) from {table}")
        assert isinstance(e.value.orig, psycopg.errors.InsufficientPrivilege)
    # A restricted mart never reaches the aggregate schema, even by name.
    with pytest.raises(sa.exc.ProgrammingError):
        scalar(res, "select count(*) from marts_aggregate.student_tiers")
    # Grants survive the next swap: they were set on the schemas before they went live.
    version2 = publish_cycle(cfg, tmp_path, 1)
    publish_postgres(cfg, cfg.published / version2, version2)
    assert scalar(agg, "select count(*) from marts_aggregate.tier_distribution") == 2 * TIER_ROWS
    for e_ in (agg, res, nobody):
        e_.dispose()


READER = textwrap.dedent("""
    import json, os, sys, psycopg
    dsn, stop = sys.argv[1], sys.argv[2]
    QUERY = ("select p.version, t.n, t.lo, t.hi from marts_aggregate.publication p cross join "
             "(select count(*) as n, min(cycle_id) as lo, max(cycle_id) as hi from marts_aggregate.tier_distribution) t")
    last, queries = None, 0
    with psycopg.connect(dsn, autocommit=True) as con:
        print(json.dumps({"ready": True}), flush=True)
        while not os.path.exists(stop):
            try:
                rows = [list(r) for r in con.execute(QUERY).fetchall()]
            except Exception as e:
                print(json.dumps({"error": type(e).__name__ + ": " + str(e)}), flush=True)
                continue
            queries += 1
            if rows != last:             # report every change: a mixed answer is always a change
                print(json.dumps({"rows": rows}), flush=True)
                last = rows
    print(json.dumps({"queries": queries}), flush=True)
""")


def test_readers_never_see_an_error_or_a_mix_of_publications(pg_db, cfg, tmp_path):
    pg, db = pg_db
    c = cfg.cycles
    versions = [publish_cycle(cfg, tmp_path, 0)]
    publish_postgres(cfg, cfg.published / versions[0], versions[0])
    pg.execute(f"grant {AGGREGATE_READER} to agg_user", dbname=db)
    # What each publication holds: cycles accumulate, and a rerun of cycle 3 replaces its rows.
    expected = {versions[0]: [versions[0], TIER_ROWS, c[0].id, c[0].id]}
    stop = tmp_path / "stop-readers"
    readers = [subprocess.Popen([sys.executable, "-c", READER, pg.dsn(db, "agg_user", PASSWORD), str(stop)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    seen = [[] for _ in readers]

    def collect(i):
        for line in readers[i].stdout:
            seen[i].append(json.loads(line))
    threads = [threading.Thread(target=collect, args=(i,), daemon=True) for i in range(len(readers))]
    for t in threads:
        t.start()

    def wait_until_all_saw(version, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if all(any(o.get("rows") and o["rows"][0][0] == version for o in s) for s in seen):
                return
            time.sleep(0.02)
        raise AssertionError(f"readers never saw {version}: {seen}")

    try:
        wait_until_all_saw(versions[0])
        for index, tier_rows, n_total in ((1, TIER_ROWS, 2 * TIER_ROWS), (2, TIER_ROWS, 3 * TIER_ROWS),
                                          (2, TIER_ROWS + 1, 3 * TIER_ROWS + 1)):
            v = publish_cycle(cfg, tmp_path, index, tier_rows=tier_rows)
            expected[v] = [v, n_total, c[0].id, c[index].id]
            publish_postgres(cfg, cfg.published / v, v)
            versions.append(v)
            wait_until_all_saw(v)
    finally:
        stop.write_text("1")
        for r in readers:
            r.wait(timeout=30)
        for t in threads:
            t.join(timeout=5)
    assert versions[-1] == f"{c[2].id}/v2" and len(expected) == 4
    for i, observations in enumerate(seen):
        assert not [o for o in observations if "error" in o], (readers[i].stderr.read(), observations)
        answers = [o["rows"] for o in observations if "rows" in o]
        assert all(len(a) == 1 and a[0] == expected[a[0][0]] for a in answers), answers
        assert [a[0][0] for a in answers] == versions       # every publication, in order, none skipped back
        assert observations[-1]["queries"] > 20


def test_a_reader_holding_a_snapshot_keeps_it_and_the_swap_waits(pg_db, cfg, tmp_path):
    pg, db = pg_db
    v1 = publish_cycle(cfg, tmp_path, 0)
    publish_postgres(cfg, cfg.published / v1, v1)
    v2 = publish_cycle(cfg, tmp_path, 1)
    query = ("select (select version from marts_aggregate.publication), count(*) "
             "from marts_aggregate.tier_distribution")
    with psycopg.connect(pg.dsn(db)) as reader:
        reader.execute("begin isolation level repeatable read")
        assert reader.execute(query).fetchone() == (v1, TIER_ROWS)
        outcome = {}
        publisher = threading.Thread(target=lambda: outcome.update(publish_postgres(cfg, cfg.published / v2, v2)))
        publisher.start()
        time.sleep(1.5)                              # longer than deadlock_timeout: no one is made a victim
        assert publisher.is_alive()                  # the swap waits for the reader's transaction …
        assert reader.execute(query).fetchone() == (v1, TIER_ROWS)   # … which still reads its publication
        reader.commit()
        publisher.join(timeout=20)
        assert not publisher.is_alive() and outcome["version"] == v2 and outcome["swap_tries"] > 1
        assert reader.execute(query).fetchone() == (v2, 2 * TIER_ROWS)


def test_a_failed_load_changes_nothing(pg_db, cfg, tmp_path, monkeypatch):
    pg, db = pg_db
    v1 = publish_cycle(cfg, tmp_path, 0)
    publish_postgres(cfg, cfg.published / v1, v1)
    v2 = publish_cycle(cfg, tmp_path, 1)
    import orchestration.postgres as pgpub
    real_load, loaded = pgpub._load_mart, []

    def load_then_fail(cur, schema, mart, path):
        if loaded:
            raise psycopg.errors.DiskFull("could not extend file: No space left on device")
        loaded.append(mart)
        return real_load(cur, schema, mart, path)
    monkeypatch.setattr(pgpub, "_load_mart", load_then_fail)
    with pytest.raises(PostgresPublishError, match="loading mart"):
        publish_postgres(cfg, cfg.published / v2, v2)
    eng = engine(pg, db)
    assert scalar(eng, "select version from marts_aggregate.publication") == v1
    assert scalar(eng, "select count(*) from marts_aggregate.tier_distribution") == TIER_ROWS
    assert not [s for s in sa.inspect(eng).get_schema_names() if s.endswith(("__new", "__old"))]
    # A view built elsewhere on a served table would be dropped by the swap: refuse, change nothing.
    monkeypatch.undo()
    monkeypatch.setenv(DSN_ENV, pg.dsn(db))
    pg.execute("create schema bi", "create view bi.tiers as select * from marts_aggregate.tier_distribution", dbname=db)
    with pytest.raises(PostgresPublishError, match=r"bi\.tiers"):
        publish_postgres(cfg, cfg.published / v2, v2)
    assert scalar(eng, "select version from marts_aggregate.publication") == v1
    pg.execute("drop schema bi cascade", dbname=db)
    assert publish_postgres(cfg, cfg.published / v2, v2)["version"] == v2
    eng.dispose()


def test_errors_name_the_server_and_what_to_check_but_never_the_password(pg_db, cfg, tmp_path, monkeypatch):
    pg, db = pg_db
    v1 = publish_cycle(cfg, tmp_path, 0)
    publish_postgres(cfg, cfg.published / v1, v1)             # the reader roles exist from here on
    closed = free_port()
    monkeypatch.setenv(DSN_ENV, f"postgresql://postgres:S3cret-pw@127.0.0.1:{closed}/{db}")
    with pytest.raises(PostgresPublishError) as e:
        publish_postgres(cfg, cfg.published / v1, v1)
    assert f"127.0.0.1:{closed}/{db}" in str(e.value) and "running" in str(e.value)
    assert "S3cret-pw" not in str(e.value)
    monkeypatch.setenv(DSN_ENV, pg.dsn(db, "agg_user", "S3cret-pw"))
    with pytest.raises(PostgresPublishError) as e:
        publish_postgres(cfg, cfg.published / v1, v1)
    assert f"127.0.0.1:{pg.port}/{db} as user agg_user" in str(e.value) and "password" in str(e.value)
    assert "S3cret-pw" not in str(e.value)
    # A user who may connect but not create schemas is told what it needs.
    monkeypatch.setenv(DSN_ENV, pg.dsn(db, "nobody", PASSWORD))
    with pytest.raises(PostgresPublishError, match="CREATE on database") as e:
        publish_postgres(cfg, cfg.published / v1, v1)
    assert PASSWORD not in str(e.value)
    # A value PostgreSQL rejects is located by row and column, never quoted (it may be a student's).
    monkeypatch.setenv(DSN_ENV, pg.dsn(db))
    v2 = publish_cycle(cfg, tmp_path, 1)
    pq.write_table(pa.table({"cycle_id": ["c", "c"], "student_name": ["Ada Lovelace", "Grace\x00Hopper"]}),
                   cfg.published / v2 / "parquet" / "student_dosage.parquet")
    with pytest.raises(PostgresPublishError, match=r"student_dosage at row 2.*not shown") as e:
        publish_postgres(cfg, cfg.published / v2, v2)
    assert "Grace" not in str(e.value) and "Hopper" not in str(e.value)
    monkeypatch.delenv(DSN_ENV)
    with pytest.raises(PostgresPublishError, match=DSN_ENV):
        publish_postgres(cfg, cfg.published / v1, v1)
    with pytest.raises(PostgresPublishError, match="not .*v9"):
        publish_postgres(cfg, cfg.published / v1, "2026-27-C1/v9")


def test_arrow_types_other_than_duckdbs_load_too(pg_db, cfg, tmp_path):
    """Marts come from DuckDB, but a Parquet file written by another tool can carry other Arrow types."""
    pg, db = pg_db
    version = publish_cycle(cfg, tmp_path, 0)
    ny = "America/New_York"
    pq.write_table(pa.table({
        "cycle_id": pa.array(["c", "c"]).dictionary_encode(),
        "label": pa.array(["x", None], pa.string_view()),
        "minutes": pa.array([90 * 60_000, None], pa.duration("ms")),
        "at": pa.array([1_000_000_001, None], pa.timestamp("ns")),
        "at_ny": pa.array([dt.datetime(2026, 9, 1, 14, tzinfo=dt.timezone.utc), None], pa.timestamp("us", tz=ny)),
        "day": pa.array([dt.date(2026, 9, 1), None], pa.date64()),
        "start": pa.array([dt.time(15, 30), None], pa.time64("us")),
        "ratio": pa.array([1.5, None], pa.float16()),
        "blob": pa.array([b"\x00\xff", None], pa.large_binary()),
        "nothing": pa.array([None, None], pa.null()),
        "by_grade": pa.array([[("3", decimal.Decimal("0.125"))], None], pa.map_(pa.string(), pa.decimal128(6, 3))),
    }), cfg.published / version / "parquet" / "program_costs.parquet")
    publish_postgres(cfg, cfg.published / version, version)
    with psycopg.connect(pg.dsn(db)) as con:
        rows = con.execute("select * from marts_aggregate.program_costs order by label nulls last").fetchall()
    assert rows == [
        ("c", "x", dt.timedelta(minutes=90), dt.datetime(1970, 1, 1, 0, 0, 1), dt.datetime(2026, 9, 1, 14, tzinfo=dt.timezone.utc),
         dt.date(2026, 9, 1), dt.time(15, 30), 1.5, b"\x00\xff", None, {"3": decimal.Decimal("0.125")}),
        ("c", None, None, None, None, None, None, None, None, None, None),
    ]


@pytest.mark.parametrize("arrow_type, expected", [
    (pa.string(), "text"), (pa.large_string(), "text"), (pa.null(), "text"), (pa.bool_(), "boolean"),
    (pa.int8(), "smallint"), (pa.int16(), "smallint"), (pa.uint8(), "smallint"), (pa.int32(), "integer"),
    (pa.uint16(), "integer"), (pa.int64(), "bigint"), (pa.uint32(), "bigint"), (pa.uint64(), "numeric(20,0)"),
    (pa.float32(), "real"), (pa.float64(), "double precision"), (pa.decimal128(18, 3), "numeric(18,3)"),
    (pa.date32(), "date"), (pa.date64(), "date"), (pa.timestamp("us"), "timestamp without time zone"),
    (pa.timestamp("ns", tz="America/New_York"), "timestamp with time zone"), (pa.time64("us"), "time without time zone"),
    (pa.duration("ms"), "interval"), (pa.binary(), "bytea"), (pa.list_(pa.int32()), "jsonb"),
    (pa.struct([("a", pa.int32())]), "jsonb"), (pa.dictionary(pa.int32(), pa.string()), "text"),
    (pa.uuid(), "uuid"), (pa.month_day_nano_interval(), None),
])
def test_arrow_types_map_to_postgresql_types(arrow_type, expected):
    assert pg_type(arrow_type) == expected
