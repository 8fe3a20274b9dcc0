"""`make bench SCALE=demo|district|<students>`: one full cycle, stage by stage, against the floor.

Generates the district with the project's generator (cached by size, seed and generator code under bench/cache/),
runs the last cycle's delivery (year to date, the biggest) through the same functions the Dagster
assets call — land, gate 1, dbt build, suppression (the completion pass), gate 2, publish, report — and measures per stage the wall
seconds, the peak RSS of the whole process tree (this process and its children, sampled from
/proc) and rows in/out. The floor is DuckDB scanning every input file once in the same run; the
ratio pipeline/floor is reported per stage and in total. Writes bench/results/<scale>.json.

Publish is the one stage whose cost can grow with the number of cycles already published (each
publication holds the whole school year), so before the timed publish the year's earlier cycles are
published untimed (``seed_earlier_cycles``) and the last cycle publishes into them, as in operation.
``--empty-year`` publishes into an empty year instead (bench/results/<scale>-empty-year.json).
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCALES = {"demo": (6000, 8), "district": (350000, 60)}


def rss_tree(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    total, todo = 0, [pid]
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d.name))
            except (OSError, IndexError, ValueError):
                pass
    while todo:
        p = todo.pop()
        try:
            for line in (Path("/proc") / str(p) / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
        todo += children.get(p, [])
    return total


class Peak:
    def __init__(self):
        self.peak, self._stop = 0, threading.Event()

    def __enter__(self):
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_tree(os.getpid()))
            time.sleep(0.2)

    def __exit__(self, *a):
        self._stop.set()
        self._t.join()


def stage(results: list, name: str, fn, rows_in=None):
    t0 = time.time()
    with Peak() as pk:
        out = fn()
    results.append({"stage": name, "seconds": round(time.time() - t0, 2), "peak_rss_mib": round(pk.peak / 2**20),
                    "rows_in": rows_in, "rows_out": None})
    print(f"  {name:<10} {results[-1]['seconds']:>8.1f} s  {results[-1]['peak_rss_mib']:>6} MiB", flush=True)
    return out


def machine() -> dict:
    """What ran the benchmark: CPUs, memory, versions, and the load (the machine may be shared)."""
    def first(path: str, key: str) -> str | None:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            return None
    mem = first("/proc/meminfo", "MemTotal")
    import duckdb
    return {"cpus": os.cpu_count(), "cpu_model": first("/proc/cpuinfo", "model name"),
            "memory_gib": round(int(mem.split()[0]) / 2**20, 1) if mem else None,
            "python": platform.python_version(), "duckdb": duckdb.__version__, "platform": platform.platform()}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def table_rates(landing) -> list[dict]:
    """Rows/s per landed table from the landing manifest: the table's rows over the seconds spent
    reading its source files plus writing the table (a file that feeds two tables counts for both)."""
    secs = landing.stage_seconds
    out = []
    for t, n in sorted(landing.rows_loaded.items(), key=lambda kv: -kv[1]):
        files = [f.source_file for f in landing.files if t in f.tables]
        read = sum(secs.get(f"read {f}", 0.0) for f in files)
        write = secs.get(f"table {t}", 0.0)
        total = read + write
        out.append({"table": t, "rows": n, "files": len(files), "read_seconds": round(read, 2),
                    "write_seconds": round(write, 2),
                    "rows_per_second": round(n / total) if total > 0 else None})
    return out


def dbt_timings(target: Path, top: int = 12) -> list[dict]:
    """The slowest nodes of the last dbt invocation (target/run_results.json)."""
    rr = target / "run_results.json"
    if not rr.is_file():
        return []
    res = json.loads(rr.read_text()).get("results", [])
    res.sort(key=lambda r: -(r.get("execution_time") or 0))
    return [{"node": r["unique_id"].split(".", 2)[-1] if r["unique_id"].startswith("model.") else r["unique_id"],
             "seconds": round(r.get("execution_time") or 0, 2), "status": r.get("status")} for r in res[:top]]


def table_rows(db: Path, names: list[str] | None = None) -> int:
    import duckdb
    con = duckdb.connect(str(db), read_only=True)
    tabs = [r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = 'main' "
                                      "and table_type = 'BASE TABLE'").fetchall()]
    n = sum(con.execute(f'select count(*) from main."{t}"').fetchone()[0] for t in tabs if names is None or t in names)
    con.close()
    return n


def parquet_rows(folder: Path) -> int:
    import duckdb
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return 0
    return duckdb.connect().execute("select sum(num_rows) from parquet_file_metadata(?)",
                                    [[str(f) for f in files]]).fetchone()[0]


def print_table(doc: dict) -> None:
    """One screen: the stages against the floor, then landing's rows/s per big table."""
    print(f"\n{doc['scale']}: {doc['students']:,} students, {doc['schools']} schools, cycle {doc['cycle']}, "
          f"{doc['input_files']} files, {doc['input_gib']} GiB, {doc['input_rows']:,} rows")
    print(f"machine: {doc['machine']['cpus']} CPUs, {doc['machine']['memory_gib']} GiB; load average "
          f"{doc['load_average']['start'][0]} at start, {doc['load_average']['end'][0]} at end")
    print(f"{'stage':<10} {'seconds':>8} {'× floor':>8} {'peak MiB':>9} {'rows in':>13} {'rows out':>13}")
    for r in doc["stages"]:
        ratio = "" if r["ratio_to_floor"] is None else f"{r['ratio_to_floor']:.2f}"
        print(f"{r['stage']:<10} {r['seconds']:>8.1f} {ratio:>8} {r['peak_rss_mib']:>9} "
              f"{'' if r['rows_in'] is None else format(r['rows_in'], ','):>13} "
              f"{'' if r['rows_out'] is None else format(r['rows_out'], ','):>13}")
    print(f"{'floor':<10} {doc['floor_seconds']:>8.1f} {1:>8.2f} {'':>9} {doc['input_rows']:>13,}")
    print(f"{'cycle':<10} {doc['pipeline_seconds']:>8.1f} {doc['ratio_to_floor']:>8.2f} {doc['peak_rss_mib']:>9}"
          f"   targets: ≤ {doc['targets']['district_seconds']} s, ≤ {doc['targets']['peak_rss_mib']} MiB, "
          f"≤ {doc['targets']['ratio_to_floor']} × floor")
    print("landing rows/s: " + ", ".join(f"{t['table']} {t['rows_per_second']:,}" for t in doc["landing_tables"][:5]
                                         if t["rows_per_second"]))
    print("slowest dbt nodes: " + ", ".join(f"{n['node']} {n['seconds']:.0f} s" for n in doc["dbt_slowest"][:5]))


