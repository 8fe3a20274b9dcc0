"""The optional PostgreSQL publication (DESIGN §9, §10): a finished publication folder
``published/<cycle>/v<N>/`` is loaded into two schemas, swapped in whole.

- ``marts_restricted`` holds every mart, restricted ones and ``quarantine`` included; only the role
  ``tutoring_impact_restricted_reader`` may read it.
- ``marts_aggregate`` holds the aggregate marts only; ``tutoring_impact_aggregate_reader`` (and the
  restricted reader) may read it. Both roles are NOLOGIN group roles: a DBA grants them to people.
- Nothing is granted to PUBLIC, whatever the server's default privileges say.
- ``publication`` (version, published_at) in both schemas says which publication is being served.

Every mart's ``parquet/<mart>.parquet`` is streamed by record batches from Arrow through
``COPY … FROM STDIN (FORMAT csv)`` into ``<schema>__new``. Loading and the swap share one
transaction, so nobody ever sees the staging schemas or a partly loaded cycle, and a failure anywhere
leaves the database as it was. The swap renames ``<schema>`` to ``<schema>__old`` and ``<schema>__new``
to ``<schema>``, then drops the old one. It starts by locking every served table, and each try waits
only briefly (less than the server's deadlock_timeout): a reader that is in the middle of a
transaction on the old tables keeps its snapshot and finishes undisturbed, and the publisher tries
again after it. A query that arrives during the swap waits for the commit and then reads the new
tables, because PostgreSQL looks a name up again once it has its lock. So a reader sees one whole
publication or the next one, never a mix of the two. (One limit is PostgreSQL's: a REPEATABLE READ
transaction that began before the swap but first touches the tables after it finds them empty, because
their rows were written after its snapshot. BI tools read in READ COMMITTED, the default.)

Errors raise ``PostgresPublishError`` with the server (host, port, database, user), what to check, and
never the password or a row's values (student-level data stays out of logs, §9).
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from orchestration.config import Config
from orchestration.marts import access
from orchestration.publish import PublishError

RESTRICTED_SCHEMA = "marts_restricted"
AGGREGATE_SCHEMA = "marts_aggregate"
RESTRICTED_READER = "tutoring_impact_restricted_reader"
AGGREGATE_READER = "tutoring_impact_aggregate_reader"
PUBLICATION_TABLE = "publication"
BATCH_ROWS = 65_536                   # rows per Arrow batch sent through COPY; bounds the memory used
CONNECT_TIMEOUT_S = 10
LOCK_WAIT_S = 600                     # how long the swap keeps retrying while readers hold the old tables
_ADVISORY_KEY = 0x7475746f72          # one publisher per database at a time ("tutor")
_MAX_IDENTIFIER_BYTES = 63            # PostgreSQL truncates longer names silently


class PostgresPublishError(PublishError):
    """The PostgreSQL publication failed; the database still serves the publication it served before."""


def postgres_enabled(config: Config) -> bool:
    return bool((config["publish"].get("postgres") or {}).get("enabled"))


# -- the server ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Server:
    dsn: str
    env: str
    host: str
    port: str
    dbname: str
    user: str
    password: str | None

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.dbname} as user {self.user}"

    def redact(self, text: str) -> str:
        return text.replace(self.password, "***") if self.password else text


def _server(config: Config) -> _Server:
    from psycopg.conninfo import conninfo_to_dict
    env = str((config["publish"].get("postgres") or {}).get("dsn_env") or "TUTORING_IMPACT_PG")
    dsn = os.environ.get(env, "").strip()
    if not dsn:
        raise PostgresPublishError(
            f"the PostgreSQL publication is enabled (publish.postgres.enabled) but the environment variable "
            f"{env} is not set: set it to a connection string such as postgresql://USER@HOST:5432/DBNAME "
            f"(keep the password in ~/.pgpass or PGPASSWORD, not in the config)")
    try:
        parts = conninfo_to_dict(dsn)
    except Exception:
        # The parser's message may quote the string, password included: do not pass it on.
        raise PostgresPublishError(
            f"the value of {env} is not a PostgreSQL connection string: expected postgresql://USER@HOST:PORT/DBNAME "
            f"or 'host=HOST port=PORT dbname=DBNAME user=USER'") from None
    user = str(parts.get("user") or os.environ.get("PGUSER") or _os_user())
    return _Server(
        dsn=dsn, env=env,
        host=str(parts.get("host") or parts.get("hostaddr") or os.environ.get("PGHOST") or "local socket"),
        port=str(parts.get("port") or os.environ.get("PGPORT") or 5432),
        dbname=str(parts.get("dbname") or os.environ.get("PGDATABASE") or user),
        user=user, password=parts.get("password") or os.environ.get("PGPASSWORD"))


def _os_user() -> str:
    import getpass
    try:
        return getpass.getuser()
    except Exception:
        return "?"


def _connect(server: _Server):
    import psycopg
    from psycopg.conninfo import conninfo_to_dict
    extra = {"application_name": "tutoring-impact publish"}
    if "connect_timeout" not in conninfo_to_dict(server.dsn):
        extra["connect_timeout"] = CONNECT_TIMEOUT_S
    try:
        return psycopg.connect(server.dsn, autocommit=True, **extra)
    except psycopg.OperationalError as e:
        raise PostgresPublishError(_connection_advice(server, e)) from None


def _connection_advice(server: _Server, e: Exception) -> str:
    said = server.redact(" ".join(str(e).split()))
    low = said.lower()
    where = f"PostgreSQL at {server}"
    if "password authentication failed" in low or "authentication failed" in low or "no password supplied" in low:
        check = (f"check the user name and password for {server.user} (in {server.env}, ~/.pgpass or PGPASSWORD) "
                 f"and the server's pg_hba.conf")
    elif "does not exist" in low and "database" in low:
        check = f"create the database {server.dbname} or correct the name in {server.env}"
    elif "pg_hba.conf" in low:
        check = f"ask the DBA to allow {server.user} from this machine in pg_hba.conf"
    else:
        check = (f"check that the server is running and accepts TCP connections on {server.host}:{server.port}, "
                 f"that {server.env} names the right host and port, and that no firewall is in the way")
    return f"could not connect to {where}: {check}. The server said: {said}"


def _db_error(server: _Server, e: Exception, doing: str) -> PostgresPublishError:
    """A database error without row values: data errors (SQLSTATE class 22/23) quote the offending
    value, which may be student-level, so only the row number and column are kept."""
    sqlstate = getattr(e, "sqlstate", None) or "?"
    diag = getattr(e, "diag", None)
    primary = (diag.message_primary if diag else None) or str(e).split("\n")[0]
    if sqlstate[:2] in ("22", "23"):
        m = re.search(r"line (\d+)(?:, column ([^:]+))?", (diag.context if diag else "") or "")
        at = f" at row {m.group(1)}" + (f", column {m.group(2)}" if m and m.group(2) else "") if m else ""
        return PostgresPublishError(f"PostgreSQL ({server}) rejected a value while {doing}{at}: {type(e).__name__} "
                                    f"(SQLSTATE {sqlstate}); values are not shown because they may be student-level")
    hint = ""
    if sqlstate == "42501":
        hint = (f" — {server.user} needs CREATE on database {server.dbname}, ownership of the schemas "
                f"{RESTRICTED_SCHEMA} and {AGGREGATE_SCHEMA}, and CREATEROLE unless the reader roles exist")
    return PostgresPublishError(f"PostgreSQL ({server}) failed while {doing}: {server.redact(primary)} "
                                f"(SQLSTATE {sqlstate}){hint}")


# -- Arrow → PostgreSQL types -----------------------------------------------------------------------

def pg_type(t: pa.DataType, parquet_interval: bool = False) -> str | None:
    """The PostgreSQL column type for an Arrow type (None when there is no sensible one).
    ``parquet_interval``: a 12-byte fixed binary that Parquet marks as an INTERVAL (DuckDB's)."""
    if getattr(t, "extension_name", None) == "arrow.uuid":
        return "uuid"
    if isinstance(t, pa.BaseExtensionType):
        return pg_type(t.storage_type)
    if pa.types.is_dictionary(t):
        return pg_type(t.value_type)
    if pa.types.is_null(t) or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return "smallint"
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return "integer"
    if pa.types.is_int64(t) or pa.types.is_uint32(t):
        return "bigint"
    if pa.types.is_uint64(t):
        return "numeric(20,0)"
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return "real"
    if pa.types.is_float64(t):
        return "double precision"
    if pa.types.is_decimal(t):
        return f"numeric({t.precision},{t.scale})" if t.scale >= 0 else "numeric"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp with time zone" if t.tz else "timestamp without time zone"
    if pa.types.is_time(t):
        return "time without time zone"
    if pa.types.is_duration(t):
        return "interval"
    if pa.types.is_fixed_size_binary(t) and parquet_interval and t.byte_width == 12:
        return "interval"
    if (pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t)
            or pa.types.is_binary_view(t)):
        return "bytea"
    if (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)
            or pa.types.is_list_view(t) or pa.types.is_struct(t) or pa.types.is_map(t)):
        return "jsonb"
    return None


