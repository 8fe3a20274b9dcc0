"""The Dagster code location: cycles as partitions, and the assets land → gate 1 → dbt → gate 2 → publish.

The district config is named by the ``TUTORING_IMPACT_CONFIG`` environment variable (``make ui`` and
the CLI set it); partitions come from its calendar. Gates are asset checks: gate 1 is checked inside
the landing step (blocking: a failure stops the run before dbt), dbt's tests are checks on the dbt
assets, and gate 2 is checked inside the publication step before anything is published.
"""

import json
import os
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from expectations.gate1 import run_gate1
from expectations.gate2 import run_gate2
from orchestration import pipeline
from orchestration.alerts import make_run_failure_sensor
from orchestration.config import ConfigError, load_config
from orchestration.pull import PullError, pull_assets, watched_deliveries
from orchestration.publish import publish, write_failure_report
from orchestration.report import write_report
from sources.contracts import TABLES
from sources.landing import land_cycle, read_manifest

CONFIG_ENV = "TUTORING_IMPACT_CONFIG"
WRITER_POOL = "duckdb_writer"          # DuckDB files have one writer (DESIGN §10)


def _config():
    path = os.environ.get(CONFIG_ENV)
    if not path:
        raise ConfigError(CONFIG_ENV, None, "the path of the district config.yml in this environment variable")
    return load_config(path)


CONFIG = _config()
PARTITIONS = dg.StaticPartitionsDefinition([c.id for c in CONFIG.cycles])
DBT = DbtProject(project_dir=pipeline.DBT_DIR, profiles_dir=pipeline.DBT_DIR)
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
if not Path(DBT.manifest_path).is_file():
    # `make install` parses the project; parse here too with the venv's dbt if the manifest is gone
    import subprocess
    subprocess.run([pipeline.dbt_executable(), "parse", "--quiet", "--project-dir", str(pipeline.DBT_DIR),
                    "--profiles-dir", str(pipeline.DBT_DIR)], check=True, capture_output=True,
                   env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})


PULL_ASSETS = pull_assets(CONFIG, PARTITIONS)      # one per feed with a location, upstream of landing
PULL_KEYS = [a.key for a in PULL_ASSETS]


class Translator(DagsterDbtTranslator):
    """Sources are the landed tables (``landing/<table>``); groups follow the dbt folders."""

    def get_asset_spec(self, manifest, unique_id, project):
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest.get("sources", {}).get(unique_id) or manifest.get("nodes", {}).get(unique_id) or {}
        if node.get("resource_type") == "source":
            return spec.replace_attributes(key=dg.AssetKey(["landing", node["name"]]), group_name="landing")
        fqn = node.get("fqn") or []
        group = fqn[1] if len(fqn) > 2 else "marts"
        return spec.replace_attributes(group_name=group)


def _md(value):
    return dg.MetadataValue.json(value) if isinstance(value, (dict, list)) else value


def _gate_metadata(outcome) -> dict:
    return {"status": outcome.status, "checks": len(outcome.results), "errors": len(outcome.errors),
            "warnings": len(outcome.warnings),
            "failed_checks": dg.MetadataValue.json(
                [{"check": r.check, "severity": r.severity, "rows": r.failed_count, "file": r.source_file,
                  "column": r.column, "message": r.message, "fix": r.fix} for r in outcome.results if not r.success])}


