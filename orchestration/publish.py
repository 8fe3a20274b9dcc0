"""Write-audit-publish: a checked build becomes ``published/<cycle>/v<N>/`` and ``current`` moves to
it atomically (DESIGN §2, §10). Nothing here ever writes into an existing publication.

A publication holds every cycle published so far in the school year: the new cycle's rows from the
build plus the other cycles' rows from the publication ``current`` points at. It is assembled in a
hidden temporary folder, renamed into place, and only then does a new symlink replace ``current``
(``os.replace`` of a symlink is atomic on POSIX). A crash at any point leaves ``current`` as it was;
the next run removes the leftovers.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import duckdb

from orchestration.config import Config, Cycle
from orchestration.marts import AGGREGATE, access

STORAGE_VERSION = "v1.0.0"          # readable by the DuckDB 1.1.x that BI tools bundle
FILE_MODE_RESTRICTED = 0o640
FILE_MODE_AGGREGATE = 0o644


# DuckDB's default memory limit is 80 % of RAM; assembling a district year's marts (40 M rows, zstd
# Parquet) then grew to 9.9 GiB. With a limit DuckDB spills instead (DESIGN §11: ≤ 8 GiB).
MEMORY = os.environ.get("TUTORING_IMPACT_PUBLISH_MEMORY", "4GB")


def _connect():
    con = duckdb.connect()
    con.execute(f"set memory_limit='{MEMORY}'")
    return con


class PublishError(RuntimeError):
    pass


@contextmanager
def publish_lock(config: Config, wait: bool = True):
    """One publisher at a time per data directory; a second one waits (or refuses with wait=False)."""
    config.published.mkdir(parents=True, exist_ok=True)
    path = config.published / ".publish.lock"
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise PublishError("another run is publishing to this data directory; try again when it ends") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def current_version(config: Config) -> str | None:
    link = config.published / "current"
    if not link.is_symlink():
        return None
    return os.readlink(link)


def versions(config: Config) -> list[str]:
    out = []
    if not config.published.is_dir():
        return out
    for cdir in sorted(config.published.iterdir()):
        if cdir.is_dir() and not cdir.name.startswith(".") and cdir.name not in ("failures", "current"):
            for v in cdir.iterdir():
                if re.fullmatch(r"v\d+", v.name) and v.is_dir():
                    out.append(f"{cdir.name}/{v.name}")
    return sorted(out, key=lambda s: (s.split("/")[0], int(s.split("/")[1][1:])))


def clean_leftovers(config: Config) -> list[str]:
    """Remove temporary folders a killed publish left behind (never a finished version)."""
    removed = []
    if not config.published.is_dir():
        return removed
    for p in config.published.rglob(".v*.tmp-*"):
        shutil.rmtree(p, ignore_errors=True)
        removed.append(str(p))
    tmp_link = config.published / ".current.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    return removed


def switch_current(config: Config, version: str) -> None:
    target = config.published / version
    if not (target / "marts_aggregate.duckdb").is_file():
        raise PublishError(f"version {version} is not a complete publication under {config.published}")
    tmp = config.published / ".current.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(version, tmp)
    os.replace(tmp, config.published / "current")


def _chmod_tree(path: Path, restricted: bool, group: str | None):
    mode = FILE_MODE_RESTRICTED if restricted else FILE_MODE_AGGREGATE
    os.chmod(path, mode)
    if group:
        try:
            shutil.chown(path, group=group)
        except (LookupError, PermissionError):
            pass


def publish(config: Config, cycle: Cycle, build_db: Path, landing_dir: Path, audit_rows: list[dict],
            report_writer=None, wait: bool = True, after_switch=None) -> str:
    """Publish the marts of ``build_db`` for ``cycle``; returns the new VERSION (``<cycle>/v<N>``).
    ``after_switch(folder, version)`` runs once ``current`` has moved, still under the publish lock
    (the PostgreSQL publication, so two runs cannot load it out of order)."""
    with publish_lock(config, wait=wait):
        clean_leftovers(config)
        cdir = config.published / cycle.id
        cdir.mkdir(parents=True, exist_ok=True)
        existing = [int(v.name[1:]) for v in cdir.iterdir() if re.fullmatch(r"v\d+", v.name)]
        n = max(existing, default=0) + 1
        version = f"{cycle.id}/v{n}"
        tmp = cdir / f".v{n}.tmp-{os.getpid()}"
        (tmp / "parquet").mkdir(parents=True)
        group = config["privacy"].get("restricted_group")
        try:
            prev = config.published / current_version(config) if current_version(config) else None
            rows = [dict(r, published_version=version) for r in audit_rows]
            marts = _assemble(config, cycle, build_db, landing_dir, prev, tmp, rows)
            _serving_files(tmp, marts, group, prev=prev, cycle_id=cycle.id, year=config.school_year["id"])
            if "teacher_digest" in marts:       # restricted pages beside the restricted DB (DESIGN §9)
                from orchestration.digests import write_teacher_digests
                write_teacher_digests(config, cycle, tmp, version)
            if report_writer:
                report_writer(tmp, version)
            _fsync_tree(tmp)
            os.rename(tmp, cdir / f"v{n}")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        switch_current(config, version)
        _apply_retention(config)
        if after_switch:
            after_switch(config.published / version, version)
        return version


def _assemble(config: Config, cycle: Cycle, build_db: Path, landing_dir: Path, prev: Path | None, tmp: Path,
              audit_rows: list[dict]) -> dict[str, str]:
    """Write parquet/<mart>.parquet for every mart: this cycle from the build, the school year's other
    cycles from the previous publication. Returns mart → access."""
    from orchestration.marts import ALL_MARTS
    year = config.school_year["id"]
    con = _connect()
    con.execute(f"attach '{build_db}' as build (read_only)")
    built = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_catalog = 'build' and table_type = 'BASE TABLE'"
    ).fetchall()}
    marts = [m for m in ALL_MARTS if m in built and m != "cycle_audit"]
    out = {}
    for m in marts:
        parts = [f"select {_rounded_columns(con, m)} from build.main.{m}"]
        old = prev / "parquet" / f"{m}.parquet" if prev else None
        if old and old.is_file():
            parts.append(f"select * from read_parquet('{old}') where cycle_id <> '{cycle.id}' "
                         f"and cycle_id like '{year}-%'")
        _copy(con, " union all by name ".join(parts), tmp / "parquet" / f"{m}.parquet")
        out[m] = access(m)
    # cycle_audit: written here from the manifest and gate results, not by dbt
    audit = tmp / "parquet" / "cycle_audit.parquet"
    con.execute("create temp table audit_new as select * from read_json_auto(?)", [_write_json(tmp, audit_rows)])
    parts = ["select * from audit_new"]
    old = prev / "parquet" / "cycle_audit.parquet" if prev else None
    if old and old.is_file():
        parts.append(f"select * from read_parquet('{old}') where cycle_id <> '{cycle.id}' and cycle_id like '{year}-%'")
    _copy(con, " union all by name ".join(parts), audit)
    out["cycle_audit"] = "aggregate"
    (tmp / "audit_rows.json").unlink()
    # quarantined rows of this cycle (restricted: they hold raw values)
    q = landing_dir / "quarantine.parquet"
    if q.is_file():
        _copy(con, f"select '{cycle.id}' as cycle_id, * from read_parquet('{q}')", tmp / "parquet" / "quarantine.parquet")
        out["quarantine"] = "restricted"
    con.close()
    return out


PUBLISHED_DECIMALS = 10


def _rounded_columns(con, mart: str) -> str:
    """Doubles are published to 10 decimal places: parallel aggregation sums floats in a varying
    order, and the last bits must not make a rerun of unchanged inputs publish different values."""
    cols = con.execute("select column_name, data_type from information_schema.columns where table_catalog = 'build' "
                       "and table_name = ? order by ordinal_position", [mart]).fetchall()
    return ", ".join(f'round("{c}", {PUBLISHED_DECIMALS}) as "{c}"' if t in ("DOUBLE", "FLOAT", "REAL") else f'"{c}"'
                     for c, t in cols)


def _write_json(tmp: Path, rows: list[dict]) -> str:
    p = tmp / "audit_rows.json"
    p.write_text("\n".join(json.dumps(r, default=str) for r in rows))
    return str(p)


def _copy(con, sql: str, path: Path):
    con.execute(f"copy ({sql}) to '{path}' (format parquet, compression zstd)")


# marts whose serving table is rebuilt from this publication's Parquet every time: quarantine holds
# this cycle's rows only (it does not accumulate)
_NOT_CARRIED = {"quarantine"}


def _serving_files(tmp: Path, marts: dict[str, str], group: str | None, prev: Path | None = None,
                   cycle_id: str | None = None, year: str | None = None):
    """marts_restricted.duckdb holds every mart (staff with a legitimate interest see the whole
    picture); marts_aggregate.duckdb holds the aggregate marts only.

    Publications accumulate the school year, so most of a serving file is the previous
    publication's rows. When ``prev`` has the same serving file, it is copied (published versions
    are never written, so the copy is the only writer) and each mart whose columns are unchanged
    only has this cycle's rows deleted (a republished cycle), rows of other school years dropped,
    and this cycle's rows inserted from the new Parquet — the same rows ``_assemble`` wrote, without
    reloading the earlier cycles. Any other mart (new, changed columns, or not carried over) is
    loaded whole from its Parquet, as is everything when there is no previous publication."""
    con = _connect()
    for name, allowed in (("marts_restricted", None), ("marts_aggregate", "aggregate")):
        db = tmp / f"{name}.duckdb"
        old = prev / f"{name}.duckdb" if prev is not None and cycle_id else None
        carry = old is not None and old.is_file()
        if carry:
            shutil.copyfile(old, db)
            os.chmod(db, 0o600)
        con.execute(f"attach '{db}' as pub (storage_version '{STORAGE_VERSION}')")
        existing = _table_columns(con, "pub") if carry else {}
        wanted = {m for m, acc in marts.items() if not allowed or acc == allowed}
        for t in sorted(set(existing) - wanted):
            con.execute(f'drop table pub.main."{t}"')
        for m in sorted(wanted):
            pq = tmp / "parquet" / f"{m}.parquet"
            src = f"read_parquet('{pq}')"
            cols = [tuple(r[:2]) for r in con.execute(f"describe select * from {src}").fetchall()]
            if m in existing and m not in _NOT_CARRIED and existing[m] == cols and ("cycle_id", "VARCHAR") in cols:
                con.execute(f'delete from pub.main."{m}" where cycle_id = ? or cycle_id not like ?', [cycle_id, f"{year}-%"])
                con.execute(f'insert into pub.main."{m}" select * from {src} where cycle_id = ?', [cycle_id])
                n_pub = con.execute(f'select count(*) from pub.main."{m}"').fetchone()[0]
                n_parquet = con.execute(f"select sum(num_rows) from parquet_file_metadata('{pq}')").fetchone()[0]
                if n_pub == n_parquet:
                    continue
            # loaded whole (also the safety net when the carried table does not add up to the Parquet)
            con.execute(f'drop table if exists pub.main."{m}"')
            con.execute(f'create table pub.main."{m}" as select * from {src}')
        con.execute("detach pub")
        _chmod_tree(db, restricted=allowed is None, group=group)
    con.close()
    for m, acc in marts.items():
        _chmod_tree(tmp / "parquet" / f"{m}.parquet", restricted=acc != "aggregate", group=group)


def _table_columns(con, catalog: str) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for t, c, typ in con.execute("select table_name, column_name, data_type from information_schema.columns "
                                 "where table_catalog = ? and table_schema = 'main' order by table_name, ordinal_position",
                                 [catalog]).fetchall():
        out.setdefault(t, []).append((c, typ))
    return out


def _syncfs(fd: int) -> bool:
    """Flush every dirty file of the file system holding ``fd`` (Linux ``syncfs``); False when the
    call is not available, so the caller falls back to one fsync per file."""
    try:
        import ctypes
        import ctypes.util
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.syncfs(fd) == 0
    except (OSError, AttributeError):
        return False


def _fsync_tree(path: Path):
    """Make a finished publication folder durable before it is renamed into place. A district's
    folder holds thousands of teacher-digest pages: one ``syncfs`` flushes all their data at once
    (an fsync per page cost ~40 s), then each directory is fsynced so its entries are on disk too.
    Nothing reads the folder before the rename, and the rename and the ``current`` swap come after."""
    dirs = [path, *(p for p in path.rglob("*") if p.is_dir())]
    fd = os.open(path, os.O_RDONLY)
    try:
        flushed = _syncfs(fd)
    finally:
        os.close(fd)
    if not flushed:
        for p in path.rglob("*"):
            if p.is_file():
                with open(p, "rb") as f:
                    os.fsync(f.fileno())
    for d in dirs:
        dfd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _apply_retention(config: Config):
    keep = int(config["publish"]["retention"])
    cur = current_version(config)
    allv = versions(config)
    for v in allv[:-keep] if len(allv) > keep else []:
        if v != cur:
            shutil.rmtree(config.published / v, ignore_errors=True)


def write_failure_report(config: Config, cycle_id: str, run_id: str, outcomes: list, stage: str,
                         extra: dict | None = None) -> Path:
    """published/failures/<cycle>/<run_id>.{json,html}: each failed check, its count, file, column and
    the fix — counts only, never student values."""
    d = config.published / "failures" / cycle_id
    d.mkdir(parents=True, exist_ok=True)
    failed = [r for o in outcomes for r in o.results if not r.success]
    doc = {"cycle_id": cycle_id, "run_id": run_id, "failed_stage": stage,
           "written_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "gates": [o.summary() for o in outcomes],
           "checks": [r.to_dict() for r in failed], **(extra or {})}
    (d / f"{run_id}.json").write_text(json.dumps(doc, indent=1, default=str))
    from html import escape
    rows = "".join(
        f"<tr class='{escape(r.severity)}'><td>{escape(r.severity)}</td><td>{escape(r.check)}</td>"
        f"<td>{escape(r.source_file or '')}</td><td>{escape(r.column or '')}</td><td>{r.failed_count}</td>"
        f"<td>{escape(r.message)}</td><td>{escape(r.fix)}</td></tr>" for r in failed)
    html = f"""<!doctype html><html lang="en"><meta charset="utf-8"><title>Cycle {escape(cycle_id)} — gate failure</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}
tr.error td:first-child{{color:#b00;font-weight:bold}}tr.warn td:first-child{{color:#a60}}</style>
<h1>Cycle {escape(cycle_id)}: nothing was published</h1>
<p>Run <code>{escape(run_id)}</code> stopped at <b>{escape(stage)}</b>. The last good publication is unchanged.
Fix the checks marked <b>error</b> and run the cycle again; warnings do not block.</p>
<table><tr><th>severity</th><th>check</th><th>file</th><th>column</th><th>rows</th><th>what failed</th><th>how to fix</th></tr>{rows}</table>
</html>"""
    (d / f"{run_id}.html").write_text(html)
    return d / f"{run_id}.json"
