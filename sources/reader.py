"""Reading delivered files: what a file is, its header, and its rows as text in DuckDB.

Nothing here knows about vendors. A file is sniffed (content kind, encoding, delimiter, header row),
then DuckDB reads every record as text into a table ``raw`` whose columns are ``c0…cN`` in header
order plus ``__line`` — the record's line number counting the header as line 1 (a record with an
embedded newline counts once). Records DuckDB cannot parse (a truncated last line, an unbalanced
quote) are returned separately with their line and raw text so they can be quarantined.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

DELIMITERS = (",", "\t", "|", ";")
NULL_MARKERS = ("", "null", "n/a", "#n/a", "-", "none", "nan")


class FileRejected(Exception):
    """The whole file cannot be read as a CSV; the message says what it is and how to fix it."""


@dataclass
class SniffedFile:
    path: Path
    encoding: str                 # utf-8 or cp1252 (the text DuckDB reads is always UTF-8)
    delimiter: str
    header: list[str]             # as written, BOM and surrounding space removed
    header_line: int              # 1-based line of the header
    bom: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def normalized(self) -> list[str]:
        return [normalize(h) for h in self.header]


def normalize(name: str) -> str:
    """Column names match case-insensitively after trimming; inner whitespace collapses."""
    return re.sub(r"\s+", " ", name.replace("\ufeff", "").strip().strip('"').strip()).lower()


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _content_kind(head: bytes) -> str | None:
    if head.startswith(b"PK\x03\x04"):
        return "an Excel workbook (XLSX) or ZIP archive"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "a legacy Excel workbook (XLS)"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) > 64 and head.count(b"\x00") > len(head) // 8):
        return "UTF-16 text"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.count(b"\x00") > 0:
        return "binary data"
    return None


def sniff(path: Path) -> SniffedFile:
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    kind = _content_kind(head[:4096])
    if kind:
        raise FileRejected(f"{path.name}: the file is {kind}, not a CSV; export it from the source system "
                           "as CSV (UTF-8) and deliver it again")
    bom = head.startswith(codecs.BOM_UTF8)
    text_head = head[3:] if bom else head
    encoding = "utf-8"
    try:
        # A multibyte character may be cut at the 1 MiB boundary; ignore only that tail.
        text_head.decode("utf-8") if len(head) < (1 << 20) else text_head[:-4].decode("utf-8")
    except UnicodeDecodeError:
        encoding = "cp1252"
    text = text_head.decode(encoding, errors="replace")
    lines = text.splitlines()
    idx = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if idx is None:
        raise FileRejected(f"{path.name}: the file is empty (no header row); deliver the extract with its header")
    first = lines[idx]
    counts = {d: first.count(d) for d in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda d: counts[d])
    if counts[delimiter] == 0:
        delimiter = ","
    header = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    header = [h.replace("\ufeff", "").strip() for h in header]
    out = SniffedFile(path, encoding, delimiter, header, idx + 1, bom)
    seen: dict[str, int] = {}
    for h in out.normalized:
        seen[h] = seen.get(h, 0) + 1
    dup = [h for h, n in seen.items() if n > 1 and h]
    if dup:
        out.warnings.append(f"repeated column names {dup}: the first of each is used")
    return out


def _utf8_copy(path: Path, encoding: str, workdir: Path) -> Path:
    """DuckDB reads UTF-8; transcode other encodings in a streaming pass (C codecs, not row loops)."""
    tmp = Path(tempfile.mkstemp(dir=workdir, suffix=".csv")[1])
    with open(path, "r", encoding=encoding, errors="replace", newline="") as src, \
            open(tmp, "w", encoding="utf-8", newline="") as dst:
        for chunk in iter(lambda: src.read(1 << 22), ""):
            dst.write(chunk)
    return tmp


def read_raw(con: duckdb.DuckDBPyConnection, sf: SniffedFile, table: str, workdir: Path) -> list[tuple[int, str, str]]:
    """Load every record of ``sf`` as text into ``table`` (c0…cN, __line). Returns the rejected
    records as (line, error, raw text)."""
    path = sf.path
    if sf.encoding != "utf-8":
        path = _utf8_copy(sf.path, sf.encoding, workdir)
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(sf.header)))
    rej, scan = f"{table}_rejects", f"{table}_scans"
    q = sf.delimiter.replace("'", "''")
    src = (f"read_csv('{_sql_path(path)}', auto_detect=false, header=false, skip={sf.header_line}, "
           f"columns={{{cols}}}, delim='{q}', quote='\"', escape='\"', null_padding=false, "
           f"store_rejects=true, rejects_table='{rej}', rejects_scan='{scan}', max_line_size=4194304, "
           f"encoding='utf-8')")
    try:
        con.execute(f"create or replace table {table}_read as select * from {src}")
    except duckdb.Error as e:
        raise FileRejected(f"{sf.path.name}: cannot be read as delimited text ({str(e).splitlines()[0]}); "
                           "check it is a CSV export") from None
    rejects = con.execute(
        f"select line, string_agg(distinct error_type, '; '), any_value(csv_line) from {rej} "
        f"group by line order by line").fetchall()
    # Good records keep insertion order in the table (rowid); shift past the rejected records.
    if not rejects:
        con.execute(f"create or replace table {table} as "
                    f"select r.*, (r.rowid + 1 + {sf.header_line})::bigint as __line from {table}_read r")
    else:
        # Good record k (1-based) lies after rejected record j when the good records before
        # j — line_j − j − header_line — number fewer than k.
        con.execute(f"create or replace temp table {table}_rej_lines as select line - j - {sf.header_line} "
                    f"as good_before from (select line, row_number() over (order by line) as j "
                    f"from (select distinct line from {rej}))")
        con.execute(
            f"create or replace table {table} as select r.*, "
            f"(r.rowid + 1 + {sf.header_line} + (select count(*) from {table}_rej_lines x "
            f" where x.good_before < r.rowid + 1))::bigint as __line from {table}_read r")
        con.execute(f"drop table {table}_rej_lines")
    con.execute(f"drop table {table}_read")
    for t in (rej, scan):
        con.execute(f"drop table if exists {t}")
    return [(int(line), err, raw) for line, err, raw in rejects]


def _sql_path(p: Path) -> str:
    return str(p).replace("'", "''")


def null_if_marker(expr: str) -> str:
    """SQL: trimmed text, or NULL when it is empty or a null marker (NULL, N/A, #N/A, -, …)."""
    markers = ", ".join(f"'{m}'" for m in NULL_MARKERS)
    return f"(case when lower(trim({expr})) in ({markers}) then null else trim({expr}) end)"