def _json(v) -> str:
    """JSON text for a nested Arrow value: decimals stay exact numbers (jsonb numbers are numeric),
    NaN and infinities (which JSON cannot spell) become null, other scalars become strings."""
    import decimal
    import math
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else "null"
    if isinstance(v, decimal.Decimal):
        return str(v) if v.is_finite() else "null"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_json(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_json(x) for x in v) + "]"
    if isinstance(v, bytes):
        return json.dumps("\\x" + v.hex())
    return json.dumps(v.isoformat() if hasattr(v, "isoformat") else str(v))


def _pylist_to_text(values: list, fmt) -> pa.Array:
    return pa.array([None if v is None else fmt(v) for v in values], pa.string())


def _csv_ready(col: pa.Array, pgt: str) -> pa.Array:
    """The column as the CSV writer should see it so that PostgreSQL parses each value back exactly.
    Most types are written natively; the few the CSV writer cannot render become text here."""
    t = col.type
    if pa.types.is_dictionary(t):
        return _csv_ready(col.dictionary_decode(), pgt)
    if getattr(t, "extension_name", None) == "arrow.uuid":
        import uuid
        return _pylist_to_text(col.storage.to_pylist(), lambda b: str(uuid.UUID(bytes=b)))
    if isinstance(t, pa.BaseExtensionType):
        return _csv_ready(col.storage, pgt)
    if pgt == "bytea":
        return _pylist_to_text(col.cast(pa.large_binary()).to_pylist() if not pa.types.is_fixed_size_binary(t)
                               else col.to_pylist(), lambda b: "\\x" + b.hex())
    if pgt == "jsonb":
        return _pylist_to_text(col.to_pylist(maps_as_pydicts="lossy"), _json)
    if pgt == "interval" and pa.types.is_duration(t):
        per_us = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": None}[t.unit]
        n = col.cast(pa.int64())
        us = pc.divide(n, 1000) if per_us is None else pc.multiply(n, per_us)
        return pc.binary_join_element_wise(us.cast(pa.string()), pa.scalar(" microseconds"), "")
    if pgt == "interval":              # Parquet INTERVAL: little-endian uint32 months, days, milliseconds
        def interval(b: bytes) -> str:
            months, days, ms = (int.from_bytes(b[i:i + 4], "little") for i in (0, 4, 8))
            return f"{months} months {days} days {ms} milliseconds"
        return _pylist_to_text(col.to_pylist(), interval)
    if pa.types.is_float16(t):
        return col.cast(pa.float32())
    if pa.types.is_string_view(t):
        return col.cast(pa.string())
    return col


