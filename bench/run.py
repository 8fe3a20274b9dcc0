"""`make bench SCALE=demo|district|<students>`: one full cycle, stage by stage, against the floor.

Generates the district with the project's generator (cached by size and seed under bench/cache/),
runs the last cycle's delivery (year to date, the biggest) through the same functions the Dagster
assets call — land, gate 1, dbt build, gate 2, publish, report — and measures per stage the wall
seconds, the peak RSS of the whole process tree (this process and its children, sampled from
/proc) and rows in/out. The floor is DuckDB scanning every input file once in the same run; the
ratio pipeline/floor is reported per stage and in total. Writes bench/results/<scale>.json.
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
                    "rows_in": rows_in})
    print(f"  {name:<10} {results[-1]['seconds']:>8.1f} s  {results[-1]['peak_rss_mib']:>6} MiB", flush=True)
    return out


def main(scale: str) -> dict:
    students, schools = SCALES.get(scale, (int(scale) if scale.isdigit() else 0, 0))
    if not students:
        raise SystemExit(f"SCALE must be demo, district or a number of students, not {scale!r}")
    schools = schools or max(2, students // 6000)
    from orchestration.config import load_config
    from orchestration.generator import generate
    seed, year = 2026, "2025-26"
    cache = ROOT / "bench" / "cache" / f"{students}-{schools}-{seed}"
    results: list[dict] = []
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
    config = load_config(cfg_path)
    for d in ("landing", "build", "published"):
        shutil.rmtree(config.data_dir / d, ignore_errors=True)
    cycle = config.cycles[-1]
    inbox = config.inbox / cycle.id
    files = sorted(p for p in inbox.rglob("*.csv"))
    size = sum(p.stat().st_size for p in files)

    import duckdb

    def floor():
        con = duckdb.connect()
        n = 0
        for p in files:
            n += con.execute(f"select count(*) from read_csv('{p}', all_varchar=true, header=true, "
                             f"strict_mode=false, null_padding=true)").fetchone()[0]
        return n
    t0 = time.time()
    floor_rows = floor()
    floor_s = time.time() - t0
    print(f"  floor      {floor_s:>8.1f} s  (DuckDB scans {len(files)} files, {floor_rows:,} rows, {size / 2**30:.2f} GiB)")

    from expectations.gate1 import run_gate1
    from expectations.gate2 import run_gate2
    from orchestration import pipeline
    from orchestration.publish import publish
    from orchestration.report import write_report
    from sources.landing import land_cycle
    landing = stage(results, "land", lambda: land_cycle(config, cycle.id, force=True), rows_in=floor_rows)
    results[-1]["rows_out"] = sum(landing.rows_loaded.values())
    g1 = stage(results, "gate1", lambda: run_gate1(config, landing))
    db = pipeline.build_db_path(config, cycle, "benchmark")
    db.parent.mkdir(parents=True, exist_ok=True)

    def build():
        env = dict(os.environ, **pipeline.dbt_env(config, db))
        r = subprocess.run([pipeline.dbt_executable(), *pipeline.dbt_args(config, cycle), "--project-dir",
                            str(pipeline.DBT_DIR), "--profiles-dir", str(pipeline.DBT_DIR), "--quiet"],
                           env=env, capture_output=True, text=True)
        if r.returncode:
            raise SystemExit("dbt build failed:\n" + r.stdout[-3000:] + r.stderr[-2000:])
    stage(results, "dbt_build", build)
    g2 = stage(results, "gate2", lambda: run_gate2(config, cycle, db, landing.landing_dir, []))
    audit = pipeline.audit_rows(cycle, "benchmark", None, landing, g1, g2)
    version = stage(results, "publish", lambda: publish(config, cycle, db, landing.landing_dir, audit))
    stage(results, "report", lambda: write_report(config, cycle, config.published / version, version, [g1, g2]))
    total = sum(r["seconds"] for r in results if r["stage"] != "generate")
    peak = max(r["peak_rss_mib"] for r in results if r["stage"] != "generate")
    for r in results:
        r["ratio_to_floor"] = round(r["seconds"] / floor_s, 2) if r["stage"] != "generate" else None
    doc = {"scale": scale, "students": students, "schools": schools, "cycle": cycle.id,
           "date": time.strftime("%Y-%m-%d"), "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                                         "platform": platform.platform()},
           "input_files": len(files), "input_gib": round(size / 2**30, 3), "input_rows": floor_rows,
           "floor_seconds": round(floor_s, 2), "stages": results, "pipeline_seconds": round(total, 2),
           "peak_rss_mib": peak, "ratio_to_floor": round(total / floor_s, 2),
           "gate1": g1.status, "gate2": g2.status, "published": version,
           "targets": {"district_seconds": 600, "peak_rss_mib": 8192, "ratio_to_floor": 5}}
    out = ROOT / "bench" / "results" / f"{scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1))
    print(f"\n  pipeline   {total:>8.1f} s  peak {peak} MiB  = {doc['ratio_to_floor']} × the floor "
          f"({floor_s:.1f} s)   gates: {g1.status} / {g2.status}\n  wrote {out}")
    return doc


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo")
