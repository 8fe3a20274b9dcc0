"""Landing one cycle's delivery: inbox files → typed canonical Parquet + quarantine + manifest.

``land_cycle`` reads every file under ``<data_dir>/inbox/<cycle>/`` (hidden files and ``_READY`` are
ignored), detects each file's layout from its header (built-in adapters and the district's YAML
mappings), adapts it to the canonical tables, applies the row rules, resolves student IDs against
every SIS identifier, removes duplicates, and writes ``<data_dir>/landing/<cycle>/``: one Parquet file
per canonical table (empty, typed, when not delivered), ``quarantine.parquet``, ``student_keys.parquet``
and ``manifest.json``. For every file the manifest holds rows read = loaded + quarantined.

Feeds (``sources:`` entries) are ``snapshot`` (default: the delivery is the whole year to date) or
``delta`` (its rows add to the feed's rows landed before; the latest delivery wins on the natural
key; the feed's accumulated rows are kept in ``landing/<cycle>/feeds/<feed>/``). With ``attendance:
{feed: absences_only}`` the attendance files list absences and landing fills the present days from
enrollment × the school calendar. A delivery whose inputs hash is unchanged is not landed again.

All row work is DuckDB SQL; Python touches only file metadata and the few rejected rows. Stages, per
file: read (``reader``) → adapt + type + resolve student in one CREATE TABLE per output; per table:
duplicate keys by one aggregate, then one COPY to Parquet.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import hashlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.config import Config
from . import contracts
from .contracts import AUX_TABLES, QUARANTINE_COLUMNS, TABLES
from .layouts import ALIASES, AUXILIARY_TABLES, CODE_FIELDS, LAYOUTS, Header, Layout, Output, detect
from .mappings import MappingError, discover, load_mapping, resolve, to_layout
from .reader import FileRejected, RawFile, SniffedFile, null_if_marker, read_raw, sha256, sniff
from .rules import RuleContext, date_expr, q, s, typed_select, window_expr

LANDING_VERSION = "2"          # bump when landing logic changes output for the same inputs
FOLDERS = ("sis", "screener", "tutoring")
IGNORED_NAMES = {"_READY", "_SUCCESS", "Thumbs.db", "desktop.ini"}
ROSTER_TABLES = {"students", "student_identifiers"}
KIND_ORDER = ("sourcedId", "identifier", "userIds", "username")
KEEP_TABLES = {"schools", "students", "classes", "enrollments"} | set(AUX_TABLES)   # read again after writing
MEMORY = os.environ.get("TUTORING_IMPACT_LANDING_MEMORY", "4GB")

DETAILS = {
    "missing_required": "blank",
    "bad_date": "not a date in an accepted format",
    "bad_number": "not a number",
    "unknown_code": "not a known code",
    "implausible_minutes": "minutes outside 0–240",
    "out_of_range": "outside the allowed range",
}


@dataclass
class FileReport:
    source_file: str
    folder: str
    sha256: str
    size: int
    layout: str | None = None
    layout_variant: str | None = None   # the vendor layout's year, when it has several (nwea_map_cdf_legacy…)
    tables: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    secondary_quarantined: int = 0
    id_match: dict | None = None
    unknown_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None         # the file could not be used at all (gate 1 fails)
    feed: str | None = None          # the sources: entry it belongs to
    mode: str = "snapshot"
    mapping: str | None = None       # the YAML mapping that read it
    mtime_ns: int | None = None      # with size: an unchanged file keeps its sha256 on a re-run
    pulled_from: dict | None = None  # a pulled feed's file: feed, url, remote_mtime, sha256 (orchestration.pull)


@dataclass
class LandingResult:
    cycle_id: str
    landing_dir: Path
    inputs_hash: str
    delivery_date: str
    files: list[FileReport]
    rows_loaded: dict[str, int]
    skipped: bool = False
    seconds: float = 0.0
    carried_forward: dict[str, int] = field(default_factory=dict)   # delta feeds: rows kept from before
    derived: dict[str, int] = field(default_factory=dict)           # e.g. present days filled
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def manifest_path(self) -> Path:
        return self.landing_dir / "manifest.json"

    def quarantined_by_reason(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            for r, n in f.quarantined_by_reason.items():
                out[r] = out.get(r, 0) + n
        return out


def delivery_files(folder: Path) -> list[Path]:
    """Every delivered file under the cycle's inbox folder, in any subfolder; hidden files (``.*``,
    ``._*``, ``__MACOSX/``), ``_READY`` and OS clutter (Thumbs.db, desktop.ini) are ignored."""
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if not p.is_file() or p.name in IGNORED_NAMES:
            continue
        if any(part.startswith(".") or part == "__MACOSX" for part in rel.parts):
            continue
        out.append(p)
    return out


def delivery_date(folder: Path, files: list[Path]) -> dt.date:
    """The date in the delivery's `_READY` marker, else its newest file's modification date."""
    ready = folder / "_READY"
    if ready.is_file():
        text = ready.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            try:
                return dt.date.fromisoformat(text[:10])
            except ValueError:
                pass
    if files:
        return dt.date.fromtimestamp(max(p.stat().st_mtime for p in files))
    return dt.date.today()


def student_key_secret(config: Config) -> bytes:
    env = config["privacy"].get("key_env") or "TUTORING_IMPACT_KEY"
    if os.environ.get(env):
        return os.environ[env].encode()
    path = config.secrets / "student_key"
    if not path.exists():
        config.secrets.mkdir(parents=True, exist_ok=True)
        os.chmod(config.secrets, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


# ------------------------------------------------------------------------------------------ feeds
def _feed_for(config: Config, folder: str, rel: str) -> dict:
    for f in config.feed_settings(folder):
        pat = f.get("pattern") or "*"
        if fnmatch.fnmatch(Path(rel).name, pat) or fnmatch.fnmatch(rel, pat):
            return f
    return {}


def feed_name(feed: dict) -> str | None:
    if not feed:
        return None
    return str(feed.get("name") or feed.get("pattern") or feed.get("folder") or "feed")


def _feed_dir(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def _delta_feeds(config: Config) -> list[str]:
    return [feed_name(f) for f in config.raw.get("sources") or [] if f.get("mode") == "delta"]


def _previous_landing(config: Config, cycle_id: str) -> tuple[str, Path, dict] | None:
    """The newest landed cycle before this one (calendar order): delta feeds continue from it."""
    c = config.cycle(cycle_id)
    for prev in reversed(config.cycles[: c.index - 1]):
        m = config.landing / prev.id / "manifest.json"
        if m.is_file():
            return prev.id, m.parent, json.loads(m.read_text())
    return None


def _mapping_layouts(config: Config) -> tuple[list[Layout], dict[str, Layout], list[str]]:
    """Auto-detected mappings, the ones sources entries name, and the errors of broken ones."""
    found, errors = discover(config.path)
    named: dict[str, Layout] = {}
    for f in config.raw.get("sources") or []:
        ref = f.get("mapping")
        if not ref:
            continue
        try:
            named[str(ref)] = to_layout(load_mapping(resolve(str(ref), config.path)))
        except MappingError as e:
            errors.append(str(e))
    return [to_layout(m) for m in found], named, errors


def _inputs_hash(config: Config, cycle_id: str, reports: list[FileReport], ddate: dt.date,
                 layouts: list[Layout], prev) -> str:
    h = hashlib.sha256()
    h.update(f"{LANDING_VERSION}|{cycle_id}|{ddate}|".encode())
    keys = ("school_year", "identity", "sources", "district", "attendance", "cycles")
    h.update(json.dumps({k: config.raw.get(k) for k in keys}, sort_keys=True, default=str).encode())
    for r in reports:
        h.update(f"|{r.source_file}:{r.sha256}".encode())
    root = Path(__file__).parents[1]
    code = sorted(Path(__file__).parent.glob("*.py")) + [root / "dbt_project/seeds/code_aliases.csv",
                                                         root / "dbt_project/seeds/window_aliases.csv"]
    for p in code + sorted({Path(lay.mapping_path) for lay in layouts if lay.mapping_path}):
        h.update(p.read_bytes())
    if prev and _delta_feeds(config):
        h.update(f"|prev:{prev[0]}:{prev[2].get('inputs_hash')}".encode())
    return h.hexdigest()


# ------------------------------------------------------------------------------------------ plan
@dataclass
class _Plan:
    index: int
    path: Path
    rep: FileReport
    sf: SniffedFile | None = None
    header: Header | None = None
    layout: Layout | None = None
    feed: dict = field(default_factory=dict)

    @property
    def roster(self) -> bool:
        return bool(self.layout and ROSTER_TABLES & set(self.layout.tables))


@dataclass
class _Staged:
    plan: _Plan
    output: Output
    table: str          # the DuckDB table of typed rows
    raw: RawFile


def _closest_layout_hint(h: Header) -> str:
    best, missing = None, None
    for lay in LAYOUTS:
        if lay.setting:
            continue
        miss = [c for c in lay.identify if not h.known(c)]
        # fewest columns missing; on a tie, the layout more of whose columns are present
        better = missing is None or (len(miss), -len(lay.identify)) < (len(missing), -len(best.identify))
        if len(miss) < len(lay.identify) and better:
            best, missing = lay, miss
    if best and missing is not None and len(missing) <= max(1, len(best.identify) // 2):
        parts = []
        for m in missing:
            al = ALIASES.get(m, ())
            parts.append(f"'{m}'" + (f" (also accepted: {', '.join(al)})" if al else ""))
        return (f"it looks like {best.description} but the required column(s) {', '.join(parts)} "
                f"are missing; add the column(s) to the export or map them")
    return "no known layout has these columns"


def _plan_file(config: Config, plan: _Plan, auto: list[Layout], named: dict[str, Layout], settings,
               mapping_errors: list[str]):
    rep = plan.rep
    try:
        plan.sf = sniff(plan.path)
    except FileRejected as e:
        rep.error = str(e).replace(plan.path.name, rep.source_file, 1)
        return
    h = plan.header = Header(plan.sf)
    plan.feed = _feed_for(config, rep.folder, rep.source_file)
    rep.feed = feed_name(plan.feed)
    rep.mode = plan.feed.get("mode", "snapshot") if plan.feed else "snapshot"
    ref = plan.feed.get("mapping")
    if ref:
        lay = named.get(str(ref))
        if lay is None:
            rep.error = (f"{rep.source_file}: the mapping '{ref}' of feed '{rep.feed}' cannot be used: "
                         + "; ".join(e for e in mapping_errors if str(ref) in e) or "not found")
            return
        if not lay.matches(h):
            miss = [x for x in lay.identify if not h._find(x)]
            rep.error = (f"{rep.source_file}: required column(s) {miss} of mapping '{ref}' are not in the header "
                         f"({', '.join(plan.sf.header)}); correct the export or the mapping's columns")
            return
    else:
        lay = detect(h, settings, auto)
    if lay is None:
        if h.names and all(n in ("propertyname", "value") for n in h.names):
            return
        more = f" (mappings that failed to load: {'; '.join(mapping_errors)})" if mapping_errors else ""
        cols = ", ".join(plan.sf.header[:12]) + (", …" if len(plan.sf.header) > 12 else "")
        rep.error = (f"unrecognised file {rep.source_file} (columns: {cols}): {_closest_layout_hint(h)}; add a "
                     f"mapping (config/mappings/, see docs/bring-your-own-extracts.md) or remove it{more}")
        return
    plan.layout = lay
    rep.layout = lay.name
    rep.layout_variant = lay.variant(h) if lay.variant else None
    rep.mapping = lay.mapping_path
    rep.warnings += plan.sf.warnings
    if plan.sf.encoding != "utf-8":
        rep.warnings.append(f"read as {plan.sf.encoding} (not UTF-8)")
    if rep.folder not in FOLDERS:
        rep.warnings.append(f"{rep.source_file} was delivered outside sis/, screener/ and tutoring/; loaded as "
                            f"{lay.description}")
    elif lay.folder and lay.folder != rep.folder:
        rep.warnings.append(f"{rep.source_file} is a {lay.description} file in the '{rep.folder}' folder; "
                            f"loaded as {lay.folder} data")


# ------------------------------------------------------------------------------------------ land
def _connect(work: Path) -> duckdb.DuckDBPyConnection:
    # A database file, not memory: 63 M attendance rows fit compressed on disk, not in 5 GB of RAM.
    con = duckdb.connect(str(work / "landing.duckdb"))
    con.execute("set TimeZone='UTC'")
    con.execute(f"set temp_directory='{work / 'spill'}'")
    con.execute(f"set memory_limit='{MEMORY}'")
    con.execute("set preserve_insertion_order=false")
    # Scratch tables are written once and scanned a few times: dictionary encoding costs a third
    # less CPU than DuckDB's trial of every method (FSST on 63 M IDs), and scans hand typing
    # dictionary vectors.
    con.execute("set force_compression='dictionary'")
    return con


def land_cycle(config: Config, cycle_id: str, *, force: bool = False, progress=None) -> LandingResult:
    t0 = time.time()
    cycle = config.cycle(cycle_id)
    inbox = config.inbox / cycle_id
    files = delivery_files(inbox)
    ddate = delivery_date(inbox, files)
    final = config.landing / cycle_id
    manifest = final / "manifest.json"
    old = json.loads(manifest.read_text()) if manifest.is_file() else None
    # A file whose path, size and modification time are those of the last landing keeps its hash —
    # if it was last modified well before that landing looked (timestamps tick coarsely).
    stat_time = time.time_ns()
    trusted_before = ((old or {}).get("stat_time_ns") or 0) - 2_000_000_000
    known = {(f["source_file"], f["size"], f.get("mtime_ns")): f["sha256"]
             for f in (old or {}).get("files", []) if f.get("mtime_ns") and f["mtime_ns"] < trusted_before}
    reports = []
    for p in files:
        rel, st = p.relative_to(inbox), p.stat()
        reports.append(FileReport(str(rel), rel.parts[0] if len(rel.parts) > 1 else "",
                                  known.get((str(rel), st.st_size, st.st_mtime_ns), ""), st.st_size,
                                  mtime_ns=st.st_mtime_ns))
    auto, named, mapping_errors = _mapping_layouts(config)
    prev = _previous_landing(config, cycle_id)
    layouts = auto + list(named.values())
    from concurrent.futures import ThreadPoolExecutor
    hashing = ThreadPoolExecutor(1)           # hashlib releases the GIL: hashes run beside DuckDB
    pending = {id(r): hashing.submit(sha256, p) for p, r in zip(files, reports) if not r.sha256}

    def finish_hashes():
        for r in reports:
            if id(r) in pending:
                r.sha256 = pending[id(r)].result()
        return _inputs_hash(config, cycle_id, reports, ddate, layouts, prev)

    if old is not None and not force:
        # a delivery landed before: skip it if its inputs are unchanged (this waits for the hashes)
        ihash = finish_hashes()
        if old.get("inputs_hash") == ihash and all((final / f"{t}.parquet").is_file() for t in TABLES):
            hashing.shutdown()
            return _result_from_manifest(old, final, skipped=True)

    config.landing.mkdir(parents=True, exist_ok=True)
    _remove_stale_work(config.landing, cycle_id)
    work = config.landing / f".tmp-{cycle_id}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    con = _connect(work)
    timings: dict[str, float] = {}
    settings = frozenset({"absences_only"}) if config["attendance"].get("feed") == "absences_only" else frozenset()
    ctx_base = dict(timezone=str(config.timezone), delivery_date=ddate,
                    year_start=config.school_year["first_day"], year_end=config.school_year["last_day"])
    try:
        con.execute("create table quarantine (file_idx integer, seg integer, ord bigint, line bigint, "
                    "table_name varchar, column_name varchar, reason varchar, detail varchar, raw_row varchar, "
                    "primary_row boolean)")
        con.execute("create table qraw (file_idx integer, seg integer, ord bigint, raw_row varchar)")
        plans = [_Plan(i, p, r) for i, (p, r) in enumerate(zip(files, reports))]
        for plan in plans:
            _plan_file(config, plan, auto, named, settings, mapping_errors)
        staged: list[_Staged] = []
        ids_ready = False
        for plan in sorted(plans, key=lambda pl: (not pl.roster, pl.index)):
            if plan.layout is None:
                continue
            if not plan.roster and not ids_ready:
                _build_ids(con, staged)
                ids_ready = True
            if progress:
                progress(f"reading {plan.rep.source_file}")
            ts = time.time()
            _stage_file(con, config, plan, ctx_base, staged, work, ids_ready)
            timings[f"read {plan.rep.source_file}"] = round(time.time() - ts, 2)
        if not ids_ready:
            _build_ids(con, staged)
        if progress:
            progress("writing tables")
        rows_loaded, carried, derived = _write_tables(con, config, cycle, work, staged, prev, timings, progress,
                                                      ddate)
        ts = time.time()
        _count_files(con, reports, staged)
        _write_quarantine(con, staged, reports, work)
        _write_student_keys(con, config, work)
        timings["quarantine and keys"] = round(time.time() - ts, 2)
        con.close()
        (work / "landing.duckdb").unlink(missing_ok=True)
        Path(str(work / "landing.duckdb") + ".wal").unlink(missing_ok=True)
        shutil.rmtree(work / "spill", ignore_errors=True)
        for p in work.glob("*.csv"):
            p.unlink()
        ihash = finish_hashes()
        res = LandingResult(cycle_id, final, ihash, ddate.isoformat(), reports, rows_loaded,
                            carried_forward=carried, derived=derived, stage_seconds=timings)
        res.seconds = round(time.time() - t0, 3)
        _note_origins(config, cycle_id, reports)
        _write_manifest(res, work / "manifest.json", cycle, mapping_errors, prev, stat_time)
        if final.exists():
            hist = config.landing / "history" / cycle_id
            hist.mkdir(parents=True, exist_ok=True)
            old_hash = json.loads(manifest.read_text()).get("inputs_hash", "unknown")[:16] if manifest.is_file() else "unknown"
            os.rename(final, hist / f"{old_hash}-{int(time.time())}")
        os.rename(work, final)
        return res
    finally:
        hashing.shutdown(cancel_futures=True)
        try:
            con.close()
        except Exception:
            pass
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def _remove_stale_work(landing: Path, cycle_id: str) -> None:
    """A landing killed mid-way leaves `.tmp-<cycle>-<pid>`; remove those whose process is gone."""
    for p in landing.glob(f".tmp-{cycle_id}-*"):
        try:
            pid = int(p.name.rsplit("-", 1)[1])
            os.kill(pid, 0)
            if pid != os.getpid():
                continue
        except (ValueError, ProcessLookupError):
            pass
        except PermissionError:
            continue
        shutil.rmtree(p, ignore_errors=True)


def _build_ids(con, staged: list[_Staged]):
    """Every SIS identifier value → its student (``n`` > 1: the value is shared, so it resolves to none)."""
    parts = [f"select student_id, id_value, id_kind from {st.table} where __reason is null"
             for st in staged if st.output.table == "student_identifiers"]
    parts += [f"select student_id, student_id, 'sourcedId' from {st.table} where __reason is null"
              for st in staged if st.output.table == "students"]
    if parts:
        con.execute(f"create or replace table ids as select id_kind, id_value, min(student_id) as student_id, "
                    f"count(distinct student_id) as n from (select student_id, trim(id_value) as id_value, id_kind "
                    f"from ({' union all '.join(parts)})) where id_value is not null and id_value <> '' "
                    f"and student_id is not null group by 1, 2")
    else:
        con.execute("create or replace table ids (id_kind varchar, id_value varchar, student_id varchar, n bigint)")


def _pad(v: str, width: int | None) -> str:
    """Left-pad an all-digit ID to ``width`` (never truncating a longer one)."""
    if not width:
        return v
    return (f"(case when regexp_full_match({v}, '[0-9]+') and length({v}) < {int(width)} "
            f"then lpad({v}, {int(width)}, '0') else {v} end)")


def _choose_student_column(con, o: Output, rel: str, pad: int | None, tag: str):
    """Every vendor ID column × every SIS identifier kind: the pair matching most rows wins. One
    aggregate per candidate column; the matching runs on its distinct values."""
    best = None
    where = f" where {o.where}" if o.where else ""
    for j, (name, expr) in enumerate(o.student_ids.items()):
        cand = f"cand_{tag}_{j}"
        con.execute(f"create or replace temp table {cand} as select {null_if_marker(expr + '::varchar')} as v, "
                    f"count(*) as n from {rel}{where} group by 1")
        total = con.execute(f"select coalesce(sum(n), 0) from {cand} where v is not null").fetchone()[0]
        rows = dict(con.execute(
            f"select i.id_kind, sum(c.n) from {cand} c join ids i on i.id_value = {_pad('c.v', pad)} and i.n = 1 "
            f"group by 1").fetchall())
        for kind in sorted(rows, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99):
            if best is None or rows[kind] > best["matched"]:
                best = {"name": name, "expr": expr, "kind": kind, "matched": int(rows[kind]), "rows": int(total),
                        "cand": cand}
        if best is None and total:
            best = {"name": name, "expr": expr, "kind": None, "matched": 0, "rows": int(total), "cand": cand}
    if best is None:
        return None
    rate = best["matched"] / best["rows"] if best["rows"] else None
    info = {"column": best["name"], "sis_identifier": best["kind"], "matched": best["matched"],
            "rows": best["rows"], "rate": round(rate, 4) if rate is not None else None}
    if pad:
        info["id_pad_width"] = int(pad)
    elif rate is not None and rate < 0.99:
        # Excel strips leading zeros: would padding to the width of the SIS's IDs match more?
        widths = [w for (w,) in con.execute(
            "select distinct length(id_value) from ids where regexp_full_match(id_value, '[0-9]+') "
            "order by 1 limit 12").fetchall()]
        for w in widths:
            m = con.execute(f"select coalesce(max(k), 0) from (select sum(c.n) as k from {best['cand']} c "
                            f"join ids i on i.id_value = {_pad('c.v', w)} and i.n = 1 group by i.id_kind)"
                            ).fetchone()[0]
            if m > max(best["matched"], info.get("padded_matched", 0)) and m / best["rows"] >= (rate or 0) + 0.05:
                info.update(suggested_id_pad_width=int(w), padded_matched=int(m), padded_rate=round(m / best["rows"], 4))
    return best, info


def _output_sql(t, o: Output, rel: str, ctx: RuleContext, choice, pad) -> str:
    """The staged rows of one output: adapt (text) → type and check (``rules``) → resolve the
    student against the chosen SIS identifier → derive session keys — one SELECT over ``rel`` (the
    file's text c0…cN with __seg, __ord). Typing reads a DuckDB table on purpose: its text comes as
    dictionary vectors, so a date column of 180 distinct days is parsed 180 times, not 63 M."""
    sid_expr = _pad(null_if_marker(f"{choice[0]['expr']}::varchar"), pad) if choice else None
    keep = ["__seg", "__ord"]
    blocks = []
    for sel in o.selects:
        if o.student_ids:
            sel = dict(sel, student_id=sid_expr if sid_expr else "coalesce(" + ", ".join(
                null_if_marker(f"{e}::varchar") for e in o.student_ids.values()) + ")")
        cols = [f"{sel.get(c.name, 'NULL')}::varchar as {q(c.name)}" for c in t.columns]
        extra = [f"{sid_expr}::varchar as __sid"] if sid_expr else []
        where = f" where {o.where}" if o.where else ""
        blocks.append(f"select __seg, __ord, {', '.join(cols + extra)} from {rel}{where}")
    src = f"({' union all '.join(blocks)})"
    passthrough = keep + (["__sid"] if sid_expr else [])
    if o.table == "screener_results":
        vendor = o.selects[0].get("vendor", "NULL").strip("'")
        wv, dv = null_if_marker(q("window")), null_if_marker(q("test_date"))
        other = ", ".join(q(c.name) for c in t.columns if c.name != "window")
        src = (f"(select {', '.join(q(p) for p in passthrough)}, {other}, "
               f"{window_expr(wv, vendor, date_expr(dv, ctx))} as \"window\" from {src})")
    typed = typed_select(t, src, ctx, passthrough)
    filt = ""
    if o.table == "student_identifiers":      # a user without that kind of ID simply has none
        filt = " where id_value is not null"
    if o.table == "screener_domains":         # a measure the student was not given
        filt = (" where not (domain_score is null and domain_level_label is null "
                "and (__reason is null or __reason = 'missing_required'))")
    names = [c.name for c in t.columns]
    carry = ", ".join(f"t.{q(p)}" for p in keep)
    if sid_expr:
        kind = choice[0]["kind"] or ""
        cols = ", ".join(("i.student_id as student_id" if c == "student_id" else f"t.{q(c)}") for c in names)
        unmatched = "t.__reason is null and t.__sid is not null and i.student_id is null"
        sql = (f"select {cols}, {carry}, "
               f"case when {unmatched} then 'unmatched_student' else t.__reason end as __reason, "
               f"case when {unmatched} then 'student_id' else t.__reason_column end as __reason_column, "
               f"case when {unmatched} then t.__sid else t.__bad_value end as __bad_value, "
               f"case when {unmatched} then (case when i.n > 1 then 'several SIS students have this ID ({kind})' "
               f"else 'no SIS student has this ID ({kind or 'no SIS identifier matched'})' end) end as __detail "
               f"from ({typed}) t left join (select id_value, case when n = 1 then student_id end as student_id, n "
               f"from ids where id_kind = {s(kind)}) i on i.id_value = t.__sid{filt}")
    else:
        sql = (f"select {', '.join('t.' + q(c) for c in names)}, {carry}, t.__reason, t.__reason_column, "
               f"t.__bad_value, null::varchar as __detail from ({typed}) t{filt}")
    if o.table == "sessions":      # without a vendor session_id the key is (student, date-time, tutor, topic)
        sql = (f"select * replace (coalesce(session_id, 'k-' || md5(concat_ws('|', student_id, "
               f"cast(session_start as varchar), tutor_id, subject))) as session_id) from ({sql})")
    return sql


def _stage_file(con, config: Config, plan: _Plan, ctx_base: dict, staged: list[_Staged], work: Path,
                ids_ready: bool):
    """Read one file as text and stage the rows of each canonical table it feeds."""
    rep, sf, lay, h, n = plan.rep, plan.sf, plan.layout, plan.header, plan.index
    feed = plan.feed
    pad = feed.get("id_pad_width") or lay.id_pad_width
    ctx = RuleContext(**ctx_base, date_format=feed.get("date_format") or lay.date_format, code_fields=CODE_FIELDS,
                      source_timezone=feed.get("timezone") or lay.timezone)
    outs = lay.adapt(h)
    rep.unknown_columns = h.unused()
    rep.tables = sorted({o.table for o in outs})
    usable = []
    for o in outs:
        t = contracts.table(o.table)
        missing = [c.name for c in t.columns if c.required and all(sel.get(c.name, "NULL") == "NULL" for sel in o.selects)
                   and not (c.name == "student_id" and o.student_ids)]
        if missing and o.primary:
            al = "; ".join(f"'{m}' (accepted: {', '.join((m,) + ALIASES.get(m, ()))})" for m in missing)
            rep.error = (f"{rep.source_file}: required column missing for {lay.description}: {al}. "
                         "Add the column to the export or map it (config/mappings/)")
            plan.layout = None
            return
        if not missing:
            usable.append(o)
    ncols = max(1, len(sf.header))
    raw_cols = [f"c{i}" for i in range(ncols)]
    # cheap on dictionary-encoded text: a repeated header repeats the header's own first cells, and
    # an Excel row of empty cells is NULL or '' everywhere
    first = raw_cols[:min(3, len(sf.header))]
    hdr = " and ".join(f"{c} in ({s(sf.header[i])}, {s(chr(0xFEFF) + sf.header[i])})"
                       for i, c in enumerate(first)) or "false"
    empty = "coalesce(" + ", ".join(f"nullif({c}, '')" for c in raw_cols) + ") is null"
    raw = f"raw_{n}"
    try:
        rf = read_raw(con, sf, raw, work)
    except FileRejected as e:
        rep.error = str(e).replace(sf.path.name, rep.source_file, 1)
        plan.layout = None
        return
    if sf.encoding == "utf-8" and any(r[1].startswith("invalid characters") for r in rf.rejects):
        with open(sf.path, "rb") as f:
            ascii_head = f.read(1 << 20).isascii()
        if ascii_head:     # cp1252 bytes beyond the sniffed head: read the whole file as cp1252
            _drop_raw(con, rf)
            sf.encoding = "cp1252"
            rep.warnings.append("read as cp1252 (not UTF-8)")
            return _stage_file(con, config, plan, ctx_base, staged, work, ids_ready)
    rep.warnings += rf.warnings
    malformed, padded, padded_lines = [], [], []
    for line, what, text in rf.rejects:
        fields = _short_but_closed(text, sf.delimiter, len(sf.header)) if what.startswith("fewer fields") else None
        if fields is not None:
            padded.append(fields + [None] * (len(sf.header) - len(fields)))
            padded_lines.append(line)
        else:
            malformed.append((line, what, text))
    if padded:
        # Fewer fields than the header, but the last one is a closed quote: the exporter left off
        # trailing empty columns (seen in real MAP files). A truncated transfer cuts a value and
        # leaves an unbalanced quote or an unquoted tail, and stays malformed.
        rf.add_rows(con, padded, padded_lines)
        rep.warnings.append(f"{len(padded)} row(s) had fewer columns than the header; the missing trailing "
                            "columns were read as empty")
    hdr_sql, empty_sql = hdr, empty
    n_hdr, n_empty = con.execute(f"select count(*) filter (where {hdr_sql}), count(*) filter (where {empty_sql}) "
                                 f"from {raw}").fetchone()
    if n_hdr:       # a repeated header row (files concatenated) is not data
        got = con.execute(f"select __seg, __ord from {raw} where {hdr_sql}").fetchnumpy()
        for line in rf.line_of(got["__seg"], got["__ord"]):
            malformed.append((int(line), "repeated header row", sf.delimiter.join(sf.header)))
    if n_empty:
        rep.warnings.append(f"{n_empty} row(s) with every field blank were ignored")
    if malformed:
        con.executemany("insert into quarantine values (?, null, null, ?, null, null, 'malformed_row', ?, ?, true)",
                        [[n, line, what, text] for line, what, text in malformed])
    keep = f" where not ({hdr_sql}) and not ({empty_sql})" if (n_hdr or n_empty) else ""
    rel = raw
    if keep:
        rel = f"{raw}_f"
        con.execute(f"create or replace view {rel} as select * from {raw}{keep}")
    choice = None
    for k, o in enumerate(outs):
        if o not in usable:
            continue
        t = contracts.table(o.table)
        if o.student_ids and ids_ready and choice is None:
            choice = _choose_student_column(con, o, rel, pad, str(n))
            if choice is not None and (o.primary or rep.id_match is None):
                rep.id_match = choice[1]
                if pad:
                    rep.warnings.append(f"student IDs left-padded to {pad} digits (id_pad_width)")
        name = f"stage_{n}_{k}"
        sql = _output_sql(t, o, rel, ctx, choice if (o.student_ids and ids_ready) else None, pad)
        con.execute(f"create or replace table {name} as {sql}")
        staged.append(_Staged(plan, o, name, rf))
        if o.table == "attendance" and config["attendance"].get("feed") != "absences_only":
            present, total = con.execute(f"select count(*) filter (where status = 'present'), count(*) from {name} "
                                         f"where __reason is null").fetchone()
            if total and not present:
                rep.warnings.append(f"{rep.source_file} lists no present days ({total} rows): if it holds only "
                                    "absences, set attendance: {feed: absences_only} in config.yml")
    _keep_rejected_raw(con, plan, [st for st in staged if st.plan is plan], rf)


def _drop_raw(con, rf: RawFile):
    con.execute(f"drop view if exists {rf.relation}_f")
    con.execute(f"drop view if exists {rf.relation}")
    for seg in rf.segments:
        con.execute(f"drop table if exists {seg.table}")
    con.execute(f"drop table if exists {rf.relation}_x")


def _keep_rejected_raw(con, plan: _Plan, mine: list[_Staged], rf: RawFile):
    """Keep the delivered text of the rows a rule rejected (a JSON object keyed by the file's
    header), then drop the file's raw text: the staged tables hold everything else."""
    n = plan.index
    parts = [f"select __seg, __ord from {st.table} where __reason is not null" for st in mine]
    if parts:
        con.execute(f"create or replace temp table qk as select distinct __seg, __ord from ({' union all '.join(parts)})")
        if con.execute("select count(*) from qk").fetchone()[0]:
            keys = _json_keys(plan.sf.header)
            obj = "json_object(" + ", ".join(f"{s(k)}, r.c{i}" for i, k in enumerate(keys)) + ")::varchar"
            con.execute(f"insert into qraw select {n}, r.__seg, r.__ord, {obj} from {rf.relation} r "
                        f"join qk k on k.__seg = r.__seg and k.__ord = r.__ord")
        con.execute("drop table qk")
    _drop_raw(con, rf)


def _short_but_closed(text: str, delimiter: str, width: int) -> list[str] | None:
    import csv as _csv
    import io as _io
    line = (text or "").rstrip("\r\n")
    if not line.endswith('"'):
        return None
    try:
        rows = list(_csv.reader(_io.StringIO(line), delimiter=delimiter, strict=True))
    except _csv.Error:
        return None
    if len(rows) != 1 or not (0 < len(rows[0]) < width):
        return None
    return rows[0]


def _detail_sql(ddate: dt.date, year: dict) -> str:
    whens = " ".join(f"when {s(r)} then {s(d)}" for r, d in DETAILS.items())
    future = s(f"after the delivery date {ddate.isoformat()}")
    other_year = s("outside the school year {} – {}".format(year["first_day"], year["last_day"]))
    return (f"coalesce(__detail, case __reason {whens} when 'future_date' then {future} "
            f"when 'wrong_school_year' then {other_year} end) || coalesce(': ' || __bad_value, '')")


def _key_match(t, a: str, b: str) -> str:
    return " and ".join(f"{a}.{q(k)} is not distinct from {b}.{q(k)}" for k in t.key)


def _write_tables(con, config: Config, cycle, work: Path, staged: list[_Staged], prev, timings, progress,
                  ddate: dt.date):
    """Per table: quarantine row-rule rejects and duplicate keys, add delta feeds' earlier rows or
    the filled present days, and write the Parquet file."""
    by_table: dict[str, list[_Staged]] = {}
    for st in staged:
        by_table.setdefault(st.output.table, []).append(st)
    counts, carried, derived = {}, {}, {}
    detail = _detail_sql(ddate, config.school_year)
    names = [t for t in AUXILIARY_TABLES if t in by_table] + list(TABLES)
    delta = set(_delta_feeds(config))
    for tname in names:
        ts = time.time()
        t = contracts.table(tname)
        cols = ", ".join(q(c) for c in t.names)
        parts = by_table.get(tname, [])
        keys = ", ".join(q(k) for k in t.key)
        if parts:
            con.execute(f"create or replace view u_{tname} as " + " union all ".join(
                f"select {cols}, {st.plan.index} as __file, __seg, __ord, __reason, __reason_column, __bad_value, "
                f"__detail, {str(st.output.primary).lower()} as __primary from {st.table}" for st in parts))
            con.execute(f"insert into quarantine select __file, __seg, __ord, null, {s(tname)}, __reason_column, "
                        f"__reason, {detail}, null, __primary from u_{tname} where __reason is not null")
            con.execute(f"create or replace table dk_{tname} as select {keys}, count(*) as __n from u_{tname} "
                        f"where __reason is null group by all having count(*) > 1")
            if con.execute(f"select count(*) from dk_{tname}").fetchone()[0]:
                km = _key_match(t, "d", "u")
                con.execute(f"create or replace table dr_{tname} as select u.*, row_number() over "
                            f"(partition by {cols} order by __file, __seg, __ord) as __copy from u_{tname} u "
                            f"where __reason is null and exists (select 1 from dk_{tname} d where {km})")
                con.execute(f"create or replace table dv_{tname} as select {keys}, count(*) as __variants from "
                            f"(select distinct {cols} from dr_{tname}) group by all")
                con.execute(f"create or replace table dr2_{tname} as select r.*, v.__variants from dr_{tname} r "
                            f"join dv_{tname} v on {_key_match(t, 'v', 'r')}")
                key_list = ", ".join(t.key)
                con.execute(
                    f"insert into quarantine select __file, __seg, __ord, null, {s(tname)}, {s(t.key[0])}, "
                    f"'duplicate_key', case when __variants > 1 then "
                    f"{s(f'rows share the key ({key_list}) with different values')} "
                    f"else 'exact duplicate of an earlier row' end, "
                    f"json_object({', '.join(f'{s(c)}, {q(c)}' for c in t.names)})::varchar, __primary "
                    f"from dr2_{tname} where __copy > 1 or __variants > 1")
                good = (f"select {cols}, __file from u_{tname} u where __reason is null and not exists "
                        f"(select 1 from dk_{tname} d where {km}) union all "
                        f"select {cols}, __file from dr2_{tname} where __copy = 1 and __variants = 1")
            else:
                good = f"select {cols}, __file from u_{tname} where __reason is null"
        else:
            empty = ", ".join(f"cast(null as {c.type}) as {q(c.name)}" for c in t.columns)
            good = f"select {empty}, null::integer as __file where false"
        if tname == "students" and con.execute(
                "select count(*) from information_schema.tables where table_name = 'good_student_demographics'"
        ).fetchone()[0]:
            demo = ("birth_date", "sex", "race", "hispanic")
            sel = ", ".join((f"coalesce(d.{q(c)}, g.{q(c)}) as {q(c)}" if c in demo else f"g.{q(c)}") for c in t.names)
            good = (f"select {sel}, g.__file from ({good}) g left join good_student_demographics d "
                    f"on d.student_id = g.student_id")
        feeds_here = _feeds_for_table(config, staged, tname, prev, delta)
        absences = tname == "attendance" and config["attendance"].get("feed") == "absences_only"
        if tname in KEEP_TABLES or feeds_here or absences:
            con.execute(f"create or replace table good_{tname} as {good}")
            good = f"select * from good_{tname}"
        if tname in AUXILIARY_TABLES:
            timings[f"table {tname}"] = round(time.time() - ts, 2)
            continue
        out = f"select {cols} from ({good})"
        if feeds_here:
            kept, carried[tname] = _carry_delta(con, t, tname, feeds_here, staged, prev, work)
            if absences:      # earlier absences count before present days are filled
                for k in kept:
                    con.execute(f"insert into good_{tname} select {cols}, -1 from {k}")
            else:
                out = " union all ".join([out] + [f"select {cols} from {k}" for k in kept])
        if absences:
            out, filled = _fill_present_days(con, config, cycle, t)
            derived["attendance_present_filled"] = filled
        counts[tname] = _copy_parquet(con, out, work / f"{tname}.parquet")
        timings[f"table {tname}"] = round(time.time() - ts, 2)
        if progress and counts[tname] > 1_000_000:
            progress(f"wrote {tname}: {counts[tname]} rows")
    return counts, {k: v for k, v in carried.items() if v}, derived


def _feeds_for_table(config: Config, staged: list[_Staged], tname: str, prev, delta: set[str]) -> list[str]:
    """Delta feeds that deliver this table now or delivered it before."""
    out = set()
    for st in staged:
        if st.output.table == tname and st.plan.rep.feed in delta:
            out.add(st.plan.rep.feed)
    if prev:
        for f in delta:
            if (prev[1] / "feeds" / _feed_dir(f) / f"{tname}.parquet").is_file():
                out.add(f)
    return sorted(out)


def _carry_delta(con, t, tname: str, feeds: list[str], staged: list[_Staged], prev, work: Path):
    """A delta feed's earlier rows stay unless this delivery has their key (late corrections win).
    Writes each feed's accumulated rows and returns the tables of rows kept from before."""
    cols = ", ".join(q(c) for c in t.names)
    kept, total = [], 0
    for f in feeds:
        files = sorted({st.plan.index for st in staged if st.plan.rep.feed == f and st.output.table == tname})
        mine = f"select {cols} from good_{tname} where __file in ({', '.join(map(str, files)) or 'null'})"
        state = prev[1] / "feeds" / _feed_dir(f) / f"{tname}.parquet" if prev else None
        ct = f"carry_{tname}_{len(kept)}"
        if state is not None and state.is_file():
            con.execute(f"create or replace table {ct} as select {cols} from read_parquet('{state}') p where not exists "
                        f"(select 1 from good_{tname} n where {_key_match(t, 'n', 'p')})")
        else:
            con.execute(f"create or replace table {ct} as select {cols} from good_{tname} where false")
        total += con.execute(f"select count(*) from {ct}").fetchone()[0]
        kept.append(ct)
        d = work / "feeds" / _feed_dir(f)
        d.mkdir(parents=True, exist_ok=True)
        _copy_parquet(con, f"{mine} union all select {cols} from {ct}", d / f"{tname}.parquet")
    return kept, total


def _fill_present_days(con, config: Config, cycle, t) -> tuple[str, int]:
    """Absences-only attendance: every school day (weekday of the school year, not in a break, up to
    the cycle end) of every student's enrollment that has no absence row is a present day. A
    student's enrollment at a school runs from their first class begin to their last class end
    (OneRoster enrollments, role student), else the whole year at their SIS school; a later
    enrollment ends the one before (a transfer)."""
    sy = config.school_year
    last = min(cycle.end, sy["last_day"])
    breaks = " ".join(f"and not (d between date '{b0}' and date '{b1}')" for b0, b1 in sy["breaks"])
    con.execute(f"create or replace table school_days as select cast(d as date) as d from "
                f"range(date '{sy['first_day']}', date '{last}' + interval 1 day, interval 1 day) r(d) "
                f"where isodow(d) <= 5 {breaks}")
    have_enr = con.execute("select count(*) from information_schema.tables where table_name = 'good_enrollments'"
                           ).fetchone()[0]
    enr = ("select e.user_id as student_id, coalesce(e.school_id, c.school_id) as school_id, e.begin_date, e.end_date "
           "from good_enrollments e left join good_classes c on c.class_id = e.class_id where e.role = 'student'"
           if have_enr else "select null::varchar as student_id, null::varchar as school_id, null::date as begin_date, "
                            "null::date as end_date where false")
    con.execute(f"""
        create or replace table spans as
        with e as ({enr}),
        per_school as (
            select student_id, school_id, min(coalesce(begin_date, date '{sy['first_day']}')) as b,
                   max(coalesce(end_date, date '{sy['last_day']}')) as e
            from e where student_id in (select student_id from good_students) group by 1, 2),
        whole_year as (
            select student_id, school_id, date '{sy['first_day']}' as b, date '{sy['last_day']}' as e
            from good_students where student_id not in (select student_id from per_school)),
        allspans as (select * from per_school union all select * from whole_year)
        select student_id, school_id, b,
               least(e, coalesce(lead(b) over (partition by student_id order by b, school_id) - 1, e)) as e
        from allspans""")
    cols = ", ".join(q(c) for c in t.names)
    con.execute(f"""
        create or replace table present_days as
        select s.student_id, s.school_id, d.d as attendance_date, 'present' as status
        from spans s join school_days d on d.d between s.b and s.e
        where not exists (select 1 from good_attendance a where a.student_id = s.student_id
                          and a.attendance_date = d.d)""")
    filled = con.execute("select count(*) from present_days").fetchone()[0]
    absences = (f"select a.student_id, coalesce(a.school_id, s.school_id) as school_id, a.attendance_date, a.status "
                f"from good_attendance a left join spans s on s.student_id = a.student_id "
                f"and a.attendance_date between s.b and s.e")
    return f"select {cols} from ({absences}) union all select {cols} from present_days", filled


def _copy_parquet(con, select: str, path: Path) -> int:
    tmp = path.with_suffix(".parquet.tmp")
    con.execute(f"copy ({select}) to '{tmp}' (format parquet, compression zstd)")
    os.replace(tmp, path)
    return con.execute(f"select count(*) from read_parquet('{path}')").fetchone()[0]


def _count_files(con, reports: list[FileReport], staged: list[_Staged]):
    """Per file: rows read = loaded + quarantined (counted on the file's primary outputs)."""
    by_idx = {st.plan.index: st.plan.rep for st in staged}
    for st in staged:
        if st.output.primary:
            st.plan.rep.rows_read += con.execute(f"select count(*) from {st.table}").fetchone()[0]
    reps = {i: r for i, r in enumerate(reports)}
    for idx, reason, primary, n in con.execute(
            "select file_idx, reason, primary_row, count(*) from quarantine group by all order by all").fetchall():
        rep = reps[idx]
        if primary:
            rep.quarantined_by_reason[reason] = rep.quarantined_by_reason.get(reason, 0) + n
            rep.rows_quarantined += n
            if reason == "malformed_row":
                rep.rows_read += n
        else:
            rep.secondary_quarantined += n
    for rep in reports:
        rep.rows_loaded = rep.rows_read - rep.rows_quarantined
    del by_idx


def _json_keys(header: list[str]) -> list[str]:
    out, seen = [], set()
    for i, h in enumerate(header):
        k = h if h and h not in seen else f"column {i + 1}"
        seen.add(k)
        out.append(k)
    return out


def _write_quarantine(con, staged: list[_Staged], reports: list[FileReport], work: Path):
    """Resolve each quarantined record's line (only for those rows) and the text it was delivered
    as, then write the restricted quarantine with file, line, column and reason."""
    files = {}
    for st in staged:
        files.setdefault(st.plan.index, st)
    for idx, st in files.items():
        got = con.execute("select distinct seg, ord from quarantine where file_idx = ? and seg is not null",
                          [idx]).fetchnumpy()
        if not len(got["seg"]):
            continue
        before = len(st.raw.warnings)
        lines = st.raw.line_of(got["seg"], got["ord"])
        st.plan.rep.warnings += st.raw.warnings[before:]
        con.register("qlines", pa.table({"seg": pa.array(got["seg"], pa.int32()), "ord": pa.array(got["ord"], pa.int64()),
                                         "line": pa.array(np.asarray(lines, np.int64))}))
        con.execute("update quarantine set line = l.line from qlines l where quarantine.file_idx = ? "
                    "and quarantine.seg = l.seg and quarantine.ord = l.ord", [idx])
        con.unregister("qlines")
    con.execute("update quarantine set raw_row = r.raw_row from qraw r where quarantine.raw_row is null "
                "and quarantine.file_idx = r.file_idx and quarantine.seg = r.seg and quarantine.ord = r.ord")
    names = pa.table({"file_idx": pa.array(list(range(len(reports))), pa.int32()),
                      "source_file": pa.array([r.source_file for r in reports], pa.string())})
    con.register("file_names", names)
    qcols = ", ".join(("f.source_file" if c == "source_file" else f"q.{c}") for c, _ in QUARANTINE_COLUMNS)
    con.execute(f"create or replace table quarantine_out as select {qcols} from quarantine q "
                f"join file_names f on f.file_idx = q.file_idx order by f.source_file, q.line, q.table_name")
    con.unregister("file_names")
    _copy_parquet(con, "select * from quarantine_out", work / "quarantine.parquet")


def _write_student_keys(con, config: Config, work: Path):
    """student_key = HMAC-SHA256(secret, student_id), first 32 hex digits — computed in SQL
    (RFC 2104 from two SHA-256 passes) so 6 M students need no Python loop."""
    key = student_key_secret(config)
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    k = key.ljust(64, b"\0")
    ipad, opad = bytes(b ^ 0x36 for b in k), bytes(b ^ 0x5C for b in k)
    con.execute("create or replace temp table hmac_pads as select ?::blob as ipad, ?::blob as opad", [ipad, opad])
    _copy_parquet(con, "select student_id, left(sha256(p.opad || unhex(sha256(p.ipad || encode(student_id)))), 32) "
                       "as student_key from (select distinct student_id from good_students where student_id is not null) "
                       "g, hmac_pads p order by student_id", work / "student_keys.parquet")


def _note_origins(config: Config, cycle_id: str, reports: list[FileReport]) -> None:
    """Where each pulled file came from (the pull manifest), if the inbox copy is still the pulled bytes."""
    from orchestration.pull import read_pull_manifest
    pulled = read_pull_manifest(config, cycle_id)["files"]
    for r in reports:
        e = pulled.get(r.source_file)
        if e and e.get("sha256") == r.sha256:
            r.pulled_from = {k: e.get(k) for k in ("feed", "url", "remote_mtime", "sha256")}


def _write_manifest(res: LandingResult, path: Path, cycle, mapping_errors: list[str], prev, stat_time: int):
    doc = {"cycle_id": res.cycle_id, "inputs_hash": res.inputs_hash, "delivery_date": res.delivery_date,
           "stat_time_ns": stat_time,
           "as_of_date": cycle.as_of.isoformat(), "landing_version": LANDING_VERSION, "seconds": res.seconds,
           "rows_loaded": res.rows_loaded, "carried_forward": res.carried_forward, "derived": res.derived,
           "previous_landing": prev[0] if prev else None, "mapping_errors": mapping_errors,
           "stage_seconds": res.stage_seconds, "files": [dataclasses.asdict(f) for f in res.files]}
    path.write_text(json.dumps(doc, indent=1, sort_keys=True, default=str))


def _result_from_manifest(doc: dict, final: Path, skipped: bool) -> LandingResult:
    known = {f.name for f in dataclasses.fields(FileReport)}
    files = [FileReport(**{k: v for k, v in f.items() if k in known}) for f in doc["files"]]
    return LandingResult(doc["cycle_id"], final, doc["inputs_hash"], doc["delivery_date"], files,
                         doc["rows_loaded"], skipped=skipped, seconds=doc.get("seconds", 0.0),
                         carried_forward=doc.get("carried_forward") or {}, derived=doc.get("derived") or {},
                         stage_seconds=doc.get("stage_seconds") or {})


def read_manifest(config: Config, cycle_id: str) -> LandingResult | None:
    m = config.landing / cycle_id / "manifest.json"
    if not m.is_file():
        return None
    return _result_from_manifest(json.loads(m.read_text()), m.parent, skipped=True)
