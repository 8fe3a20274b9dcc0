"""`tutoring-impact run --as-of DATE` between cycles (DESIGN §10): the weekly operational watchlist.

Between six-week reviews leaders still need to know which schools have no-shows, which groups keep
missing the dosage target, who is plateauing, who is unserved and who should have exited. For a
date inside a cycle (before its end), this lands the cycle's inbox folder (the year-to-date
delivery so far), runs gate 1 with the cycle cut at DATE (freshness is judged against DATE), builds
only `operational_watchlist`, `operational_watchlist_summary` and what they depend on, with
as_of_date = DATE, into a build file of its own, runs gate 2 on that build, and writes

    published/<cycle>/weekly/<DATE>/operational_watchlist.parquet          (restricted, 0640)
    published/<cycle>/weekly/<DATE>/operational_watchlist_summary.parquet  (aggregate, 0644)
    published/<cycle>/weekly/<DATE>/marts_restricted.duckdb, marts_aggregate.duckdb

`published/current` never moves and no version is added: the six-week publication stays what BI
tools read. A failed gate writes the usual failure report and publishes nothing.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

from orchestration.config import Config, ConfigError, Cycle, dbt_vars

WEEKLY_MARTS = ("operational_watchlist", "operational_watchlist_summary")


class WeeklyGateError(RuntimeError):
    """A gate failed: nothing was published. ``report`` is the failure report's path."""

    def __init__(self, message: str, report: Path):
        super().__init__(message)
        self.report = report


def weekly_cycle(config: Config, as_of: dt.date) -> Cycle:
    """The cycle holding ``as_of``, cut at it (its as_of_date becomes ``as_of``). A date on or after
    the cycle's end is the cycle itself: run it with --cycle."""
    for c in config.cycles:
        if c.start <= as_of <= c.end:
            if as_of == c.end:
                raise ConfigError("--as-of", as_of.isoformat(),
                                  f"a date before {c.id}'s end {c.end} (on its end date run --cycle {c.id})")
            return dataclasses.replace(c, end=as_of)
    raise ConfigError("--as-of", as_of.isoformat(),
                      f"a date inside the school year's cycles ({config.cycles[0].start} … {config.cycles[-1].end})")


def _config_cut_at(config: Config, cycle: Cycle) -> Config:
    """A copy of the config whose calendar ends ``cycle`` at its cut date (gate 1 and dbt vars read it)."""
    cut = copy.copy(config)
    cut.cycles = [cycle if c.id == cycle.id else c for c in config.cycles]
    return cut


def weekly_dbt_args(config: Config, cycle: Cycle, landing_dir: Path) -> list[str]:
    """The one `dbt build` of a weekly run (a pure function, unit-tested)."""
    return ["build", "--select", *[f"+{m}" for m in WEEKLY_MARTS], "--exclude-resource-type", "unit_test",
            "--vars", json.dumps(dbt_vars(config, cycle, landing_dir), sort_keys=True, default=str)]


def weekly_log(config: Config, cycle: Cycle, as_of: dt.date):
    """The weekly run's log file, ``<data_dir>/logs/<cycle>-weekly-<DATE>.log``, open for writing
    (the CLI and the Dagster job write the same file)."""
    logs = config.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return open(logs / f"{cycle.id}-weekly-{as_of}.log", "w")


def weekly_folder(config: Config, cycle: Cycle) -> Path:
    return config.published / cycle.id / "weekly" / cycle.as_of.isoformat()