@dg.multi_asset(
    specs=[dg.AssetSpec(["landing", t], group_name="landing", kinds={"parquet"}, deps=PULL_KEYS,
                        description=f"Landed {t}: {TABLES[t].grain}") for t in TABLES],
    check_specs=[dg.AssetCheckSpec("gate1_sources", asset=["landing", "sessions"], blocking=True,
                                   description="Gate 1: the delivery's files, rows, IDs, freshness, volume and "
                                               "the GX suites of every landed table")],
    partitions_def=PARTITIONS, name="land_delivery", pool=WRITER_POOL,
)
def land_delivery(context: dg.AssetExecutionContext):
    """Read the cycle's inbox, adapt every file to the canonical tables, quarantine bad rows, and judge
    the delivery (gate 1)."""
    cycle = CONFIG.cycle(context.partition_key)
    result = land_cycle(CONFIG, cycle.id, progress=context.log.info)
    qbr = result.quarantined_by_reason()
    for t in TABLES:
        yield dg.MaterializeResult(asset_key=["landing", t], metadata={
            "rows": result.rows_loaded.get(t, 0), "landing_dir": str(result.landing_dir),
            "skipped_unchanged_inputs": result.skipped, "inputs_hash": result.inputs_hash[:16],
            **({"quarantined_by_reason": dg.MetadataValue.json(qbr), "files": len(result.files),
                "rows_quarantined": sum(qbr.values()), "seconds": result.seconds} if t == "sessions" else {})})
    outcome = run_gate1(CONFIG, result)
    meta = _gate_metadata(outcome)
    if not outcome.passed:
        report = write_failure_report(CONFIG, cycle.id, context.run_id, [outcome], "gate1")
        meta["failure_report"] = dg.MetadataValue.path(str(report.with_suffix(".html")))
    yield dg.AssetCheckResult(asset_key=["landing", "sessions"], check_name="gate1_sources", passed=outcome.passed,
                              severity=dg.AssetCheckSeverity.ERROR, metadata=meta)


@dbt_assets(manifest=DBT.manifest_path, project=DBT, partitions_def=PARTITIONS, dagster_dbt_translator=Translator(),
            pool=WRITER_POOL)
def dbt_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """One `dbt build` of staging → intermediate → marts into this run's build database."""
    cycle = CONFIG.cycle(context.partition_key)
    db = pipeline.build_db_path(CONFIG, cycle, context.run_id)
    db.parent.mkdir(parents=True, exist_ok=True)
    pipeline.remove_build(db)
    os.environ.update(pipeline.dbt_env(CONFIG, db))
    invocation = dbt.cli(pipeline.dbt_args(CONFIG, cycle), context=context, raise_on_error=False)
    yield from invocation.stream()
    if not invocation.is_successful():
        from expectations.results import CheckResult, GateOutcome
        fails = pipeline.dbt_failures(Path(invocation.target_path))
        outcome = GateOutcome("gate2", [CheckResult(f"dbt:{f['node']}", "gate2", "error", False,
                                                     failed_count=int(f.get("failures") or 1), engine="dbt",
                                                     message=f"dbt {f['status']}: {f['node']} — {f['message']}",
                                                     fix="a mart contradicts its definition or contract")
                                         for f in fails])
        path = write_failure_report(CONFIG, cycle.id, context.run_id, [outcome], "dbt build")
        raise dg.Failure(description=f"dbt build failed ({len(fails)} failing nodes); report: {path}",
                         metadata={"failure_report": dg.MetadataValue.path(str(path.with_suffix('.html')))})


MART_KEYS = [k for k in dbt_marts.keys if k.path[-1] in __import__("orchestration.marts", fromlist=["ALL_MARTS"]).ALL_MARTS]


@dg.asset(deps=MART_KEYS or list(dbt_marts.keys), partitions_def=PARTITIONS, group_name="publish", pool=WRITER_POOL,
          kinds={"duckdb", "parquet"},
          check_specs=[dg.AssetCheckSpec("gate2_marts", asset="publication", blocking=True,
                                         description="Gate 2: mart suites, suppression, privacy and reconciliation")])
