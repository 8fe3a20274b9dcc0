"""`tutoring-impact`: the command line (DESIGN §10). Exit 0 on success, 1 when a gate fails (nothing
published), 2 on bad usage or config.

Examples:
  tutoring-impact generate --students 6000 --schools 8 --seed 42 --out demo
  tutoring-impact run --config demo/config.yml --all
  tutoring-impact run --config demo/config.yml --cycle 2025-26-C3
  tutoring-impact run --config demo/config.yml --as-of 2025-11-20      (weekly watchlist)
  tutoring-impact validate --config demo/config.yml --cycle 2025-26-C3
  tutoring-impact status --config demo/config.yml [--json]
  tutoring-impact rollback --config demo/config.yml --to 2025-26-C2/v1
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from orchestration.config import Config, ConfigError, load_config

EXIT_OK, EXIT_GATE, EXIT_USAGE = 0, 1, 2


def _err(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)


def prepare_dagster_home(config: Config) -> Path:
    """Dagster's instance lives in <data_dir>/dagster; telemetry off; one DuckDB writer at a time."""
    home = config.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    yml = home / "dagster.yaml"
    text = ("telemetry:\n  enabled: false\n"
            "concurrency:\n  pools:\n    default_limit: 1\n")
    if not yml.is_file() or yml.read_text() != text:
        yml.write_text(text)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@contextmanager
def cycle_lock(config: Config, cycle_id: str):
    d = config.data_dir / ".locks"
    d.mkdir(parents=True, exist_ok=True)
    with open(d / f"{cycle_id}.lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"cycle {cycle_id} is already running in another process; wait for it to "
                               "finish (tutoring-impact status shows the result)") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextmanager
