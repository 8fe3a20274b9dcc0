"""An older DuckDB, as BI tools bundle it, in a throwaway virtualenv of its own (DESIGN §9: the
serving files are written in a storage version that DuckDB 1.1 opens).

The virtualenv lives in pytest's cache (``.pytest_cache/d/old-duckdb-<version>``), so only the first
run downloads the wheel from the package registry; a venv that no longer imports the right version
is rebuilt. Under CI a failed install fails the test; elsewhere (no registry) it skips.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

OLD_DUCKDB = "1.1.3"     # the 1.1 line is what Power BI / Tableau connectors and Metabase drivers bundled


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _works(venv: Path) -> bool:
    py = _python(venv)
    if not py.is_file():
        return False
    r = subprocess.run([str(py), "-c", "import duckdb, sys; sys.exit(duckdb.__version__ != sys.argv[1])", OLD_DUCKDB],
                       capture_output=True, timeout=60)
    return r.returncode == 0


def old_duckdb_python(cache) -> Path:
    """The python of a virtualenv holding duckdb==OLD_DUCKDB (built once, then reused)."""
    venv = Path(cache.mkdir(f"old-duckdb-{OLD_DUCKDB}")) / "venv"
    if _works(venv):
        return _python(venv)
    shutil.rmtree(venv, ignore_errors=True)
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(_python(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              "--only-binary", ":all:", f"duckdb=={OLD_DUCKDB}"]]
    for cmd in steps:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            msg = f"could not install duckdb=={OLD_DUCKDB} into a virtualenv ({' '.join(cmd[:3])}…): {r.stderr[-800:]}"
            if os.environ.get("CI"):
                pytest.fail(msg, pytrace=False)
            pytest.skip(msg)
    assert _works(venv), f"the virtualenv at {venv} does not import duckdb {OLD_DUCKDB}"
    return _python(venv)


READER = textwrap.dedent("""
    import json, sys, duckdb
    out = {"version": duckdb.__version__, "files": {}}
    for path in sys.argv[1:]:
        if path.endswith(".duckdb"):
            con = duckdb.connect(path, read_only=True)
            tables = [t for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'main' order by 1").fetchall()]
            counts = {}
            for t in tables:
                # read every column of every row, not just the row count in the metadata
                rows = con.execute(f'select * from "{t}"').fetchall()
                counts[t] = len(rows)
            con.close()
        else:
            counts = {"parquet": len(duckdb.sql(f"select * from read_parquet('{path}')").fetchall())}
        out["files"][path] = counts
    print(json.dumps(out))
""")


def read_with_old_duckdb(python: Path, paths: list[Path]) -> dict:
    """{path: {table: rows}} as the old DuckDB reads them (a separate process: two DuckDB versions
    cannot share one interpreter)."""
    r = subprocess.run([str(python), "-c", READER, *map(str, paths)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"duckdb {OLD_DUCKDB} could not read the publication:\n{r.stderr[-2000:]}"
    doc = json.loads(r.stdout)
    assert doc["version"] == OLD_DUCKDB
    return doc["files"]
