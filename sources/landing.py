"""Landing one cycle's delivery: inbox files → typed canonical Parquet + quarantine + manifest.

``land_cycle`` reads ``<data_dir>/inbox/<cycle>/{sis,screener,tutoring}/*``, detects each file's layout
from its header, adapts it to the canonical tables, applies the row rules, resolves student IDs
against every SIS identifier, removes duplicates, and writes ``<data_dir>/landing/<cycle>/`` with one
Parquet file per canonical table (empty, typed, when not delivered), ``quarantine.parquet`` and
``manifest.json``. For every file the manifest holds rows read = loaded + quarantined. A delivery
whose inputs hash is unchanged is not landed again. All row work is DuckDB SQL.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from orchestration.config import Config
from . import contracts
from .contracts import AUX_TABLES, QUARANTINE_COLUMNS, TABLES
from .layouts import AUXILIARY_TABLES, CODE_FIELDS, LAYOUTS, Header, Output, detect
from .reader import FileRejected, read_raw, sha256, sniff
from .rules import RuleContext, date_expr, q, s, typed_select, window_expr
from .reader import null_if_marker

LANDING_VERSION = "1"          # bump when landing logic changes output for the same inputs
FOLDERS = ("sis", "screener", "tutoring")


@dataclass
class FileReport:
    source_file: str
    folder: str
    sha256: str
    size: int
    layout: str | None = None
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
    """Every delivered file under the cycle's inbox folder; hidden files and _READY are ignored."""
    out = []
    for sub in FOLDERS:
        d = folder / sub
        if not d.is_dir():
            continue
        for p in sorted(d.rglob("*")):
            rel = p.relative_to(d)
            if p.is_file() and not any(part.startswith((".", "_")) for part in rel.parts):
                out.append(p)
    return out


def delivery_date(folder: Path, files: list[Path]) -> dt.date:
    """The date in the delivery's `_READY` marker, else its newest file's modification date."""
    ready = folder / "_READY"
    if ready.is_file():
        text = ready.read_text(encoding="utf-8").strip()
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


def _inputs_hash(config: Config, cycle_id: str, reports: list[FileReport], ddate: dt.date) -> str:
    h = hashlib.sha256()
    h.update(f"{LANDING_VERSION}|{cycle_id}|{ddate}|".encode())
    settings = {k: config.raw.get(k) for k in ("school_year", "identity", "sources", "district", "attendance")}
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for r in reports:
        h.update(f"|{r.source_file}:{r.sha256}".encode())
    for p in sorted((Path(__file__).parent).glob("*.py")) + [Path(__file__).parents[1] / "dbt_project/seeds/code_aliases.csv",
                                                             Path(__file__).parents[1] / "dbt_project/seeds/window_aliases.csv"]:
        h.update(p.read_bytes())
    return h.hexdigest()


def _feed_for(config: Config, folder: str, rel: str) -> dict:
    import fnmatch
    for f in config.feed_settings(folder):
        pat = f.get("pattern") or "*"
        if fnmatch.fnmatch(Path(rel).name, pat) or fnmatch.fnmatch(rel, pat):
            return f
    return {}


