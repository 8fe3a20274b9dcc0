"""The cycle's steps as plain functions; Dagster assets (``definitions``) and the CLI call these.

land → gate 1 → dbt build (into ``build/<cycle>-<run>.duckdb``) → gate 2 → publish. Paths are derived
from the config, the cycle and the run id, so each step can find what the previous one wrote.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
from importlib import metadata
from pathlib import Path

from orchestration.config import Config, Cycle, dbt_vars

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_DIR = PROJECT_ROOT / "dbt_project"


def dbt_executable() -> str:
    """The dbt installed beside this Python (the project's virtualenv), whatever PATH says."""
    import sys
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.is_file() else (shutil.which("dbt") or "dbt")


def build_db_path(config: Config, cycle: Cycle, run_id: str) -> Path:
    return config.build_dir / f"{cycle.id}-{run_id[:8]}.duckdb"


def dbt_args(config: Config, cycle: Cycle) -> list[str]:
    """Arguments of the one `dbt build` a cycle runs (a pure function, unit-tested)."""
    landing = config.landing / cycle.id
    # unit tests pin the definitions in `make test`; a cycle's build runs models, seeds and data tests
    return ["build", "--exclude-resource-type", "unit_test",
            "--vars", json.dumps(dbt_vars(config, cycle, landing), sort_keys=True, default=str)]


def dbt_env(config: Config, build_db: Path) -> dict[str, str]:
    env = {"TUTORING_IMPACT_BUILD_DB": str(build_db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.setdefault("TUTORING_IMPACT_DUCKDB_MEMORY", os.environ.get("TUTORING_IMPACT_DUCKDB_MEMORY", "6GB"))
    return env


def complete_suppression_on_build(config: Config, build_db: Path) -> dict:
    """Complementary suppression by the attacker itself on the built aggregate marts, after `dbt
    build` and before gate 2 (expectations/recoverability.py ``complete_suppression``; DESIGN §9).
    The build holds this cycle's rows only; earlier cycles' rows were completed when they were
    built. Returns counts only (never a count's value), for the run's metadata."""
    import duckdb

    from expectations.recoverability import complete_suppression
    con = duckdb.connect(str(build_db))
    try:
        present = {r[0] for r in con.execute("select table_name from information_schema.tables "
                                             "where table_schema = 'main'").fetchall()}
        before = _withheld_by_dbt(con, present)
        done = complete_suppression(con, int(config["privacy"]["min_n"]), present=present)
        con.execute("checkpoint")
    finally:
        con.close()
    return {"suppression_rounds": done.rounds, "counts_withheld_by_dbt": before,
            "counts_withheld_by_completion": done.cells, "quantities_withheld_by_completion": done.quantities,
            "completion_by_mart": dict(sorted(done.by_mart.items())), "completion_seconds": round(done.seconds, 2)}


def _withheld_by_dbt(con, present: set[str]) -> int:
    """How many published counts (row × count column) the marts already withhold (NULL)."""
    from expectations.recoverability import TABLES
    total = 0
    for t in TABLES:
        if t.mart in present:
            total += con.execute(f"select {' + '.join(f'count(*) - count({c})' for c in t.measures)} "
                                 f"from {t.mart} where {t.where}").fetchone()[0]
    return int(total)


def clean_builds(config: Config, keep: int = 3) -> None:
    """Old build files are scratch: keep the newest few for debugging."""
    if not config.build_dir.is_dir():
        return
    files = sorted(config.build_dir.glob("*.duckdb"), key=lambda p: p.stat().st_mtime)
    for p in files[:-keep]:
        p.unlink(missing_ok=True)
        Path(str(p) + ".wal").unlink(missing_ok=True)


def dbt_failures(target_dir: Path) -> list[dict]:
    """Failed or erroring nodes of the last dbt invocation (counts only: dbt stores failures as counts)."""
    rr = target_dir / "run_results.json"
    if not rr.is_file():
        return []
    doc = json.loads(rr.read_text())
    out = []
    for r in doc.get("results", []):
        if r.get("status") in ("fail", "error", "runtime error"):
            out.append({"node": r.get("unique_id"), "status": r.get("status"), "failures": r.get("failures"),
                        "message": (r.get("message") or "")[:500]})
    return out


def code_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("tutoring-impact", "dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "duckdb", "great-expectations"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def audit_rows(cycle: Cycle, run_id: str, version: str | None, landing, gate1, gate2) -> list[dict]:
    """cycle_audit: one row per input file of the run (DESIGN §6)."""
    rows = []
    warnings = [r.message for o in (gate1, gate2) if o for r in o.warnings]
    for f in landing.files:
        rows.append({
            "cycle_id": cycle.id, "as_of_date": cycle.as_of.isoformat(), "run_id": run_id,
            "published_version": version, "source_file": f.source_file, "layout": f.layout_variant or f.layout, "sha256": f.sha256,
            "rows_read": f.rows_read, "rows_loaded": f.rows_loaded, "rows_quarantined": f.rows_quarantined,
            "quarantined_by_reason": json.dumps(f.quarantined_by_reason, sort_keys=True),
            "gate1_status": gate1.status if gate1 else None, "gate2_status": gate2.status if gate2 else None,
            "warnings": json.dumps(warnings), "code_versions": json.dumps(code_versions(), sort_keys=True),
            "delivery_date": landing.delivery_date,
            "pulled_from": json.dumps(f.pulled_from, sort_keys=True) if f.pulled_from else "",
        })
    return rows


def remove_build(path: Path) -> None:
    for p in (path, Path(str(path) + ".wal")):
        if p.exists():
            p.unlink()


def copy_tree_mode(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, dirs_exist_ok=True)
