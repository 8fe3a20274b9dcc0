"""YAML mappings: a vendor layout described in a short file, not code (DESIGN §4.3).

A mapping names the canonical table it produces, which of the vendor's headers feed which canonical
column, value maps, a date format, a timezone for naive times, constants, and optionally the
headers that identify it. It is found either by name from a ``sources:`` entry (``mapping:
acme_tutors`` or a path) or automatically by header, from ``config/mappings/`` in this repository
and ``mappings/`` beside the district's config file. Example (``config/mappings/acme_tutors.yml``)::

    name: acme_tutors
    table: sessions
    columns:                                   # canonical column: vendor header (or a list of spellings)
      student_id: Learner ID
      session_start: {join: [Session Date (DD/MM/YYYY), Start Time], sep: " "}
      session_duration: Minutes
      attendance_status: "Status: P/A/TA/C"
    values:                                    # per canonical column: vendor code → canonical code
      attendance_status: {P: attended, A: student_absent, TA: tutor_absent, C: cancelled}
    date_format: "%d/%m/%Y"
    timezone: America/Chicago
    constants: {partner_org: Acme Tutors}

Run ``python -m sources.mappings FILE.csv [--mapping NAME_OR_PATH] [--config config.yml]`` to see
how a file is recognised and what its first rows become.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .contracts import TABLES
from .layouts import ALIASES, Header, Layout, Output, canonical_select, lit
from .reader import normalize

REPO_MAPPINGS = Path(__file__).resolve().parents[1] / "config" / "mappings"
KEYS = {"name", "description", "vendor", "table", "columns", "values", "constants", "identify", "date_format",
        "timezone", "id_pad_width", "folder"}


class MappingError(ValueError):
    """A mapping file is not valid: names the file, the key and what is allowed."""


@dataclass
class Mapping:
    name: str
    path: Path
    table: str
    description: str = ""
    vendor: str = ""
    columns: dict[str, dict] = field(default_factory=dict)     # canonical → {"any": [...]} | {"join": [...], "sep"}
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    identify: list[str] = field(default_factory=list)
    date_format: str | None = None
    timezone: str | None = None
    id_pad_width: int | None = None


def _fail(path: Path, key: str, value, allowed: str):
    raise MappingError(f"mapping {path}: key '{key}': {value!r} is not allowed; expected {allowed}")


def _headers(path: Path, key: str, spec) -> dict:
    if isinstance(spec, str):
        return {"any": [spec]}
    if isinstance(spec, list) and spec and all(isinstance(x, str) for x in spec):
        return {"any": list(spec)}
    if isinstance(spec, dict) and set(spec) <= {"join", "sep"} and isinstance(spec.get("join"), list) \
            and spec["join"] and all(isinstance(x, str) for x in spec["join"]):
        return {"join": list(spec["join"]), "sep": str(spec.get("sep", " "))}
    _fail(path, key, spec, "a header name, a list of alternative header names, or {join: [headers], sep: ' '}")


def load_mapping(path: Path) -> Mapping:
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise MappingError(f"mapping {path}: cannot be read as YAML ({e})") from None
    if not isinstance(doc, dict):
        _fail(path, "(file)", type(doc).__name__, "a YAML mapping with table and columns")
    unknown = sorted(set(doc) - KEYS)
    if unknown:
        _fail(path, unknown[0], doc[unknown[0]], "one of " + ", ".join(sorted(KEYS)))
    table = doc.get("table")
    if table not in TABLES:
        _fail(path, "table", table, "a canonical table: " + ", ".join(TABLES))
    t = TABLES[table]
    cols = doc.get("columns") or {}
    if not isinstance(cols, dict) or not cols:
        _fail(path, "columns", cols, "a mapping of canonical column → vendor header")
    columns = {}
    for k, v in cols.items():
        if k not in t.names:
            _fail(path, f"columns.{k}", k, f"a column of {table}: " + ", ".join(t.names))
        columns[k] = _headers(path, f"columns.{k}", v)
    values = {}
    for k, vm in (doc.get("values") or {}).items():
        if k not in t.names:
            _fail(path, f"values.{k}", k, f"a column of {table}")
        if not isinstance(vm, dict):
            _fail(path, f"values.{k}", vm, "a mapping of vendor value → canonical value")
        out = {}
        for a, b in vm.items():
            if isinstance(a, bool) or isinstance(b, bool):
                _fail(path, f"values.{k}", {a: b}, "quoted text: YAML reads Yes/No/On/Off/true/false unquoted "
                      "as booleans — write \"Yes\": present")
            out[str(a).strip().lower()] = None if b is None else str(b)
        values[k] = out
    constants = {}
    for k, v in (doc.get("constants") or {}).items():
        if k not in t.names:
            _fail(path, f"constants.{k}", k, f"a column of {table}")
        constants[k] = None if v is None else str(v)
    tz = doc.get("timezone")
    if tz is not None:
        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError):
            _fail(path, "timezone", tz, "an IANA time zone such as America/Chicago")
    fmt = doc.get("date_format")
    if fmt is not None and (not isinstance(fmt, str) or "%" not in fmt):
        _fail(path, "date_format", fmt, "a strftime format such as \"%d/%m/%Y\"")
    pad = doc.get("id_pad_width")
    if pad is not None and (isinstance(pad, bool) or not isinstance(pad, int) or not 1 <= pad <= 64):
        _fail(path, "id_pad_width", pad, "a whole number of digits between 1 and 64")
    ident = doc.get("identify")
    if ident is not None and not (isinstance(ident, list) and all(isinstance(x, str) for x in ident) and ident):
        _fail(path, "identify", ident, "a list of header names")
    missing = [c.name for c in t.columns if c.required and c.name not in columns and c.name not in constants
               and not (table == "sessions" and c.name == "attendance_status")]
    if missing:
        _fail(path, "columns", sorted(columns), f"a header or constant for every required column of {table}; "
              f"missing: {', '.join(missing)}")
    name = str(doc.get("name") or path.stem)
    if not ident:   # every header the mapping reads identifies it (the first spelling of each)
        ident = [h for spec in columns.values() for h in (spec["join"] if "join" in spec else spec["any"][:1])]
    return Mapping(name, path, table, str(doc.get("description") or f"{name} (YAML mapping)"),
                   str(doc.get("vendor") or ""), columns, values, constants, list(ident), fmt,
                   None if tz is None else str(tz), pad)


def search_dirs(config_path: Path | None) -> list[Path]:
    dirs = []
    if config_path is not None:
        dirs.append(Path(config_path).resolve().parent / "mappings")
    dirs.append(REPO_MAPPINGS)
    return dirs


def resolve(ref: str, config_path: Path | None) -> Path:
    """A sources entry's ``mapping:`` — a name (looked up in the mapping folders) or a path."""
    p = Path(ref)
    if p.suffix in (".yml", ".yaml"):
        cands = [p] if p.is_absolute() else ([Path(config_path).resolve().parent / p] if config_path else []) + [p]
    else:
        cands = [d / f"{ref}{ext}" for d in search_dirs(config_path) for ext in (".yml", ".yaml")]
    for c in cands:
        if c.is_file():
            return c.resolve()
    raise MappingError(f"mapping '{ref}' not found; looked for " + ", ".join(str(c) for c in cands))