@dataclass(frozen=True)
class _Column:
    name: str
    pg_type: str


def _columns(mart: str, pf: pq.ParquetFile) -> list[_Column]:
    intervals = {pf.schema.column(i).path for i in range(len(pf.schema))
                 if str(pf.schema.column(i).converted_type) == "INTERVAL"}
    out = []
    for field in pf.schema_arrow:
        if len(field.name.encode()) > _MAX_IDENTIFIER_BYTES:
            raise PostgresPublishError(f"mart {mart}: column name {field.name!r} is longer than PostgreSQL's "
                                       f"{_MAX_IDENTIFIER_BYTES}-byte limit; shorten it in the dbt model")
        t = pg_type(field.type, parquet_interval=field.name in intervals)
        if t is None:
            raise PostgresPublishError(f"mart {mart}: column {field.name} has Arrow type {field.type}, which the "
                                       f"PostgreSQL publication does not map; cast it in the dbt model")
        out.append(_Column(field.name, t))
    return out


# -- loading ----------------------------------------------------------------------------------------

def _marts_of(folder: Path, version: str) -> dict[str, Path]:
    """mart → its Parquet file, for a finished publication whose folder matches ``version``."""
    real = folder.resolve()
    if not (real / "marts_aggregate.duckdb").is_file() or not (real / "parquet").is_dir():
        raise PostgresPublishError(f"{folder} is not a finished publication folder (expected parquet/ and "
                                   f"marts_aggregate.duckdb); load only what orchestration.publish produced")
    if "/".join(real.parts[-2:]) != version:
        raise PostgresPublishError(f"{folder} holds publication {'/'.join(real.parts[-2:])}, not {version}")
    marts = {p.stem: p for p in sorted((real / "parquet").glob("*.parquet"))}
    if not marts:
        raise PostgresPublishError(f"{folder}/parquet holds no marts")
    for m in marts:
        if m == PUBLICATION_TABLE or len(m.encode()) > _MAX_IDENTIFIER_BYTES or not re.fullmatch(r"[a-z_][a-z0-9_]*", m):
            raise PostgresPublishError(f"mart name {m!r} cannot be a PostgreSQL table here (lower-case letters, "
                                       f"digits and _, at most {_MAX_IDENTIFIER_BYTES} bytes, not '{PUBLICATION_TABLE}')")
    return marts