def publication(context: dg.AssetExecutionContext):
    """Gate 2 on the build, then publish `published/<cycle>/v<N>` and switch `current` atomically."""
    cycle = CONFIG.cycle(context.partition_key)
    db = pipeline.build_db_path(CONFIG, cycle, context.run_id)
    landing = read_manifest(CONFIG, cycle.id)
    completion = pipeline.complete_suppression_on_build(CONFIG, db)
    context.log.info(f"complementary suppression: {completion['counts_withheld_by_completion']} more counts "
                     f"withheld in {completion['suppression_rounds']} rounds "
                     f"({completion['counts_withheld_by_dbt']} by dbt)")
    outcome = run_gate2(CONFIG, cycle, db, landing.landing_dir, [])
    gate1 = run_gate1(CONFIG, landing)
    meta = {**_gate_metadata(outcome), **{k: _md(v) for k, v in completion.items()}}
    if not outcome.passed:
        report = write_failure_report(CONFIG, cycle.id, context.run_id, [gate1, outcome], "gate2")
        meta["failure_report"] = dg.MetadataValue.path(str(report.with_suffix(".html")))
        yield dg.AssetCheckResult(check_name="gate2_marts", passed=False, metadata=meta)
        raise dg.Failure(description=f"gate 2 failed: {len(outcome.errors)} checks; report: {report}")
    yield dg.AssetCheckResult(check_name="gate2_marts", passed=True, metadata=meta)
    pending = pipeline.audit_rows(cycle, context.run_id, None, landing, gate1, outcome)

    def report_writer(folder, version):
        write_report(CONFIG, cycle, folder, version, [gate1, outcome])

    served: dict = {}

    def serve_postgres(folder, version):
        from orchestration.postgres import PostgresPublishError, postgres_enabled, publish_postgres
        if not postgres_enabled(CONFIG):
            return
        try:
            served.update(publish_postgres(CONFIG, folder, version))
        except PostgresPublishError as e:
            served["error"] = str(e)

    version = publish(CONFIG, cycle, db, landing.landing_dir, pending, report_writer, after_switch=serve_postgres)
    pipeline.clean_builds(CONFIG)
    current = CONFIG.published / "current"
    pg_meta = ({"postgres_error": served["error"]} if "error" in served else
               {"postgres_server": served["server"], "postgres_version": served["version"],
                "postgres_rows": served["rows"]} if served else {})
    yield dg.MaterializeResult(metadata={**pg_meta,
        "published_version": version, "current": str(current),
        "report": dg.MetadataValue.path(str(current / "report.html")),
        "teacher_digests": dg.MetadataValue.path(str(current / "teacher_digests" / "index.html")),
        "marts_aggregate": dg.MetadataValue.path(str(current / "marts_aggregate.duckdb")),
        "gate1": gate1.status, "gate2": outcome.status, **{k: _md(v) for k, v in completion.items()}})


cycle_job = dg.define_asset_job("cycle", selection=dg.AssetSelection.all(),
                                description="One six-week cycle: land, gate 1, dbt build, gate 2, publish")

def _district_today():
    import datetime as dt
    return dt.datetime.now(CONFIG.timezone).date()


@dg.schedule(job=cycle_job, cron_schedule="0 6 * * *", execution_timezone=str(CONFIG.timezone),
             default_status=dg.DefaultScheduleStatus.STOPPED)
def cycle_schedule(context: dg.ScheduleEvaluationContext):
    """Every morning: launch each cycle once, on the first tick on or after its end + grace_days."""
    from orchestration.schedules import due_cycles
    today = context.scheduled_execution_time.astimezone(CONFIG.timezone).date() \
        if context.scheduled_execution_time else _district_today()
    try:
        delivered = watched_deliveries(CONFIG, due_cycles(CONFIG, today)) if PULL_KEYS else {}
    except PullError as e:
        return dg.SkipReason(f"waiting for the feeds: {e}")
    due = [c for c in due_cycles(CONFIG, today) if (CONFIG.inbox / c.id).is_dir() or c.id in delivered]
    if not due:
        return dg.SkipReason(f"no cycle's launch date (end + {CONFIG.grace_days} days) is {today}")
    return [dg.RunRequest(run_key=f"scheduled-{c.id}", partition_key=c.id,
                          tags={"trigger": "schedule"}) for c in due]