def run_weekly(config: Config, as_of: dt.date, run_id: str, log=None) -> Path:
    """Land, gate, build and publish the watchlist as of ``as_of``; returns the folder written."""
    from expectations.gate1 import run_gate1
    from expectations.gate2 import run_gate2
    from expectations.results import CheckResult, GateOutcome
    from orchestration import pipeline
    from orchestration.marts import access
    from orchestration.publish import FILE_MODE_AGGREGATE, FILE_MODE_RESTRICTED, STORAGE_VERSION, write_failure_report
    from sources.landing import land_cycle

    cycle = weekly_cycle(config, as_of)
    cut = _config_cut_at(config, cycle)
    if not (config.inbox / cycle.id).is_dir():
        raise ConfigError("--as-of", as_of.isoformat(),
                          f"a date whose cycle has a delivery so far: expected the folder {config.inbox / cycle.id}")
    landing = land_cycle(cut, cycle.id)
    gate1 = run_gate1(cut, landing)
    if not gate1.passed:
        report = write_failure_report(config, cycle.id, run_id, [gate1], "gate1 (weekly)")
        raise WeeklyGateError(f"gate 1 failed for the delivery as of {as_of}", report)

    db = config.build_dir / f"{cycle.id}-weekly-{as_of.isoformat()}-{run_id[:8]}.duckdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    pipeline.remove_build(db)
    target = config.build_dir / f"dbt-weekly-{run_id[:8]}"
    env = {**os.environ, **pipeline.dbt_env(config, db)}
    proc = subprocess.run(
        [pipeline.dbt_executable(), *weekly_dbt_args(cut, cycle, landing.landing_dir),
         "--project-dir", str(pipeline.DBT_DIR), "--profiles-dir", str(pipeline.DBT_DIR),
         "--target-path", str(target), "--log-path", str(config.data_dir / "logs")],
        cwd=pipeline.DBT_DIR, env=env, capture_output=True, text=True)
    if log:
        log.write(proc.stdout)
    fails = pipeline.dbt_failures(target)
    if proc.returncode != 0:
        outcome = GateOutcome("gate2", [CheckResult(f"dbt:{f['node']}", "gate2", "error", False,
                                                    failed_count=int(f.get("failures") or 1), engine="dbt",
                                                    message=f"dbt {f['status']}: {f['node']} — {f['message']}",
                                                    fix="a mart contradicts its definition or contract")
                                        for f in fails] or [
            CheckResult("dbt:build", "gate2", "error", False, engine="dbt",
                        message=f"dbt exited {proc.returncode}", fix="see the log under <data_dir>/logs")])
        report = write_failure_report(config, cycle.id, run_id, [gate1, outcome], "dbt build (weekly)")
        raise WeeklyGateError(f"the weekly dbt build failed ({len(fails)} failing nodes)", report)
    gate2 = run_gate2(cut, cycle, db, landing.landing_dir, [])
    if not gate2.passed:
        report = write_failure_report(config, cycle.id, run_id, [gate1, gate2], "gate2 (weekly)")
        raise WeeklyGateError(f"gate 2 failed for the watchlist as of {as_of}", report)

    import duckdb
    folder = weekly_folder(config, cycle)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        con = duckdb.connect(str(db), read_only=True)
        for m in WEEKLY_MARTS:
            path = tmp / f"{m}.parquet"
            con.execute(f"copy (select * from main.{m}) to '{path}' (format parquet, compression zstd)")
            os.chmod(path, FILE_MODE_RESTRICTED if access(m) == "restricted" else FILE_MODE_AGGREGATE)
        con.close()
        con = duckdb.connect()
        for name, restricted in (("marts_restricted", True), ("marts_aggregate", False)):
            out = tmp / f"{name}.duckdb"
            con.execute(f"attach '{out}' as pub (storage_version '{STORAGE_VERSION}')")
            for m in WEEKLY_MARTS:
                if restricted or access(m) == "aggregate":
                    con.execute(f"create table pub.main.{m} as select * from read_parquet('{tmp / (m + '.parquet')}')")
            con.execute("detach pub")
            os.chmod(out, FILE_MODE_RESTRICTED if restricted else FILE_MODE_AGGREGATE)
        con.close()
        if folder.exists():                  # a re-run of the same date replaces its folder
            shutil.rmtree(folder)
        os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        pipeline.remove_build(db)
        shutil.rmtree(target, ignore_errors=True)
    return folder