def _load_mart(cur, schema: str, mart: str, path: Path) -> int:
    """Create ``schema.mart`` and COPY the Parquet file into it batch by batch; returns its rows."""
    from psycopg import sql
    pf = pq.ParquetFile(path)
    cols = _columns(mart, pf)
    table = sql.Identifier(schema, mart)
    cur.execute(sql.SQL("create table {} ({})").format(table, sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in cols)))
    if not cols or pf.metadata.num_rows == 0:
        return 0
    names = [c.name for c in cols]
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")  # every string is quoted:
    copied = 0                                                                 # "" is '', empty is NULL
    with cur.copy(sql.SQL("copy {} ({}) from stdin (format csv)").format(
            table, sql.SQL(", ").join(map(sql.Identifier, names)))) as copy:
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            ready = pa.RecordBatch.from_arrays(
                [_csv_ready(batch.column(i), c.pg_type) for i, c in enumerate(cols)], names=names)
            sink = pa.BufferOutputStream()
            pacsv.write_csv(ready, sink, options)
            copy.write(memoryview(sink.getvalue()))
            copied += batch.num_rows
    if copied != pf.metadata.num_rows:
        raise PostgresPublishError(f"mart {mart}: read {copied} rows of {pf.metadata.num_rows} from {path}")
    return copied


def _ensure_roles(con, server: _Server) -> None:
    import psycopg
    from psycopg import sql
    for role in (RESTRICTED_READER, AGGREGATE_READER):
        if con.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone():
            continue
        try:
            con.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
        except psycopg.errors.DuplicateObject:
            pass                                   # another database of this cluster created it meanwhile
        except psycopg.errors.InsufficientPrivilege:
            raise PostgresPublishError(
                f"the read role {role} does not exist on PostgreSQL ({server}) and {server.user} may not create "
                f"roles: ask a DBA to run CREATE ROLE {role} NOLOGIN, or grant {server.user} CREATEROLE") from None


def _grant(cur, new: dict[str, str]) -> None:
    """Privileges travel with the schemas when they are renamed, so they are set on the staging ones.
    PUBLIC loses everything explicitly, in case the server's default privileges grant it something."""
    from psycopg import sql
    r, a = sql.Identifier(new[RESTRICTED_SCHEMA]), sql.Identifier(new[AGGREGATE_SCHEMA])
    res, agg = sql.Identifier(RESTRICTED_READER), sql.Identifier(AGGREGATE_READER)
    for stmt in (
        "revoke all on schema {r}, {a} from public",
        "revoke all on all tables in schema {r}, {a} from public",
        "grant usage on schema {r} to {res}",
        "grant select on all tables in schema {r} to {res}",
        "grant usage on schema {a} to {agg}, {res}",
        "grant select on all tables in schema {a} to {agg}, {res}",
        # Tables someone adds to a served schema later (as this user) are readable by the same roles.
        "alter default privileges in schema {r} grant select on tables to {res}",
        "alter default privileges in schema {a} grant select on tables to {agg}, {res}",
    ):
        cur.execute(sql.SQL(stmt).format(r=r, a=a, res=res, agg=agg))