@dg.sensor(job=cycle_job, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED)
def delivery_sensor(context: dg.SensorEvaluationContext):
    """Launch a cycle early when its complete delivery lands; never twice for the same files."""
    import json as _json
    from orchestration.schedules import complete_deliveries
    seen = _json.loads(context.cursor) if context.cursor else {}
    try:
        found = watched_deliveries(CONFIG) if PULL_KEYS else complete_deliveries(CONFIG)
    except PullError as e:                       # a feed is down: say so, try again next tick
        return dg.SkipReason(f"could not look at the feeds: {e}")
    new = {cid: fp for cid, fp in found.items() if seen.get(cid) != fp}
    if not new:
        return dg.SkipReason("no new complete delivery in the inbox")
    context.update_cursor(_json.dumps({**seen, **new}, sort_keys=True))
    return [dg.RunRequest(run_key=f"delivery-{cid}-{fp}", partition_key=cid, tags={"trigger": "delivery"})
            for cid, fp in sorted(new.items())]


@dg.op(config_schema={"as_of": dg.Field(str, description="an ISO date inside a cycle, before its end")},
       pool=WRITER_POOL)
def weekly_watchlist(context: dg.OpExecutionContext) -> str:
    """The weekly operational watchlist as of a date between reviews (orchestration/weekly.py, the
    same run as ``tutoring-impact run --as-of DATE``): published/<cycle>/weekly/<DATE>/; current
    stays where it is."""
    import datetime as dt
    from orchestration.weekly import WeeklyGateError, run_weekly, weekly_cycle, weekly_log
    as_of = dt.date.fromisoformat(context.op_config["as_of"])
    cycle = weekly_cycle(CONFIG, as_of)
    try:
        with weekly_log(CONFIG, cycle, as_of) as log:
            folder = run_weekly(CONFIG, as_of, context.run_id, log=log)
    except WeeklyGateError as e:
        raise dg.Failure(description=f"weekly watchlist as of {as_of}: a gate failed, nothing written ({e})",
                         metadata={"failure_report": dg.MetadataValue.path(str(e.report))}) from None
    context.add_output_metadata({"cycle": cycle.id, "as_of": as_of.isoformat(),
                                 "folder": dg.MetadataValue.path(str(folder))})
    return str(folder)


@dg.job(description="The weekly operational watchlist between six-week reviews (run --as-of DATE)")
def weekly():
    weekly_watchlist()


@dg.schedule(job=weekly, cron_schedule="0 6 * * 1", execution_timezone=str(CONFIG.timezone),
             default_status=dg.DefaultScheduleStatus.STOPPED)
def weekly_schedule(context: dg.ScheduleEvaluationContext):
    """Monday mornings inside a cycle: the watchlist as of the day before (the week's data so far),
    once per date, when the cycle's delivery so far is in the inbox."""
    import datetime as dt
    from orchestration.weekly import weekly_cycle
    today = context.scheduled_execution_time.astimezone(CONFIG.timezone).date() \
        if context.scheduled_execution_time else _district_today()
    as_of = today - dt.timedelta(days=1)
    try:
        cycle = weekly_cycle(CONFIG, as_of)
    except ConfigError:
        return dg.SkipReason(f"{as_of} is not inside a cycle before its end: the six-week run covers it")
    if not (CONFIG.inbox / cycle.id).is_dir():
        return dg.SkipReason(f"no delivery for {cycle.id} in {CONFIG.inbox} yet")
    return dg.RunRequest(run_key=f"weekly-{as_of}", tags={"trigger": "schedule", "cycle": cycle.id},
                         run_config={"ops": {"weekly_watchlist": {"config": {"as_of": as_of.isoformat()}}}})


defs = dg.Definitions(
    assets=[*PULL_ASSETS, land_delivery, dbt_marts, publication],
    jobs=[cycle_job, weekly],
    schedules=[cycle_schedule, weekly_schedule],
    sensors=[delivery_sensor, make_run_failure_sensor(cycle_job, CONFIG)],
    resources={"dbt": DbtCliResource(project_dir=DBT, profiles_dir=str(pipeline.DBT_DIR),
                                     dbt_executable=pipeline.dbt_executable())},
)
