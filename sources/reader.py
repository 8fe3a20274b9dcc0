"""Reading delivered files: what a file is, its header, and its records as text in DuckDB.

Nothing here knows about vendors. A file is sniffed (content kind, encoding, delimiter, line ending,
header row), then DuckDB's CSV reader loads every record as text (``read_raw``). The result is a
relation with columns ``c0…cN`` in header order plus ``__seg, __ord`` (which read of the file and the
record's position in it); ``RawFile.line_of`` turns those into the physical line number where the
record starts, counting the header as line 1 — computed only for the few rows that are quarantined.

Robustness rules, each decided here once:
- A record DuckDB cannot parse (a truncated last line, an unbalanced quote, too many fields) is a
  *malformed* record with its line and text. An unbalanced quote swallows the rest of the file in
  any CSV parser; the file is read again from the line after it, so no later record is lost.
- Blank lines and lines of only delimiters (``,,,``, Excel's trailing rows) are not records.
- UTF-8 (with or without BOM) is read as is; text that is not valid UTF-8 is cp1252 (a superset of
  latin-1's printable range) and is transcoded, wherever in the file the first such byte is.
- CR-only line endings (old Mac exports) are translated; CRLF is read natively.
- Line numbers are exact: when every line is one record (the common case) by arithmetic, otherwise
  from a vectorised index of the file's newlines and quotes. Never a Python loop over records.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

DELIMITERS = (",", "\t", "|", ";")
NULL_MARKERS = ("", "null", "n/a", "#n/a", "-", "none", "nan", "na")
MAX_RESUMES = 50            # unbalanced quotes after which the rest of a file is quarantined line by line
_CHUNK = 1 << 26


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
    newline: str = "\n"           # "\n", "\r\n" or "\r"
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
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) >= 8 and head.count(b"\x00") > len(head) // 8):
        return "UTF-16 text"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip archive"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        return "an HTML page (often an Excel 'HTML' export or a login page saved by mistake)"
    if head.count(b"\x00") > 0:
        return "binary data"
    return None


def _is_utf8(data: bytes, complete: bool) -> bool:
    try:
        # a multibyte character may be cut at the end of a chunk; ignore only that tail
        (data if complete else data[:-4]).decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _split_header(line: str) -> tuple[str, list[str]]:
    """The delimiter that gives the header the most fields (quote-aware), and the fields."""
    best, fields = ",", [line]
    for d in DELIMITERS:
        try:
            got = next(csv.reader(io.StringIO(line), delimiter=d))
        except (csv.Error, StopIteration):
            continue
        if len(got) > len(fields):
            best, fields = d, got
    return best, fields


def sniff(path: Path, encoding: str | None = None) -> SniffedFile:
    size = path.stat().st_size
    if size == 0:
        raise FileRejected(f"{path.name}: the file is empty (0 bytes); deliver the extract with its header row")
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    kind = _content_kind(head[:4096])
    if kind:
        raise FileRejected(f"{path.name}: the file is {kind}, not a CSV; export it from the source system "
                           "as CSV (UTF-8) and deliver it again")
    bom = head.startswith(codecs.BOM_UTF8)
    body = head[3:] if bom else head
    if encoding is None:
        encoding = "utf-8" if _is_utf8(body, len(head) == size) else "cp1252"
    text = body.decode(encoding, errors="replace")
    crlf, cr, lf = text.count("\r\n"), text.count("\r"), text.count("\n")
    newline = "\r\n" if crlf and crlf >= lf / 2 else ("\r" if cr and not lf else "\n")
    lines = text.split(newline)
    nonblank = [i for i, ln in enumerate(lines[:200]) if ln.strip()]
    if not nonblank:
        raise FileRejected(f"{path.name}: the file has no header row (only blank lines); deliver the extract "
                           "with its header row")
    # A report title above the header ("Acme — Session Report", "Run on 2025-10-01") has one field
    # where the header has many: the header is the first line with as many fields as the lines after it.
    idx, skipped = nonblank[0], 0
    delimiter, header = _split_header(lines[idx])
    for k, i in enumerate(nonblank[:6]):
        d, fields = _split_header(lines[i])
        nxt = [len(_split_header(lines[j])[1]) for j in nonblank[k + 1:k + 2]]
        if len(fields) > 1 and (not nxt or len(fields) >= nxt[0]):
            idx, skipped, delimiter, header = i, k, d, fields
            break
    header = [h.replace("\ufeff", "").strip() for h in header]
    out = SniffedFile(path, encoding, delimiter, header, idx + 1, bom, newline)
    if skipped:
        out.warnings.append(f"{skipped} line(s) above the header were skipped (a report title?)")
    seen: dict[str, int] = {}
    for h in out.normalized:
        seen[h] = seen.get(h, 0) + 1
    dup = [h for h, n in seen.items() if n > 1 and h]
    if dup:
        out.warnings.append(f"repeated column names {dup}: the first of each is used")
    return out


def _utf8_copy(path: Path, encoding: str, newline: str, workdir: Path) -> Path:
    """DuckDB reads UTF-8 with LF or CRLF; transcode other encodings and CR-only line endings in a
    streaming pass (C codecs, not row loops)."""
    fd, name = tempfile.mkstemp(dir=workdir, suffix=".csv")
    os.close(fd)
    tmp = Path(name)
    with open(path, "r", encoding=encoding, errors="replace", newline=None if newline == "\r" else "") as src, \
            open(tmp, "w", encoding="utf-8", newline="") as dst:
        for chunk in iter(lambda: src.read(1 << 22), ""):
            dst.write(chunk)
    return tmp


# ------------------------------------------------------------------------------------ line index
def _count_newlines(path: Path, start: int, end: int) -> int:
    n = 0
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left > 0:
            chunk = f.read(min(_CHUNK, left))
            if not chunk:
                break
            n += chunk.count(b"\n")
            left -= len(chunk)
    return n


def _trailing_blank_lines(path: Path, start: int, end: int) -> int:
    """Empty lines at the end of the region [start, end) (after its last line's own newline)."""
    lo = max(start, end - 65536)
    with open(path, "rb") as f:
        f.seek(lo)
        tail = f.read(end - lo)
    stripped = tail.rstrip(b"\r\n")
    n = tail[len(stripped):].count(b"\n")
    return n if (not stripped and lo == start) else max(0, n - 1)


def _record_index(path: Path, start: int, end: int, first_line: int) -> tuple[np.ndarray, np.ndarray]:
    """Start offsets and physical lines of the non-blank records in bytes [start, end): a newline ends
    a record when the quotes before it are balanced. Vectorised over the bytes (numpy, memory-mapped)."""
    if end <= start:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    data = np.memmap(path, dtype=np.uint8, mode="r")
    nl_parts, q_parts = [], []
    for pos in range(start, end, _CHUNK):
        a = data[pos:min(end, pos + _CHUNK)]
        nl_parts.append(np.flatnonzero(a == 10) + pos)
        q_parts.append(np.flatnonzero(a == 34) + pos)
    nl = np.concatenate(nl_parts)
    qs = np.concatenate(q_parts)
    balanced = (np.searchsorted(qs, nl) % 2) == 0
    ends = nl[balanced]
    starts = np.concatenate([np.array([start], np.int64), ends + 1])
    stops = np.concatenate([ends, np.array([end], np.int64)])
    keep = starts < end
    starts, stops = starts[keep], stops[keep]
    length = stops - starts
    cr_only = np.zeros(len(starts), bool)
    one = np.flatnonzero(length == 1)
    if len(one):
        cr_only[one] = data[starts[one]] == 13
    nonblank = ~((length == 0) | cr_only)
    lines = first_line + np.searchsorted(nl, starts[nonblank])
    del data
    return starts[nonblank], lines


@dataclass
class _Segment:
    table: str
    byte_start: int          # region of the (UTF-8) file this read covers
    byte_end: int
    first_line: int          # physical line of the region's first byte
    rejects: list = field(default_factory=list)   # (DuckDB record index, byte offset, error, message, text)
    rows: int = 0
    mode: str = "pending"    # pending (numbered when first needed) | arith | index | approx
    path: Path | None = None
    size: int = 0
    good_before: np.ndarray | None = None     # arith/approx: good records before each rejected record
    reject_lines: np.ndarray | None = None
    good_lines: np.ndarray | None = None      # index: the line of every good record


@dataclass
class RawFile:
    relation: str                         # c0…cN, __seg, __ord
    rejects: list[tuple[int, str, str]]   # malformed records: (line, what is wrong, text)
    warnings: list[str]
    segments: list[_Segment]
    rows: int = 0                         # records in relation
    ncols: int = 1

    def add_rows(self, con, rows: list[list[str | None]], lines: list[int]):
        """Add records read outside DuckDB's parser (a short row padded to the header's width); they
        carry their line as __ord with __seg −1. One statement per row: these are rejected rows."""
        names = ", ".join(f"c{i}" for i in range(self.ncols))
        for r, line in zip(rows, lines):
            vals = ", ".join("NULL" if v is None else "'" + str(v).replace("'", "''") + "'" for v in r)
            con.execute(f"insert into {self.relation}_x select *, -1, {int(line)} from (values ({vals})) v({names})")

    def line_of(self, seg, ord_) -> np.ndarray:
        """Physical line of records given by (__seg, __ord); __seg −1 rows carry their line as __ord."""
        seg, ord_ = np.asarray(seg, np.int64), np.asarray(ord_, np.int64)
        out = np.array(ord_, dtype=np.int64)
        for i, s in enumerate(self.segments):
            m = seg == i
            if not m.any():
                continue
            if s.mode == "pending":
                _number_segment(None, s, s.path, s.size, False, self.warnings)
            k = ord_[m]
            if s.mode == "index":
                out[m] = s.good_lines[k]
            else:
                out[m] = s.first_line + k + np.searchsorted(s.good_before, k, side="right")
        return out


def _sql_path(p: Path) -> str:
    return str(p).replace("'", "''")


def _duckdb_read(con, path: Path, table: str, sf: SniffedFile, skip: int):
    rej, scan = f"{table}_rejects", f"{table}_scans"
    src = csv_relation(path, sf, skip=skip, rejects=table)
    con.execute("set preserve_insertion_order=true")     # rowid = the record's order in the file
    try:
        con.execute(f"create or replace table {table} as select * from {src}")
    finally:
        con.execute("set preserve_insertion_order=false")
    rows = con.execute(
        f"select line, min(line_byte_position), string_agg(distinct error_type, '; '), "
        f"string_agg(distinct error_message, '; '), any_value(csv_line) from {rej} group by line order by line"
    ).fetchall()
    for t in (rej, scan):
        con.execute(f"drop table if exists {t}")
    return rows


def _byte(path: Path, off: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(max(0, off))
        return f.read(1)


def _line_end(path: Path, off: int) -> int:
    """Offset just after the newline that ends the physical line starting at ``off``."""
    with open(path, "rb") as f:
        f.seek(off)
        pos = off
        while True:
            chunk = f.read(1 << 16)
            if not chunk:
                return pos
            i = chunk.find(b"\n")
            if i >= 0:
                return pos + i + 1
            pos += len(chunk)


def _header_end(path: Path, header_line: int) -> int:
    with open(path, "rb") as f:
        off = 0
        for _ in range(header_line):
            line = f.readline()
            if not line:
                break
            off += len(line)
    return off


def utf8_path(sf: SniffedFile, workdir: Path) -> Path:
    """The file DuckDB reads: the delivered one, or a UTF-8 / LF copy of it in ``workdir``."""
    if sf.encoding != "utf-8" or sf.newline == "\r":
        return _utf8_copy(sf.path, sf.encoding, sf.newline, workdir)
    return sf.path


def csv_relation(path: Path, sf: SniffedFile, skip: int | None = None, rejects: str | None = None) -> str:
    """DuckDB's reader over the records of ``path`` as text columns c0…cN (header skipped). Without
    ``rejects``, unparseable records are skipped (for passes that only count)."""
    ncols = max(1, len(sf.header))
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(ncols))
    q = sf.delimiter.replace("'", "''")
    err = (f"store_rejects=true, rejects_table='{rejects}_rejects', rejects_scan='{rejects}_scans'" if rejects
           else "ignore_errors=true")
    return (f"read_csv('{_sql_path(path)}', auto_detect=false, header=false, "
            f"skip={sf.header_line if skip is None else skip}, columns={{{cols}}}, delim='{q}', quote='\"', "
            f"escape='\"', null_padding=false, {err}, max_line_size=4194304, encoding='utf-8')")


def read_raw(con: duckdb.DuckDBPyConnection, sf: SniffedFile, table: str, workdir: Path) -> RawFile:
    """Load every record of ``sf`` as text; the relation ``table`` is c0…cN, __seg, __ord."""
    path = utf8_path(sf, workdir)
    try:
        return _read_segments(con, sf, path, table, workdir)
    except duckdb.Error as e:
        if path != sf.path:
            path.unlink(missing_ok=True)
        raise FileRejected(f"{sf.path.name}: cannot be read as delimited text ({str(e).splitlines()[0]}); "
                           "check it is a CSV export") from None
    # a transcoded copy stays in workdir: line numbers are worked out from it when first needed


def _read_segments(con, sf: SniffedFile, path: Path, table: str, workdir: Path) -> RawFile:
    ncols = max(1, len(sf.header))
    size = path.stat().st_size
    warnings: list[str] = []
    malformed: list[tuple[int, str, str]] = []
    segments: list[_Segment] = []
    seg_start, seg_line = _header_end(path, sf.header_line), sf.header_line + 1
    while seg_start < size:
        seg = _Segment(f"{table}_s{len(segments)}", seg_start, size, seg_line, path=path, size=size)
        if not segments:
            src, skip = path, sf.header_line
        else:      # the rest of the file after an unbalanced quote, as a file of its own
            fd, tname = tempfile.mkstemp(dir=workdir, suffix=".csv")
            with os.fdopen(fd, "wb") as dst, open(path, "rb") as f:
                f.seek(seg_start)
                for chunk in iter(lambda: f.read(_CHUNK), b""):
                    dst.write(chunk)
            src, skip = Path(tname), 0
        base = 0 if src == path else seg_start
        for line, bpos, err, msg, text in _duckdb_read(con, src, seg.table, sf, skip):
            off = base + max(0, (bpos or 1) - 1)
            if _byte(path, off) == b"\n":      # in CRLF files the position may be the LF before it
                off += 1
            seg.rejects.append((int(line) - 1 - skip, off, err or "", msg or "", (text or "").lstrip("\n")))
        if src != path:
            src.unlink(missing_ok=True)
        segments.append(seg)
        # An unbalanced quote swallows what follows; keep its first line, read on after it.
        swallow = next((r for r in seg.rejects if "unterminated quote" in r[3] and "\n" in r[4].rstrip("\r\n")),
                       None)
        if swallow is not None:
            seg.byte_end = _line_end(path, swallow[1])
            seg.rejects = [r for r in seg.rejects if r[1] <= swallow[1]]
        seg.rows = con.execute(f"select count(*) from {seg.table}").fetchone()[0]
        if seg.rejects:
            _number_segment(con, seg, path, size, swallow is not None, warnings)
        for k, (_, off, err, msg, text) in enumerate(seg.rejects):
            if swallow is not None and off == swallow[1]:
                text = text.split("\n", 1)[0]
            elif text.strip().strip(sf.delimiter).strip() == "":
                continue      # a line of blanks is a blank line, not a record
            malformed.append((int(seg.reject_lines[k]), _error_label(err, msg), text.rstrip("\r\n")))
        if swallow is None:
            break
        seg_line = int(seg.reject_lines[seg.rejects.index(swallow)]) + 1
        seg_start = seg.byte_end
        if len(segments) > MAX_RESUMES and seg_start < size:
            warnings.append(f"more than {MAX_RESUMES} unbalanced quotes: every later line is quarantined")
            _quarantine_lines(path, seg_start, seg_line, malformed)
            break
    con.execute(f"create or replace table {table}_x ({', '.join(f'c{i} varchar' for i in range(ncols))}, "
                "__seg integer, __ord bigint)")
    parts = [f"select *, {i}::integer as __seg, rowid as __ord from {s.table}" for i, s in enumerate(segments)]
    parts.append(f"select * from {table}_x")
    con.execute(f"create or replace view {table} as {' union all '.join(parts)}")
    return RawFile(table, sorted(malformed), warnings, segments, sum(s.rows for s in segments), ncols)


def _error_label(err: str, msg: str) -> str:
    if "unterminated quote" in msg:
        return "unbalanced quote"
    if "MISSING COLUMNS" in err:
        return "fewer fields than the header (a truncated line?)"
    if "TOO MANY COLUMNS" in err:
        return "more fields than the header"
    if "INVALID ENCODING" in err:
        return "invalid characters for the file's encoding"
    if "LINE SIZE" in err:
        return "a line longer than 4 MiB"
    return (err or "unreadable").lower()


def _number_segment(con, seg: _Segment, path: Path, size: int, cut: bool, warnings: list[str]):
    """Decide how the records of one read map to physical lines (see the module doc). ``con`` is
    needed only when ``cut`` (rows read past an unbalanced quote are dropped)."""
    n_rej = len(seg.rejects)
    # DuckDB numbers rejects by records: a blank line counts, a newline inside quotes does not
    rel = np.array([r[0] for r in seg.rejects], dtype=np.int64)
    lines_in = _count_newlines(path, seg.byte_start, seg.byte_end)
    if seg.byte_end > seg.byte_start and _byte(path, seg.byte_end - 1) != b"\n":
        lines_in += 1
    if seg.byte_end == size:
        lines_in -= _trailing_blank_lines(path, seg.byte_start, size)
    single = all("\n" not in r[4].rstrip("\r\n") for r in seg.rejects if not (cut and r is seg.rejects[-1]))
    if lines_in == seg.rows + n_rej and single:
        seg.mode = "arith"
        seg.reject_lines = seg.first_line + rel
        seg.good_before = rel - np.arange(n_rej)
        return
    starts, lines = _record_index(path, seg.byte_start, seg.byte_end, seg.first_line)
    if cut and seg.rows + n_rej > len(starts):
        # the parser resumed after a later quote closed the swallowed value: those rows are read again
        keep = max(0, len(starts) - n_rej)
        con.execute(f"delete from {seg.table} where rowid >= {keep}")
        seg.rows = keep
    offs = np.array([r[1] for r in seg.rejects], dtype=np.int64)
    if len(starts) == seg.rows + n_rej:
        idx = np.searchsorted(starts, offs, side="right") - 1
        if n_rej == 0 or (idx.min() >= 0 and len(np.unique(idx)) == n_rej):
            seg.mode = "index"
            seg.reject_lines = lines[idx] if n_rej else np.zeros(0, np.int64)
            mask = np.ones(len(starts), bool)
            mask[idx] = False
            seg.good_lines = lines[mask]
            return
    seg.mode = "approx"
    seg.reject_lines = seg.first_line + rel
    seg.good_before = rel - np.arange(n_rej)
    warnings.append("line numbers in the quarantine are approximate for this file (its quoting is unusual)")


def _quarantine_lines(path: Path, start: int, first_line: int, malformed: list):
    """After too many unbalanced quotes: every remaining non-blank line is a malformed record."""
    with open(path, "rb") as f:
        f.seek(start)
        rest = f.read()
    for i, t in enumerate(rest.decode("utf-8", "replace").split("\n")):
        if t.strip():
            malformed.append((first_line + i, "after too many unbalanced quotes", t.rstrip("\r")))


def null_if_marker(expr: str) -> str:
    """SQL: trimmed text, or NULL when it is empty or a null marker (NULL, N/A, #N/A, -, …).

    Ordered for speed on 63 M IDs: a value longer than any marker with no space at either end is
    returned as is, without lower-casing or trimming (a new string per row)."""
    markers = ", ".join(f"'{m}'" for m in NULL_MARKERS)
    longest = max(len(m) for m in NULL_MARKERS)
    return (f"(case when {expr} is null then null "
            f"when strlen({expr}) > {longest} and not ({expr} like ' %' or {expr} like '% ') then {expr} "
            f"when lower(trim({expr})) in ({markers}) then null else trim({expr}) end)")