def _outside_dependents(cur) -> list[str]:
    """Views outside the served schemas built on their tables. The swap drops the old tables, so
    DROP SCHEMA … CASCADE would silently drop those views too; refuse instead."""
    ours = [RESTRICTED_SCHEMA, AGGREGATE_SCHEMA, f"{RESTRICTED_SCHEMA}__new", f"{AGGREGATE_SCHEMA}__new"]
    rows = cur.execute("""
        select distinct vn.nspname || '.' || v.relname
        from pg_depend d
        join pg_rewrite rw on d.classid = 'pg_rewrite'::regclass and d.objid = rw.oid
        join pg_class v on v.oid = rw.ev_class
        join pg_namespace vn on vn.oid = v.relnamespace
        join pg_class t on d.refclassid = 'pg_class'::regclass and d.refobjid = t.oid
        join pg_namespace tn on tn.oid = t.relnamespace
        where tn.nspname = any(%s) and not (vn.nspname = any(%s)) and v.oid <> t.oid
        order by 1""", [[RESTRICTED_SCHEMA, AGGREGATE_SCHEMA], ours]).fetchall()
    return [r[0] for r in rows]


def _swap(con, cur, server: _Server, deadline: float) -> int:
    """Rename live → __old, __new → live and drop __old, inside the open transaction (in a
    savepoint per try). Returns how many tries it took."""
    import psycopg
    from psycopg import sql
    # Wait less than deadlock_timeout for each lock, so a reader waiting behind this publisher is
    # never chosen as a deadlock victim: the publisher gives way first.
    deadlock_ms = cur.execute("select setting::int from pg_settings where name = 'deadlock_timeout'").fetchone()[0]
    cur.execute(f"set local lock_timeout = {max(10, min(200, deadlock_ms // 4))}")
    tries = 0
    while True:
        tries += 1
        try:
            with con.transaction():
                live = [r[0] for r in cur.execute(
                    "select nspname from pg_namespace where nspname = any(%s) order by 1",
                    [[RESTRICTED_SCHEMA, AGGREGATE_SCHEMA]]).fetchall()]
                tables = cur.execute(
                    "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                    "where n.nspname = any(%s) and c.relkind in ('r', 'p', 'v', 'm', 'f') order by 1, 2",
                    [live]).fetchall()
                if tables:
                    cur.execute(sql.SQL("lock table {} in access exclusive mode").format(
                        sql.SQL(", ").join(sql.Identifier(*t) for t in tables)))
                for s in (RESTRICTED_SCHEMA, AGGREGATE_SCHEMA):
                    if s in live:
                        cur.execute(sql.SQL("alter schema {} rename to {}").format(
                            sql.Identifier(s), sql.Identifier(f"{s}__old")))
                    cur.execute(sql.SQL("alter schema {} rename to {}").format(
                        sql.Identifier(f"{s}__new"), sql.Identifier(s)))
                    if s in live:
                        cur.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(f"{s}__old")))
            return tries
        except psycopg.errors.LockNotAvailable:
            if time.monotonic() > deadline:
                raise PostgresPublishError(
                    f"PostgreSQL ({server}): readers kept the served tables busy for longer than the lock wait; "
                    f"nothing was changed. Look for long transactions in pg_stat_activity (state 'idle in "
                    f"transaction') and publish again") from None
            time.sleep(min(0.05 * tries, 1.0))