def _progress(text: str):
    """A spinner with elapsed time on a terminal; nothing when output goes to a file or cron."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as prog:
        prog.add_task(text, total=None)
        yield


def _load(args) -> Config:
    return load_config(args.config)


# ------------------------------------------------------------------------------------------ commands
def cmd_generate(args) -> int:
    from orchestration.generator import generate
    out = Path(args.out)
    truth = generate(students=args.students, schools=args.schools, seed=args.seed, out=out,
                     school_year=args.school_year, effect_sd=args.effect_sd,
                     attendance_feed=args.attendance_feed)
    cfg = load_config(out / "config.yml")
    print(f"wrote {out / 'config.yml'} and {len(cfg.cycles)} cycle deliveries under {cfg.inbox}")
    print(f"truth (for tests and benchmarks, never read by the pipeline): {out / 'truth.json'}")
    return EXIT_OK


def _cycles_with_delivery(config: Config) -> list:
    from orchestration.pull import cycles_to_run      # the inbox, and the pulled feeds (DESIGN §2)
    return cycles_to_run(config)


def run_cycle(config: Config, cycle_id: str) -> tuple[bool, str, str | None]:
    """Run the Dagster job for one cycle in this process. Returns (success, run_id, version)."""
    os.environ["TUTORING_IMPACT_CONFIG"] = str(config.path)
    prepare_dagster_home(config)
    import dagster as dg
    from orchestration import definitions
    from orchestration.publish import current_version
    job = definitions.defs.resolve_job_def("cycle")
    logs = config.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    # dagster-dbt echoes every dbt event to stdout: keep that in a log file, not on the terminal
    with cycle_lock(config, cycle_id), open(logs / f"{cycle_id}.log", "w") as log, \
            contextlib.redirect_stdout(log if not os.environ.get("TUTORING_IMPACT_VERBOSE") else sys.stdout):
        with dg.DagsterInstance.get() as instance:
            quiet = {"loggers": {"console": {"config": {"log_level": os.environ.get("TUTORING_IMPACT_LOG_LEVEL",
                                                                                    "ERROR")}}}}
            result = job.execute_in_process(partition_key=cycle_id, instance=instance, raise_on_error=False,
                                            run_config=quiet)
    version, postgres = None, {}
    if result.success:
        for ev in result.all_events:
            if ev.event_type_value == "ASSET_MATERIALIZATION" and ev.asset_key and ev.asset_key.path == ["publication"]:
                md = ev.event_specific_data.materialization.metadata
                version = md["published_version"].value if "published_version" in md else current_version(config)
                postgres = {k: md[k].value for k in ("postgres_error", "postgres_server", "postgres_rows") if k in md}
    return result.success, result.run_id, version, postgres


def _print_failure(config: Config, cycle_id: str, run_id: str) -> None:
    report = config.published / "failures" / cycle_id / f"{run_id}.json"
    if report.is_file():
        doc = json.loads(report.read_text())
        print(f"cycle {cycle_id}: FAILED at {doc['failed_stage']} — nothing published; "
              f"published/current is unchanged", file=sys.stderr)
        for c in doc["checks"]:
            if c["severity"] == "error":
                where = " ".join(x for x in (c.get("source_file") or "", c.get("column") or "") if x)
                print(f"  ✗ {c['check']}{' [' + where + ']' if where else ''}: {c['message']}", file=sys.stderr)
                if c.get("fix"):
                    print(f"      fix: {c['fix']}", file=sys.stderr)
        print(f"  report: {report.with_suffix('.html')}", file=sys.stderr)
    else:
        print(f"cycle {cycle_id}: FAILED (run {run_id}); nothing published. See the run in the Dagster UI "
              f"(make ui) for the step that failed, and {config.data_dir / 'logs' / (cycle_id + '.log')}.",
              file=sys.stderr)


def cmd_run_weekly(config: Config, args) -> int:
    """--as-of DATE: the weekly operational watchlist between cycles (orchestration/weekly.py)."""
    import datetime as dt
    import uuid
    from orchestration.weekly import WeeklyGateError, run_weekly, weekly_cycle, weekly_log
    try:
        as_of = dt.date.fromisoformat(args.as_of)
    except ValueError:
        raise ConfigError("--as-of", args.as_of, "an ISO date YYYY-MM-DD") from None
    if args.all:
        raise ConfigError("--as-of", args.as_of, "a date with --cycle (or alone), not with --all")
    cycle = weekly_cycle(config, as_of)
    if args.cycle and args.cycle != cycle.id:
        raise ConfigError("--as-of", args.as_of, f"a date inside --cycle {args.cycle} (it lies in {cycle.id})")
    run_id = str(uuid.uuid4())
    print(f"cycle {cycle.id}: weekly watchlist as of {as_of}: running…", flush=True)
    try:
        with cycle_lock(config, cycle.id), weekly_log(config, cycle, as_of) as log, \
                _progress(f"cycle {cycle.id} as of {as_of}: land → gate 1 → dbt (watchlist) → gate 2"):
            folder = run_weekly(config, as_of, run_id, log=log)
    except WeeklyGateError:
        _print_failure(config, cycle.id, run_id)
        return EXIT_GATE
    except RuntimeError as e:
        _err(str(e))
        return EXIT_GATE
    print(f"cycle {cycle.id}: weekly watchlist as of {as_of} written to {folder} "
          f"(published/current unchanged)", flush=True)
    return EXIT_OK


def cmd_run(args) -> int:
    config = _load(args)
    if getattr(args, "as_of", None):
        return cmd_run_weekly(config, args)
    if not args.all and not args.cycle:
        _err("run needs --cycle ID or --all (or --as-of DATE for the weekly watchlist)")
        return EXIT_USAGE
    if args.all:
        cycles = _cycles_with_delivery(config)
        if not cycles:
            _err(f"no deliveries under {config.inbox}: put each cycle's files in inbox/<cycle_id>/")
            return EXIT_USAGE
    else:
        cycles = [config.cycle(args.cycle)]
        from orchestration.pull import pulled_feeds
        if not (config.inbox / args.cycle).is_dir() and not pulled_feeds(config):
            _err(f"no delivery for {args.cycle}: expected the folder {config.inbox / args.cycle}")
            return EXIT_USAGE
    code = EXIT_OK
    for c in cycles:
        print(f"cycle {c.id} ({c.start} – {c.end}): running…", flush=True)
        try:
            with _progress(f"cycle {c.id}: land → gate 1 → dbt build → gate 2 → publish"):
                ok, run_id, version, postgres = run_cycle(config, c.id)
        except RuntimeError as e:
            _err(str(e))
            return EXIT_GATE
        if ok:
            print(f"cycle {c.id}: published {version}", flush=True)
            if "postgres_error" in postgres:
                print(f"cycle {c.id}: published {version} locally, but PostgreSQL was not updated and still "
                      f"serves its previous publication: {postgres['postgres_error']}", file=sys.stderr)
                code = EXIT_GATE
            elif postgres:
                print(f"postgres: {postgres['postgres_server']} now serves {version} "
                      f"(schemas marts_restricted, marts_aggregate; {postgres['postgres_rows']:,} rows)")
        else:
            _print_failure(config, c.id, run_id)
            from orchestration.alerts import alert_for_failure, send_alert
            report_path = config.published / "failures" / c.id / f"{run_id}.json"
            for line in send_alert(config, alert_for_failure(config, c.id, run_id, report_path)):
                print(f"  alert: {line}", file=sys.stderr)
            code = EXIT_GATE
            if args.all:
                break
    if code == EXIT_OK:
        cur = config.published / "current"
        print(f"\npublished marts: {cur}/marts_restricted.duckdb, {cur}/marts_aggregate.duckdb, {cur}/parquet/")
        print(f"impact report:   {cur}/report.html")
        if (cur / "teacher_digests" / "index.html").is_file():
            print(f"teacher digests: {cur}/teacher_digests/index.html (restricted: names students)")
    return code


def cmd_validate(args) -> int:
    from expectations.gate1 import run_gate1
    from sources.landing import land_cycle
    config = _load(args)
    cycle = config.cycle(args.cycle)
    if not (config.inbox / cycle.id).is_dir():
        _err(f"no delivery for {cycle.id}: expected the folder {config.inbox / cycle.id}")
        return EXIT_USAGE
    landing = land_cycle(config, cycle.id)
    outcome = run_gate1(config, landing)
    for f in landing.files:
        print(f"{f.source_file}: {f.layout_variant or f.layout or 'UNRECOGNISED'} — read {f.rows_read}, loaded {f.rows_loaded}, "
              f"quarantined {f.rows_quarantined} {json.dumps(f.quarantined_by_reason) if f.rows_quarantined else ''}")
    for r in outcome.results:
        if not r.success:
            mark = "✗" if r.severity == "error" else "!"
            print(f"  {mark} {r.severity}: {r.message}" + (f"\n      fix: {r.fix}" if r.fix else ""))
    print(f"gate 1 {outcome.status}: {len(outcome.errors)} errors, {len(outcome.warnings)} warnings "
          f"({len(outcome.results)} checks)")
    return EXIT_OK if outcome.passed else EXIT_GATE


def status_rows(config: Config) -> list[dict]:
    from orchestration.publish import current_version, versions
    from sources.landing import read_manifest
    cur = current_version(config)
    allv = versions(config)
    in_current = _published_in_current(config)
    rows = []
    for c in config.cycles:
        mine = [v for v in allv if v.startswith(c.id + "/")]
        if not mine and c.id in in_current:
            # its own folder fell to retention, but its rows are in the current publication
            mine = [in_current[c.id]]
        fails = sorted((config.published / "failures" / c.id).glob("*.json"), key=lambda p: p.stat().st_mtime) \
            if (config.published / "failures" / c.id).is_dir() else []
        pub_time = max(((config.published / v).stat().st_mtime for v in mine if (config.published / v).exists()),
                       default=float("inf") if mine else 0)
        fail_time = fails[-1].stat().st_mtime if fails else 0
        m = read_manifest(config, c.id)
        if mine and pub_time >= fail_time:
            state = "published"
        elif fails:
            state = "failed"
        elif m:
            state = "landed"
        elif (config.inbox / c.id).is_dir():
            state = "delivered"
        else:
            state = "waiting"
        gates = None
        if fails and state == "failed":
            doc = json.loads(fails[-1].read_text())
            gates = {g["gate"]: g["status"] for g in doc.get("gates", [])}
        elif mine:
            gates = _gates_from_audit(config, mine[-1])
        rows.append({"cycle_id": c.id, "start": c.start.isoformat(), "end": c.end.isoformat(), "state": state,
                     "published_version": mine[-1] if mine else None, "is_current": bool(mine and cur in mine),
                     "current": cur if cur in mine else None, "gates": gates,
                     "last_failure": fails[-1].stem if fails else None})
    return rows


def _published_in_current(config: Config) -> dict[str, str]:
    """cycle → the version that published it, for every cycle held by `current`."""
    import duckdb
    p = config.published / "current" / "parquet" / "cycle_audit.parquet"
    if not p.is_file():
        return {}
    return dict(duckdb.sql(f"select cycle_id, max(published_version) from read_parquet('{p}') group by 1").fetchall())


def _gates_from_audit(config: Config, version: str) -> dict | None:
    import duckdb
    p = config.published / version / "parquet" / "cycle_audit.parquet"
    if not p.is_file():
        p = config.published / "current" / "parquet" / "cycle_audit.parquet"
    if not p.is_file():
        return None
    r = duckdb.sql(f"select any_value(gate1_status), any_value(gate2_status) from read_parquet('{p}') "
                   f"where published_version = '{version}'").fetchall()[0]
    return {"gate1": r[0], "gate2": r[1]}


def cmd_status(args) -> int:
    config = _load(args)
    rows = status_rows(config)
    if args.json:
        print(json.dumps({"district": config["district"]["name"], "current": (config.published / "current").is_symlink()
                          and os.readlink(config.published / "current") or None, "cycles": rows}, indent=1))
        return EXIT_OK
    try:
        from rich.console import Console
        from rich.table import Table
        t = Table(title=f"{config['district']['name']} — {config.school_year['id']}")
        for h in ("cycle", "dates", "state", "published version", "gates"):
            t.add_column(h)
        for r in rows:
            g = ", ".join(f"{k} {v}" for k, v in (r["gates"] or {}).items())
            t.add_row(r["cycle_id"], f"{r['start']} – {r['end']}", r["state"],
                      (r["published_version"] or "") + (" ← current" if r["is_current"] else ""), g)
        Console().print(t)
    except ImportError:
        for r in rows:
            print(r)
    return EXIT_OK


def cmd_rollback(args) -> int:
    from orchestration.publish import PublishError, publish_lock, switch_current, versions
    config = _load(args)
    if args.to not in versions(config):
        _err(f"--to {args.to!r} is not a kept publication; kept: {', '.join(versions(config)) or 'none'}")
        return EXIT_USAGE
    from orchestration.postgres import postgres_enabled, publish_postgres
    with publish_lock(config):
        try:
            switch_current(config, args.to)
            if postgres_enabled(config):
                info = publish_postgres(config, config.published / args.to, args.to)
                print(f"postgres: {info['server']} now serves {args.to}")
        except PublishError as e:
            _err(str(e))
            return EXIT_USAGE
    print(f"published/current → {args.to}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tutoring-impact", description="Is tutoring moving students? A six-week "
                                "batch pipeline over screener, SIS and tutoring-vendor extracts.",
                                epilog=__doc__.split("Examples:")[1] and "examples:" + __doc__.split("Examples:")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="write a synthetic district (config, deliveries, truth.json)")
    g.add_argument("--students", type=int, default=6000)
    g.add_argument("--schools", type=int, default=8)
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--out", required=True)
    g.add_argument("--school-year", default=None, help="e.g. 2025-26 (default: the last finished school year)")
    g.add_argument("--effect-sd", type=float, default=0.20, help="true effect of adequate dosage, in SD, for vendor tutors (teachers 1.75 ×, community partners 0.5 ×; truth.json has each)")
    g.add_argument("--attendance-feed", choices=("daily", "absences_only"), default="daily",
                   help="attendance as a row per school day (daily) or the SIS's absences-only export")
    g.set_defaults(func=cmd_generate)
    r = sub.add_parser("run", help="run cycles: land → gate 1 → dbt → gate 2 → publish")
    r.add_argument("--config", required=True)
    grp = r.add_mutually_exclusive_group(required=False)   # one of them, or --as-of alone (cmd_run checks)
    grp.add_argument("--cycle")
    grp.add_argument("--all", action="store_true", help="every cycle with a delivery, in calendar order")
    r.add_argument("--as-of", dest="as_of", metavar="DATE",
                   help="between cycles: build only the operational watchlist as of DATE and write it to "
                        "published/<cycle>/weekly/DATE/ (current does not move)")
    r.set_defaults(func=cmd_run)
    v = sub.add_parser("validate", help="gate 1 only: pre-check a delivery")
    v.add_argument("--config", required=True)
    v.add_argument("--cycle", required=True)
    v.set_defaults(func=cmd_validate)
    s = sub.add_parser("status", help="a table of cycles: state, published version, gates")
    s.add_argument("--config", required=True)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)
    b = sub.add_parser("rollback", help="point published/current at an earlier publication")
    b.add_argument("--config", required=True)
    b.add_argument("--to", required=True, metavar="VERSION", help="<cycle_id>/v<N>")
    b.set_defaults(func=cmd_rollback)
    args = p.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as e:
        _err(str(e))
        return EXIT_USAGE
    except RuntimeError as e:
        from orchestration.pull import PullError
        if not isinstance(e, PullError):
            raise
        _err(str(e))                     # a feed could not be looked at: nothing ran, nothing published
        return EXIT_GATE


if __name__ == "__main__":
    sys.exit(main())