def discover(config_path: Path | None) -> tuple[list[Mapping], list[str]]:
    """Every mapping in the search folders (a district's own first; the same name once), and the
    errors of those that do not load."""
    out, errors, seen = [], [], set()
    for d in search_dirs(config_path):
        if not d.is_dir():
            continue
        for p in sorted(list(d.glob("*.yml")) + list(d.glob("*.yaml"))):
            try:
                m = load_mapping(p)
            except MappingError as e:
                errors.append(str(e))
                continue
            if m.name not in seen:
                seen.add(m.name)
                out.append(m)
    return out, errors


def _value_map(expr: str, vm: dict[str, str | None]) -> str:
    whens = " ".join(f"when {lit(a)} then {lit(b)}" for a, b in sorted(vm.items()))
    return f"(case lower(trim({expr})) {whens} else {expr} end)"


def to_layout(m: Mapping) -> Layout:
    t = TABLES[m.table]
    wanted = [normalize(x) for x in m.identify]

    def matcher(h: Header) -> bool:
        return all(h._find(x) for x in wanted)

    def adapt(h: Header) -> list[Output]:
        sel = canonical_select(h, m.table, t.names)        # unmapped columns still match by canonical name
        for c, spec in m.columns.items():
            if "join" in spec:
                parts = [h.sql(normalize(x)) for x in spec["join"]]
                sel[c] = ("concat_ws(" + lit(spec["sep"]) + ", " + ", ".join(f"nullif(trim({p}), '')" for p in parts)
                          + ")") if all(p != "NULL" for p in parts) else "NULL"
            else:
                sel[c] = h.sql(*[normalize(x) for x in spec["any"]])
        for c, v in m.constants.items():
            sel[c] = lit(v)
        for c, vm in m.values.items():
            if sel.get(c, "NULL") != "NULL":
                sel[c] = _value_map(sel[c], vm)
        if m.table == "sessions" and sel["attendance_status"] == "NULL":
            sel["attendance_status"] = "'attended'"
        sid = {"student_id": sel["student_id"]} if t.student_column and sel.get("student_id", "NULL") != "NULL" else {}
        return [Output(m.table, [sel], sid)]

    return Layout(f"mapping:{m.name}", m.description, tuple(wanted), adapt, folder=t.folder, vendor=m.vendor,
                  date_format=m.date_format, timezone=m.timezone, id_pad_width=m.id_pad_width,
                  mapping_path=str(m.path), matcher=matcher)