def _closest_layout_hint(h: Header) -> str:
    best, missing = None, None
    for lay in LAYOUTS:
        miss = [c for c in lay.identify if not h.known(c)]
        if len(miss) < len(lay.identify) and (missing is None or len(miss) < len(missing)):
            best, missing = lay, miss
    if best and missing is not None and len(missing) <= max(1, len(best.identify) // 2):
        from .layouts import ALIASES
        parts = []
        for m in missing:
            al = ALIASES.get(m, ())
            parts.append(f"'{m}'" + (f" (also accepted: {', '.join(al)})" if al else ""))
        return (f"it looks like {best.description} but the required column(s) {', '.join(parts)} "
                f"are missing; add the column(s) to the export, or write a mapping in config/mappings/")
    return "no known layout has these columns; add a mapping (config/mappings/) or remove the file"


def land_cycle(config: Config, cycle_id: str, *, force: bool = False, progress=None) -> LandingResult:
    t0 = time.time()
    cycle = config.cycle(cycle_id)
    inbox = config.inbox / cycle_id
    files = delivery_files(inbox)
    ddate = delivery_date(inbox, files)
    reports = [FileReport(str(p.relative_to(inbox)), p.relative_to(inbox).parts[0], sha256(p), p.stat().st_size)
               for p in files]
    ihash = _inputs_hash(config, cycle_id, reports, ddate)
    final = config.landing / cycle_id
    manifest = final / "manifest.json"
    if not force and manifest.is_file():
        old = json.loads(manifest.read_text())
        if old.get("inputs_hash") == ihash and all((final / f"{t}.parquet").is_file() for t in TABLES):
            return _result_from_manifest(old, final, skipped=True)

    config.landing.mkdir(parents=True, exist_ok=True)
    _remove_stale_work(config.landing, cycle_id)
    work = config.landing / f".tmp-{cycle_id}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    con = duckdb.connect(str(work / "landing.duckdb"))
    con.execute("set TimeZone='UTC'")
    con.execute(f"set temp_directory='{work / 'spill'}'")
    con.execute("set preserve_insertion_order=true")
    ctx_base = dict(timezone=str(config.timezone), delivery_date=ddate,
                    year_start=config.school_year["first_day"], year_end=config.school_year["last_day"])
    outputs: list[tuple[FileReport, Output, str]] = []     # (file, output, staged table)
    malformed: list[tuple[FileReport, int, str, str]] = []
    try:
        for n, (p, rep) in enumerate(zip(files, reports)):
            if progress:
                progress(f"reading {rep.source_file}")
            _stage_file(con, config, p, rep, n, ctx_base, outputs, malformed, work)
        _resolve_students(con, config, outputs)
        rows_loaded = _write_tables(con, work, outputs, malformed)
        _count_files(con, reports, outputs, malformed)
        _write_student_keys(con, config, work)
        con.close()
        (work / "landing.duckdb").unlink(missing_ok=True)
        shutil.rmtree(work / "spill", ignore_errors=True)
        res = LandingResult(cycle_id, final, ihash, ddate.isoformat(), reports, rows_loaded)
        res.seconds = round(time.time() - t0, 3)
        _write_manifest(res, work / "manifest.json", cycle)
        if final.exists():
            hist = config.landing / "history" / cycle_id
            hist.mkdir(parents=True, exist_ok=True)
            old_hash = json.loads(manifest.read_text()).get("inputs_hash", "unknown")[:16] if manifest.is_file() else "unknown"
            dest = hist / f"{old_hash}-{int(time.time())}"
            os.rename(final, dest)
        os.rename(work, final)
        return res
    finally:
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


def _stage_file(con, config, path: Path, rep: FileReport, n: int, ctx_base: dict, outputs, malformed, work: Path):
    try:
        sf = sniff(path)
    except FileRejected as e:
        rep.error = str(e).replace(path.name, rep.source_file, 1)
        return
    h = Header(sf)
    lay = detect(h)
    if lay is None:
        if h.names and all(n in ("propertyname", "value") for n in h.names):
            return
        rep.error = f"{rep.source_file}: unrecognised file — {_closest_layout_hint(h)}"
        return
    rep.layout = lay.name
    rep.warnings += sf.warnings
    if sf.encoding != "utf-8":
        rep.warnings.append(f"read as {sf.encoding} (not UTF-8)")
    if lay.folder and lay.folder != rep.folder:
        rep.warnings.append(f"{rep.source_file} is a {lay.description} file in the '{rep.folder}' folder; "
                            f"loaded as {lay.folder} data")
    raw = f"raw_{n}"
    try:
        rejects = read_raw(con, sf, raw, work)
    except FileRejected as e:
        rep.error = str(e).replace(path.name, rep.source_file, 1)
        return
    padded = 0
    for line, err, text in rejects:
        fields = _short_but_closed(text, sf.delimiter, len(sf.header)) if err == "MISSING COLUMNS" else None
        if fields is not None:
            # Fewer fields than the header, but the last one is a closed quote: the exporter left
            # off trailing empty columns (seen in real MAP files). A truncated transfer cuts a value
            # and leaves an unbalanced quote or an unquoted tail, and stays malformed.
            con.execute(f"insert into {raw} values ({', '.join('?' for _ in range(len(sf.header) + 1))})",
                        fields + [None] * (len(sf.header) - len(fields)) + [line])
            padded += 1
        else:
            malformed.append((rep, line, err, text))
    if padded:
        rep.warnings.append(f"{padded} row(s) had fewer columns than the header; the missing trailing "
                            "columns were read as empty")
    # A repeated header row inside the data is not data.
    first_cols = [f"c{i}" for i in range(min(3, len(sf.header)))]
    hdr_cond = " and ".join(f"lower(trim({c})) = {s(sf.normalized[i])}" for i, c in enumerate(first_cols))
    con.execute(f"create or replace table {raw}_hdr as select __line from {raw} where {hdr_cond}")
    hdr_lines = [r[0] for r in con.execute(f"select __line from {raw}_hdr").fetchall()]
    for line in hdr_lines:
        malformed.append((rep, line, "repeated header row", ",".join(sf.header)))
    if hdr_lines:
        con.execute(f"delete from {raw} where __line in (select __line from {raw}_hdr)")
    feed = _feed_for(config, rep.folder, rep.source_file)
    ctx = RuleContext(**ctx_base, date_format=feed.get("date_format"), code_fields=CODE_FIELDS)
    outs = lay.adapt(h)
    rep.unknown_columns = h.unused()
    rep.tables = sorted({o.table for o in outs})
    for k, o in enumerate(outs):
        t = contracts.table(o.table)
        missing = [c.name for c in t.columns if c.required and all(sel.get(c.name, "NULL") == "NULL" for sel in o.selects)
                   and not (c.name == "student_id" and o.student_ids)]
        if missing and o.primary:
            from .layouts import ALIASES
            al = "; ".join(f"'{m}' (accepted: {', '.join((m,) + ALIASES.get(m, ()))})" for m in missing)
            rep.error = (f"{rep.source_file}: required column missing for {lay.description}: {al}. "
                         "Add the column to the export or map it in config/mappings/")
            return
        blocks = []
        for sel in o.selects:
            if o.student_ids:   # resolved later; here only "is there any ID at all"
                sel = dict(sel, student_id="coalesce(" + ", ".join(
                    f"nullif(trim({e}), '')" for e in o.student_ids.values()) + ")")
            cols = [f"{sel.get(c.name, 'NULL')}::varchar as {q(c.name)}" for c in t.columns]
            sid_cols = [f"{expr}::varchar as {q('__sid:' + name)}" for name, expr in o.student_ids.items()]
            where = f" where {o.where}" if o.where else ""
            blocks.append(f"select __line, {', '.join(cols + sid_cols)} from {raw}{where}")
        src = f"({' union all '.join(blocks)})"
        if o.table == "screener_results":
            vendor = sel_vendor = o.selects[0].get("vendor", "NULL").strip("'")
            wv, dv = null_if_marker(q("window")), null_if_marker(q("test_date"))
            other = ", ".join(q(c.name) for c in t.columns if c.name != "window")
            sids = "".join(f", {q('__sid:' + nm)}" for nm in o.student_ids)
            src = (f"(select __line, {other}{sids}, {window_expr(wv, sel_vendor, date_expr(dv, ctx))} as \"window\" "
                   f"from {src})")
        passthrough = ["__line"] + [f"__sid:{nm}" for nm in o.student_ids]
        staged = f"stage_{n}_{k}"
        con.execute(f"create or replace table {staged} as {typed_select(t, src, ctx, passthrough)}")
        if o.table == "student_identifiers":      # a user without that kind of ID simply has none
            con.execute(f"delete from {staged} where id_value is null")
        if o.table == "screener_domains":         # a measure the student was not given
            con.execute(f"delete from {staged} where domain_score is null and domain_level_label is null "
                        f"and (__reason is null or __reason = 'missing_required')")
        outputs.append((rep, o, staged))
    con.execute(f"drop table {raw}")
    con.execute(f"drop table {raw}_hdr")


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


def _resolve_students(con, config: Config, outputs):
    """Vendor IDs → SIS sourcedId: every candidate column × every SIS identifier kind; the pair that
    matches most rows wins. Unmatched rows get `unmatched_student`."""
    ident_tables = [st for _, o, st in outputs if o.table == "student_identifiers"]
    student_tables = [st for _, o, st in outputs if o.table == "students"]
    parts = [f"select student_id, id_value, id_kind from {t} where __reason is null and id_value is not null"
             for t in ident_tables]
    parts += [f"select student_id, student_id, 'sourcedId' from {t} where __reason is null" for t in student_tables]
    if parts:
        con.execute(f"create or replace table ids as select distinct student_id, trim(id_value) as id_value, id_kind "
                    f"from ({' union all '.join(parts)}) where id_value is not null")
    else:
        con.execute("create or replace table ids (student_id varchar, id_value varchar, id_kind varchar)")
    for rep, o, staged in outputs:
        if not o.student_ids:
            continue
        pad = _feed_for(config, rep.folder, rep.source_file).get("id_pad_width")
        best = None
        for name in o.student_ids:
            col = q(f"__sid:{name}")
            val = f"lpad(trim({col}), {int(pad)}, '0')" if pad else f"trim({col})"
            rows = con.execute(
                f"select i.id_kind, count(*) from {staged} s join ids i on i.id_value = {val} "
                f"group by i.id_kind").fetchall()
            total = con.execute(f"select count(*) from {staged} where nullif(trim({col}), '') is not null").fetchone()[0]
            for kind, matched in rows:
                if best is None or matched > best[2]:
                    best = (name, kind, matched, total, val)
            if best is None and total:
                best = (name, None, 0, total, val)
        if best is None:
            con.execute(f"update {staged} set __reason = 'missing_required', __reason_column = 'student_id' "
                        f"where __reason is null")
            continue
        name, kind, matched, total, val = best
        if o.primary or rep.id_match is None:
            rep.id_match = {"column": name, "sis_identifier": kind, "matched": int(matched), "rows": int(total),
                            "rate": round(matched / total, 4) if total else None}
        if pad:
            rep.warnings.append(f"student IDs left-padded to {pad} digits (id_pad_width)")
        con.execute(f"alter table {staged} add column __sid varchar")
        con.execute(f"update {staged} set __sid = {val}, student_id = null")
        con.execute(f"update {staged} s set student_id = i.student_id from ids i "
                    f"where i.id_kind = {s(kind or '')} and i.id_value = s.__sid")
        con.execute(f"update {staged} set __reason = case when __sid is null or __sid = '' "
                    f"then 'missing_required' else 'unmatched_student' end, __reason_column = 'student_id' "
                    f"where __reason is null and student_id is null")


def _key_expr(t) -> str:
    return ", ".join(q(k) for k in t.key)


def _write_tables(con, work: Path, outputs, malformed) -> dict[str, int]:
    """Union each table's staged rows, derive missing session keys, quarantine duplicates, write."""
    by_table: dict[str, list[tuple[int, str]]] = {}
    for idx, (rep, o, staged) in enumerate(outputs):
        by_table.setdefault(o.table, []).append((idx, staged))
    con.execute("create or replace table quarantine (file_idx integer, source_file varchar, line bigint, "
                "table_name varchar, column_name varchar, reason varchar, detail varchar, raw_row varchar, primary_row boolean)")
    counts = {}
    names = list(TABLES) + [t for t in AUXILIARY_TABLES if t in by_table]
    for tname in names:
        t = contracts.table(tname)
        cols = ", ".join(q(c) for c in t.names)
        parts = by_table.get(tname, [])
        if parts:
            union = " union all ".join(
                f"select {cols}, __line, {i} as __file, __reason, __reason_column, __raw from {st}" for i, st in parts)
        else:
            union = None
        if union:
            con.execute(f"create or replace table all_{tname} as {union}")
            if tname == "sessions":
                con.execute("update all_sessions set session_id = 'k-' || md5(concat_ws('|', student_id, "
                            "cast(session_start as varchar), tutor_id, subject)) where session_id is null and __reason is null")
            # exact duplicates: keep the first copy
            con.execute(f"""
                create or replace table dd_{tname} as
                select *, row_number() over (partition by {cols} order by __file, __line) as __copy
                from all_{tname} where __reason is null""")
            con.execute(f"""
                create or replace table kc_{tname} as
                select {_key_expr(t)} from dd_{tname} where __copy = 1
                group by {_key_expr(t)} having count(*) > 1""")
            key_join = " and ".join(f"d.{q(k)} is not distinct from k.{q(k)}" for k in t.key)
            con.execute(f"""
                insert into quarantine
                select d.__file, null, d.__line, '{tname}', '{t.key[0]}', 'duplicate_key',
                       case when d.__copy > 1 then 'exact duplicate of an earlier row'
                            else 'rows share the key ({", ".join(t.key)}) with different values' end,
                       d.__raw, null
                from dd_{tname} d where d.__copy > 1 or exists (select 1 from kc_{tname} k where {key_join})""")
            con.execute(f"""
                insert into quarantine
                select __file, null, __line, '{tname}', __reason_column, __reason, null, __raw, null
                from all_{tname} where __reason is not null""")
            good = (f"select {cols} from dd_{tname} d where __copy = 1 and not exists "
                    f"(select 1 from kc_{tname} k where {key_join})")
            con.execute(f"create or replace table good_{tname} as {good}")
            for x in (f"all_{tname}", f"dd_{tname}", f"kc_{tname}"):
                con.execute(f"drop table {x}")
        else:
            empty = ", ".join(f"cast(null as {c.type}) as {q(c.name)}" for c in t.columns)
            con.execute(f"create or replace table good_{tname} as select {empty} where false")
    _fold_demographics(con)
    for tname in TABLES:
        counts[tname] = _copy_parquet(con, f"good_{tname}", work / f"{tname}.parquet")
    for rep, line, err, text in malformed:
        con.execute("insert into quarantine values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [-1, rep.source_file, line, None, None, "malformed_row", err, text, True])
    return counts


def _fold_demographics(con):
    if con.execute("select count(*) from information_schema.tables where table_name = 'good_student_demographics'").fetchone()[0]:
        con.execute("""
            update good_students s set birth_date = d.birth_date, sex = d.sex, race = d.race, hispanic = d.hispanic
            from good_student_demographics d where d.student_id = s.student_id""")


def _copy_parquet(con, table: str, path: Path) -> int:
    tmp = path.with_suffix(".parquet.tmp")
    con.execute(f"copy (select * from {table}) to '{tmp}' (format parquet, compression zstd)")
    os.replace(tmp, path)
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def _count_files(con, reports: list[FileReport], outputs, malformed):
    """Per file: rows read = loaded + quarantined (counted on the file's primary outputs)."""
    file_of = {idx: (rep, o) for idx, (rep, o, _) in enumerate(outputs)}
    con.execute("create or replace table file_map (file_idx integer, source_file varchar, is_primary boolean)")
    rows = [(idx, rep.source_file, o.primary) for idx, (rep, o) in file_of.items()]
    if rows:
        con.executemany("insert into file_map values (?, ?, ?)", rows)
    con.execute("update quarantine q set source_file = m.source_file, primary_row = m.is_primary "
                "from file_map m where q.file_idx = m.file_idx")
    by_rep = {r.source_file: r for r in reports}
    for idx, (rep, o, staged) in enumerate(outputs):
        if o.primary:
            rep.rows_read += con.execute(f"select count(*) from {staged}").fetchone()[0]
    for src, reason, primary, n in con.execute(
            "select source_file, reason, primary_row, count(*) from quarantine group by all").fetchall():
        rep = by_rep[src]
        if primary:
            rep.quarantined_by_reason[reason] = rep.quarantined_by_reason.get(reason, 0) + n
            rep.rows_quarantined += n
        else:
            rep.secondary_quarantined += n
    for rep, line, err, text in malformed:
        rep.rows_read += 1
    for rep in reports:
        rep.rows_loaded = rep.rows_read - rep.rows_quarantined
    # The restricted copy of every rejected row, with file, line, column and reason.
    qcols = ", ".join(c for c, _ in QUARANTINE_COLUMNS)
    con.execute(f"create or replace table quarantine_out as select {qcols} from quarantine order by source_file, line")


def _write_student_keys(con, config: Config, work: Path):
    ids = [r[0] for r in con.execute("select distinct student_id from good_students order by 1").fetchall()]
    key = student_key_secret(config)
    keys = [hmac.new(key, i.encode(), hashlib.sha256).hexdigest()[:32] for i in ids]
    pq.write_table(pa.table({"student_id": pa.array(ids, pa.string()), "student_key": pa.array(keys, pa.string())}),
                   work / "student_keys.parquet")
    _copy_parquet(con, "quarantine_out", work / "quarantine.parquet")


def _write_manifest(res: LandingResult, path: Path, cycle):
    doc = {"cycle_id": res.cycle_id, "inputs_hash": res.inputs_hash, "delivery_date": res.delivery_date,
           "as_of_date": cycle.as_of.isoformat(), "landing_version": LANDING_VERSION, "seconds": res.seconds,
           "rows_loaded": res.rows_loaded, "files": [f.__dict__ for f in res.files]}
    path.write_text(json.dumps(doc, indent=1, sort_keys=True, default=str))


def _result_from_manifest(doc: dict, final: Path, skipped: bool) -> LandingResult:
    files = [FileReport(**f) for f in doc["files"]]
    return LandingResult(doc["cycle_id"], final, doc["inputs_hash"], doc["delivery_date"], files,
                         doc["rows_loaded"], skipped=skipped, seconds=doc.get("seconds", 0.0))


def read_manifest(config: Config, cycle_id: str) -> LandingResult | None:
    m = config.landing / cycle_id / "manifest.json"
    if not m.is_file():
        return None
    return _result_from_manifest(json.loads(m.read_text()), m.parent, skipped=True)