def publish_postgres(config: Config, publication_folder: Path, version: str,
                     lock_wait_seconds: float | None = None) -> dict:
    """Serve the publication in ``publication_folder`` (VERSION ``version``) from PostgreSQL.

    Returns counts for run metadata: ``{"version", "server", "schemas": {schema: {mart: rows}},
    "rows", "seconds", "swap_tries"}`` — counts only, never values.
    """
    import psycopg
    from psycopg import sql
    started = time.monotonic()
    marts = _marts_of(Path(publication_folder), version)
    server = _server(config)
    wait = float(lock_wait_seconds if lock_wait_seconds is not None
                 else (config["publish"].get("postgres") or {}).get("lock_wait_seconds", LOCK_WAIT_S))
    new = {s: f"{s}__new" for s in (RESTRICTED_SCHEMA, AGGREGATE_SCHEMA)}
    counts: dict[str, dict[str, int]] = {RESTRICTED_SCHEMA: {}, AGGREGATE_SCHEMA: {}}
    doing = "connecting"
    with _connect(server) as con:
        try:
            doing = "checking the read roles"
            _ensure_roles(con, server)
            with con.transaction():
                cur = con.cursor()
                cur.execute("set local statement_timeout = 0")
                cur.execute(f"set local lock_timeout = {int(wait * 1000)}")
                doing = "waiting for another publisher of this database"
                cur.execute("select pg_advisory_xact_lock(%s)", [_ADVISORY_KEY])
                doing = "preparing the staging schemas"
                for s in (RESTRICTED_SCHEMA, AGGREGATE_SCHEMA):
                    for leftover in (f"{s}__new", f"{s}__old"):
                        cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(leftover)))
                    cur.execute(sql.SQL("create schema {}").format(sql.Identifier(new[s])))
                for mart, path in marts.items():
                    doing = f"loading mart {mart}"
                    counts[RESTRICTED_SCHEMA][mart] = _load_mart(cur, new[RESTRICTED_SCHEMA], mart, path)
                    if access(mart) == "aggregate":
                        cur.execute(sql.SQL("create table {} as table {}").format(
                            sql.Identifier(new[AGGREGATE_SCHEMA], mart), sql.Identifier(new[RESTRICTED_SCHEMA], mart)))
                        counts[AGGREGATE_SCHEMA][mart] = counts[RESTRICTED_SCHEMA][mart]
                doing = "recording the publication"
                for s in new.values():
                    t = sql.Identifier(s, PUBLICATION_TABLE)
                    cur.execute(sql.SQL("create table {} (version text not null, published_at timestamptz not null)")
                                .format(t))
                    cur.execute(sql.SQL("insert into {} values (%s, clock_timestamp())").format(t), [version])
                    cur.execute(sql.SQL("comment on table {} is {}").format(t, sql.Literal(
                        "the tutoring-impact publication (published/<cycle>/v<N>) these tables hold")))
                doing = "granting the read roles"
                _grant(cur, new)
                doing = "analyzing the new tables"
                for s, ms in counts.items():
                    for m in ms:
                        cur.execute(sql.SQL("analyze {}").format(sql.Identifier(new[s], m)))
                doing = "checking for views built on the served tables"
                views = _outside_dependents(cur)
                if views:
                    raise PostgresPublishError(
                        f"PostgreSQL ({server}): views outside the served schemas are built on their tables "
                        f"({', '.join(views)}). Each publication replaces the schemas whole, so those views would "
                        f"be dropped; drop them (or build them on the schemas after each publication) and publish "
                        f"again. Nothing was changed")
                doing = "swapping the schemas"
                tries = _swap(con, cur, server, time.monotonic() + wait)
        except PostgresPublishError:
            raise
        except psycopg.errors.LockNotAvailable:
            raise PostgresPublishError(f"PostgreSQL ({server}): timed out {doing} after {wait:.0f} s; nothing was "
                                       f"changed") from None
        except psycopg.OperationalError as e:
            raise PostgresPublishError(f"lost the connection to PostgreSQL ({server}) while {doing}; nothing was "
                                       f"changed: {server.redact(' '.join(str(e).split()))}") from None
        except psycopg.Error as e:
            raise _db_error(server, e, doing) from None
    return {"version": version, "server": f"{server.host}:{server.port}/{server.dbname}", "schemas": counts,
            "rows": sum(counts[RESTRICTED_SCHEMA].values()), "seconds": round(time.monotonic() - started, 3),
            "swap_tries": tries}