def required_aliases(column: str) -> str:
    return ", ".join((column,) + ALIASES.get(column, ()))


def _main(argv: list[str]) -> int:
    """Try a mapping (or detection) on a file: which layout, which columns, the first rows."""
    import argparse
    import tempfile

    import duckdb

    from .layouts import detect
    from .reader import FileRejected, read_raw, sniff
    ap = argparse.ArgumentParser(prog="python -m sources.mappings", description=_main.__doc__)
    ap.add_argument("file")
    ap.add_argument("--mapping", help="a mapping name or path (else detected by header)")
    ap.add_argument("--config", help="the district config.yml (its mappings/ folder is searched)")
    ap.add_argument("--rows", type=int, default=5)
    a = ap.parse_args(argv)
    cfg = Path(a.config) if a.config else None
    try:
        sf = sniff(Path(a.file))
    except FileRejected as e:
        print(f"error: {e}")
        return 1
    h = Header(sf)
    try:
        if a.mapping:
            lay = to_layout(load_mapping(resolve(a.mapping, cfg)))
            if not lay.matches(h):
                missing = [x for x in lay.identify if not h._find(x)]
                print(f"error: the mapping does not fit this header; missing {missing}")
                return 1
        else:
            maps, errs = discover(cfg)
            for e in errs:
                print(f"warning: {e}")
            lay = detect(h, frozenset({"absences_only"}), [to_layout(m) for m in maps])
    except MappingError as e:
        print(f"error: {e}")
        return 1
    print(f"file:      {a.file} ({sf.encoding}, delimiter {sf.delimiter!r}, header on line {sf.header_line})")
    if lay is None:
        print("layout:    none recognised — write a mapping (see docs/bring-your-own-extracts.md)")
        return 1
    print(f"layout:    {lay.name} — {lay.description}")
    outs = lay.adapt(h)
    print(f"tables:    {', '.join(sorted({o.table for o in outs}))}")
    print(f"not used:  {h.unused() or 'none'}")
    for w in sf.warnings:
        print(f"warning:   {w}")
    from .rules import RuleContext, typed_select
    from .contracts import table as ctable
    import datetime as dt
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect()
        con.execute("set TimeZone='UTC'")
        rf = read_raw(con, sf, "raw", Path(tmp))
        o = outs[0]
        t = ctable(o.table)
        sel = o.selects[0]
        cols = ", ".join(f"{sel.get(c.name, 'NULL')}::varchar as \"{c.name}\"" for c in t.columns)
        from .layouts import CODE_FIELDS
        tz = "America/New_York"
        if cfg is not None:
            import yaml as _yaml
            tz = ((_yaml.safe_load(cfg.read_text()) or {}).get("district") or {}).get("timezone") or tz
        ctx = RuleContext(tz, dt.date(2100, 1, 1), dt.date(1900, 1, 1), dt.date(2100, 1, 1),
                          date_format=lay.date_format, code_fields=CODE_FIELDS, source_timezone=lay.timezone)
        sql = typed_select(t, f"(select {cols} from raw limit {int(a.rows)})", ctx, [])
        res = con.execute(sql)
        names = [d[0] for d in res.description]
        print(f"first rows (student IDs as delivered; times in {tz}):")
        for row in res.fetchall():
            shown = {n: (v.isoformat(sep=' ') if isinstance(v, dt.datetime) else v.isoformat() if isinstance(v, dt.date)
                         else v) for n, v in zip(names, row) if v is not None and not n.startswith("__")}
            bad = dict(zip(names, row))
            print("  ", shown, f"  ✗ {bad['__reason']} in {bad['__reason_column']}: {bad['__bad_value']!r}"
                  if bad["__reason"] else "")
        if rf.rejects:
            print(f"malformed: {len(rf.rejects)} record(s), first on line {rf.rejects[0][0]}: {rf.rejects[0][1]}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