def seed_earlier_cycles(config, cycle, build_db: Path, landing_dir: Path, work: Path) -> dict:
    """Publish the school year's earlier cycles (outside the timed stages), so the timed publish of
    the last cycle writes into a year that already holds them, as it does in operation: each mart
    of this cycle's build relabelled as every earlier cycle of the calendar (the district has the
    same size all year, so each earlier cycle has about as many rows), published as the cycle
    before this one. Returns what was seeded."""
    import duckdb
    from orchestration.marts import ALL_MARTS
    from orchestration.publish import publish
    earlier = [c for c in config.cycles if c.id < cycle.id]
    if not earlier:
        return {"cycles": [], "rows": 0}
    hist = work / "earlier-cycles.duckdb"
    hist.unlink(missing_ok=True)
    con = duckdb.connect(str(hist))
    con.execute(f"attach '{build_db}' as build (read_only)")
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables where table_catalog = 'build' "
                                        "and table_schema = 'main' and table_type = 'BASE TABLE'").fetchall()}
    ids = ", ".join(f"('{c.id}')" for c in earlier)
    rows = 0
    for m in (m for m in ALL_MARTS if m in tables and m != "cycle_audit"):
        con.execute(f'create table main."{m}" as select b.* replace (e.id as cycle_id) from build.main."{m}" b, '
                    f"(values {ids}) e(id) order by e.id")
        rows += con.execute(f'select count(*) from main."{m}"').fetchone()[0]
    con.close()
    audit = [{"cycle_id": c.id, "run_id": "benchmark-seed", "source_file": "(earlier cycle, relabelled)", "rows_read": 0}
             for c in earlier]
    t0 = time.time()
    version = publish(config, earlier[-1], hist, landing_dir, audit)
    seconds = round(time.time() - t0, 1)
    hist.unlink()
    return {"cycles": [c.id for c in earlier], "rows": rows, "version": version, "publish_seconds": seconds}


