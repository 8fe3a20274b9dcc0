"""CSV writing: header written verbatim, body by pyarrow.csv (column-wise, fast, deterministic).

Styles:
- ``plain``: nothing quoted (values never hold a delimiter or quote; pyarrow refuses otherwise);
- ``quoted``: every cell quoted, blanks as "" (the MAP Comprehensive Data File);
- ``minimal``: quoted only where needed (DuckDB's writer), for files whose cells hold commas.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

BOM = "\ufeff"


def _table(columns: list[pa.Array]) -> pa.Table:
    """Positional column names: the real header is written verbatim (names may repeat or hold BOMs)."""
    return pa.Table.from_arrays(columns, names=[f"c{i}" for i in range(len(columns))])


def write_csv(path: Path, names: Iterable[str], columns: Iterable[pa.Array], *, style: str = "plain",
              bom: bool = False, eol: str = "\n") -> int:
    """Write one CSV file; returns the number of data rows."""
    names = list(names)
    columns = list(columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = _table(columns)
    header = (BOM if bom else "") + ",".join(names) + eol
    if style == "minimal":
        import duckdb
        tmp = path.with_name(path.name + ".body")
        # DuckDB prints "" for an empty string: blanks go out as NULL, printed empty
        table = pa.Table.from_arrays(
            [pc.if_else(pc.equal(c, ""), pa.scalar(None, pa.string()), c) if pa.types.is_string(c.type) else c
             for c in table.columns], names=table.column_names)
        newline = "\\r\\n" if eol == "\r\n" else "\\n"
        con = duckdb.connect()
        try:
            con.execute("SET threads TO 1")          # one writer thread: output order = row order
            con.register("body", table)
            con.execute(f"COPY body TO '{tmp.as_posix()}' (HEADER false, DELIMITER ',', NULL '', "
                        f"NEW_LINE '{newline}')")
        finally:
            con.close()
        with open(path, "wb") as out:
            out.write(header.encode("utf-8"))
            with open(tmp, "rb") as body:
                while chunk := body.read(1 << 24):
                    out.write(chunk)
        tmp.unlink()
        return table.num_rows
    quoting = {"plain": "none", "quoted": "all_valid"}[style]
    with open(path, "wb") as out:
        out.write(header.encode("utf-8"))
    with pa.OSFile(str(path), "ab") as sink:
        if table.num_rows:
            pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style=quoting,
                                                            eol=eol))
    return table.num_rows


class StreamingCsv:
    """A CSV written batch by batch (the attendance file: one batch per school day)."""

    def __init__(self, path: Path, names: list[str], schema: pa.Schema):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as out:
            out.write((",".join(names) + "\n").encode("utf-8"))
        self._sink = pa.OSFile(str(path), "ab")
        self._writer = pacsv.CSVWriter(self._sink, schema, write_options=pacsv.WriteOptions(
            include_header=False, quoting_style="none"))
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def close(self) -> None:
        self._writer.close()
        self._sink.close()