def main(scale: str, full_year: bool = True) -> dict:
    students, schools = SCALES.get(scale, (int(scale) if scale.isdigit() else 0, 0))
    if not students:
        raise SystemExit(f"SCALE must be demo, district or a number of students, not {scale!r}")
    schools = schools or max(2, students // 6000)
    from orchestration.config import load_config
    from orchestration.generator import generate
    seed, year = 2026, "2025-26"
    # cached by size, seed and the generator's code: a changed generator makes a new district
    import hashlib
    code = hashlib.sha256(b"".join(f.read_bytes() for f in sorted((ROOT / "orchestration" / "generator").rglob("*.py"))))
    cache = ROOT / "bench" / "cache" / f"{students}-{schools}-{seed}-{code.hexdigest()[:8]}"
    results: list[dict] = []
    load_start, started = load_average(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"benchmark {scale}: {students:,} students, {schools} schools", flush=True)
    cfg_path = cache / "config.yml"
    if not cfg_path.is_file():
        shutil.rmtree(cache, ignore_errors=True)
        from orchestration.config import Config
        probe = None

        def gen():
            nonlocal probe
            generate(students, schools, seed, cache, school_year=year, effect_sd=0.2,
                     only_cycle=f"{year}-C7")
        stage(results, "generate", gen)
        gen_row = dict(results[-1], measured_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        (cache / "generate.json").write_text(json.dumps(gen_row))
    elif (cache / "generate.json").is_file():
        # generation is cached by size and seed: report how long it took when it ran
        results.append(dict(json.loads((cache / "generate.json").read_text()), cached=True))
        print(f"  generate   cached ({results[-1]['seconds']:.1f} s when it ran)", flush=True)
    config = load_config(cfg_path)
    for d in ("landing", "build", "published"):
        shutil.rmtree(config.data_dir / d, ignore_errors=True)
    cycle = config.cycles[-1]
    inbox = config.inbox / cycle.id
    files = sorted(p for p in inbox.rglob("*.csv"))
    size = sum(p.stat().st_size for p in files)

    import duckdb

    serial: list[str] = []

    def floor():
        con = duckdb.connect()
        n = 0
        for p in files:
            sql = (f"select count(*) from read_csv('{p}', all_varchar=true, header=true, strict_mode=false, "
                   f"null_padding=true{{}})")
            try:
                n += con.execute(sql.format("")).fetchone()[0]
            except duckdb.Error:
                # DuckDB's parallel reader refuses quoted newlines with null_padding: read it serially
                serial.append(str(p.relative_to(inbox)))
                n += con.execute(sql.format(", parallel=false")).fetchone()[0]
        return n
    # the first scan reads the files from disk; every stage after it reads them from the page
    # cache, so the floor is the second scan (both are recorded)
    t0 = time.time()
    floor()
    floor_cold_s = time.time() - t0
    serial.clear()
    t0 = time.time()
    floor_rows = floor()
    floor_s = time.time() - t0
    print(f"  floor      {floor_s:>8.1f} s  (DuckDB scans {len(files)} files, {floor_rows:,} rows, {size / 2**30:.2f} GiB; "
          f"{floor_cold_s:.1f} s the first time, from disk)")

    from expectations.gate1 import run_gate1
    from expectations.gate2 import run_gate2
    from orchestration import pipeline
    from orchestration.publish import publish
    from orchestration.report import write_report
    from sources.landing import land_cycle
    landing = stage(results, "land", lambda: land_cycle(config, cycle.id, force=True), rows_in=floor_rows)
    landed_rows = sum(landing.rows_loaded.values())
    results[-1]["rows_out"] = landed_rows
    g1 = stage(results, "gate1", lambda: run_gate1(config, landing), rows_in=landed_rows)
    results[-1]["checks"] = len(g1.results)
    db = pipeline.build_db_path(config, cycle, "benchmark")
    db.parent.mkdir(parents=True, exist_ok=True)

    dbt_target = cache / "dbt-target"      # its own run_results.json, whatever else uses the project

    def build():
        env = dict(os.environ, **pipeline.dbt_env(config, db))
        r = subprocess.run([pipeline.dbt_executable(), *pipeline.dbt_args(config, cycle), "--project-dir",
                            str(pipeline.DBT_DIR), "--profiles-dir", str(pipeline.DBT_DIR), "--quiet",
                            "--target-path", str(dbt_target), "--log-path", str(dbt_target / "logs")],
                           env=env, capture_output=True, text=True)
        if r.returncode:
            raise SystemExit("dbt build failed:\n" + r.stdout[-3000:] + r.stderr[-2000:])
    stage(results, "dbt_build", build, rows_in=landed_rows)
    from orchestration.marts import ALL_MARTS
    mart_rows = table_rows(db, list(ALL_MARTS))
    results[-1]["rows_out"] = mart_rows
    results[-1]["rows_out_all_tables"] = table_rows(db)
    done = stage(results, "suppression", lambda: pipeline.complete_suppression_on_build(config, db), rows_in=mart_rows)
    results[-1]["counts_withheld"] = done["counts_withheld_by_completion"]
    g2 = stage(results, "gate2", lambda: run_gate2(config, cycle, db, landing.landing_dir, []), rows_in=mart_rows)
    results[-1]["checks"] = len(g2.results)
    audit = pipeline.audit_rows(cycle, "benchmark", None, landing, g1, g2)
    seeded = None
    if full_year:       # not timed: the year's earlier publications, which the last cycle's publish carries
        t0 = time.time()
        seeded = seed_earlier_cycles(config, cycle, db, landing.landing_dir, db.parent)
        print(f"  (seeded {len(seeded['cycles'])} earlier cycles, {seeded['rows']:,} mart rows, in "
              f"{time.time() - t0:.0f} s, not timed)", flush=True)
    version = stage(results, "publish", lambda: publish(config, cycle, db, landing.landing_dir, audit), rows_in=mart_rows)
    published_rows = parquet_rows(config.published / version / "parquet")
    results[-1]["rows_out"] = published_rows
    stage(results, "report", lambda: write_report(config, cycle, config.published / version, version, [g1, g2]),
          rows_in=published_rows)
    total = sum(r["seconds"] for r in results if r["stage"] != "generate")
    peak = max(r["peak_rss_mib"] for r in results if r["stage"] != "generate")
    for r in results:
        r["ratio_to_floor"] = round(r["seconds"] / floor_s, 2) if r["stage"] != "generate" else None
    doc = {"scale": scale, "students": students, "schools": schools, "cycle": cycle.id,
           "date": time.strftime("%Y-%m-%d"), "started_utc": started, "machine": machine(),
           "load_average": {"start": load_start, "end": load_average(),
                            "note": "1, 5 and 15 min load averages; the machine may be shared with other work, "
                                    "which slows every stage and the floor alike"},
           "duckdb_memory_limit": os.environ.get("TUTORING_IMPACT_DUCKDB_MEMORY", "6GB"),
           "input_files": len(files), "input_gib": round(size / 2**30, 3), "input_rows": floor_rows,
           "floor_seconds": round(floor_s, 2), "floor_cold_seconds": round(floor_cold_s, 2), "floor_serial_files": serial, "stages": results, "pipeline_seconds": round(total, 2),
           "peak_rss_mib": peak, "ratio_to_floor": round(total / floor_s, 2),
           "landing_tables": table_rates(landing), "landing_stage_seconds": landing.stage_seconds,
           "dbt_slowest": dbt_timings(dbt_target),
           "gate1": g1.status, "gate2": g2.status, "published": version,
           "publish_into": ("a school year already holding the earlier cycles " + ", ".join(seeded["cycles"])
                            + f" ({seeded['rows']:,} mart rows, each a relabelled copy of this cycle's marts)")
           if seeded and seeded["cycles"] else "an empty school year (--empty-year)",
           "earlier_cycles_seeded": seeded,
           "targets": {"district_seconds": 600, "peak_rss_mib": 8192, "ratio_to_floor": 5}}
    out = ROOT / "bench" / "results" / (f"{scale}.json" if full_year else f"{scale}-empty-year.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1))
    print_table(doc)
    print(f"gates: {g1.status} / {g2.status}; wrote {out}")
    return doc


if __name__ == "__main__":
    # default: the last cycle publishes into a year holding the earlier ones (as in operation);
    # --empty-year: into an empty year (the benchmark before 2026-12-01)
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(args[0] if args else "demo", full_year="--empty-year" not in sys.argv[1:])
