"""Write-audit-publish (DESIGN §2, §10): versions, the atomic `current`, accumulation, retention,
rollback, and a failed write that leaves `current` exactly as it was."""
from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import duckdb
import pytest

from conftest import write_config
from orchestration.config import load_config
from orchestration.publish import current_version, publish, switch_current, versions

YEAR = {"id": "2026-27", "first_day": "2026-08-17", "last_day": "2027-06-04", "breaks": []}


def fake_build(path: Path, cycle_id: str, n: int) -> Path:
    con = duckdb.connect(str(path))
    con.execute(f"create table tier_distribution as select '{cycle_id}' as cycle_id, 'reading' as subject, 'ALL' as "
                f"school_id, 'ALL' as grade, {n} as n_students, false as suppressed")
    con.execute(f"create table student_tiers as select '{cycle_id}' as cycle_id, 'k' || i as student_key, "
                f"'stu-' || i as student_id, 1 as tier from range({n}) t(i)")
    con.close()
    return path


def tree_hashes(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def cfg(tmp_path):
    c = load_config(write_config(tmp_path, YEAR, publish={"retention": 3}))
    c.landing.mkdir(parents=True)
    return c


def audit(cycle):
    return [{"cycle_id": cycle.id, "run_id": "r1", "source_file": "sis/users.csv", "rows_read": 3}]


def test_publish_accumulates_cycles_and_swaps_current(cfg, tmp_path):
    c1, c2 = cfg.cycles[0], cfg.cycles[1]
    v1 = publish(cfg, c1, fake_build(tmp_path / "b1.duckdb", c1.id, 20), cfg.landing, audit(c1))
    assert v1 == f"{c1.id}/v1" and current_version(cfg) == v1
    v2 = publish(cfg, c2, fake_build(tmp_path / "b2.duckdb", c2.id, 30), cfg.landing, audit(c2))
    assert current_version(cfg) == v2
    cur = cfg.published / "current"
    con = duckdb.connect(str(cur / "marts_aggregate.duckdb"), read_only=True)
    assert con.execute("select cycle_id, n_students from tier_distribution order by 1").fetchall() == [(c1.id, 20), (c2.id, 30)]
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert "student_tiers" not in tables and "cycle_audit" in tables     # restricted marts stay out
    con.close()
    con = duckdb.connect(str(cur / "marts_restricted.duckdb"), read_only=True)
    assert con.execute("select count(*) from student_tiers").fetchone()[0] == 50
    con.close()
    assert oct((cur / "marts_restricted.duckdb").stat().st_mode & 0o777) == "0o640"
    assert oct((cur / "marts_aggregate.duckdb").stat().st_mode & 0o777) == "0o644"
    assert oct((cur / "parquet" / "student_tiers.parquet").stat().st_mode & 0o777) == "0o640"
    # a rerun of a cycle replaces that cycle's rows, never duplicates them
    v3 = publish(cfg, c2, fake_build(tmp_path / "b3.duckdb", c2.id, 31), cfg.landing, audit(c2))
    assert v3 == f"{c2.id}/v2"
    got = duckdb.sql(f"select cycle_id, n_students from read_parquet('{cur}/parquet/tier_distribution.parquet') order by 1").fetchall()
    assert got == [(c1.id, 20), (c2.id, 31)]


def test_retention_keeps_the_newest_and_rollback_switches_back(cfg, tmp_path):
    c1 = cfg.cycles[0]
    made = [publish(cfg, c1, fake_build(tmp_path / f"b{i}.duckdb", c1.id, 10 + i), cfg.landing, audit(c1)) for i in range(5)]
    assert versions(cfg) == made[-3:]
    switch_current(cfg, made[-2])
    assert current_version(cfg) == made[-2]
    n = duckdb.sql(f"select n_students from read_parquet('{cfg.published / 'current/parquet/tier_distribution.parquet'}')").fetchall()
    assert n == [(13,)]


def test_disk_full_during_publish_leaves_current_intact(cfg, tmp_path, monkeypatch):
    c1, c2 = cfg.cycles[0], cfg.cycles[1]
    publish(cfg, c1, fake_build(tmp_path / "b1.duckdb", c1.id, 20), cfg.landing, audit(c1))
    before = tree_hashes(cfg.published / "current")
    link_before = os.readlink(cfg.published / "current")
    import orchestration.publish as pub

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(pub, "_fsync_tree", full)
    with pytest.raises(OSError) as e:
        publish(cfg, c2, fake_build(tmp_path / "b2.duckdb", c2.id, 30), cfg.landing, audit(c2))
    assert e.value.errno == errno.ENOSPC
    assert os.readlink(cfg.published / "current") == link_before
    assert tree_hashes(cfg.published / "current") == before
    assert not list(cfg.published.rglob(".v*.tmp-*"))          # no half-written publication left behind
    monkeypatch.undo()
    assert publish(cfg, c2, fake_build(tmp_path / "b3.duckdb", c2.id, 30), cfg.landing, audit(c2)) == f"{c2.id}/v1"


def test_published_files_use_the_storage_format_older_duckdb_reads(cfg, tmp_path):
    """DuckDB 2.0 writes storage version 999 by default, which the DuckDB 1.1 bundled with BI tools
    refuses; the serving files are written as v1.0.0 (header version number 64)."""
    import struct
    c1 = cfg.cycles[0]
    publish(cfg, c1, fake_build(tmp_path / "b1.duckdb", c1.id, 20), cfg.landing, audit(c1))
    for name in ("marts_aggregate.duckdb", "marts_restricted.duckdb"):
        head = (cfg.published / "current" / name).read_bytes()[:64]
        assert head[8:12] == b"DUCK"
        assert struct.unpack("<Q", head[12:20])[0] == 64


def test_status_counts_cycles_whose_folders_fell_to_retention_as_published(cfg, tmp_path):
    """Retention prunes old version folders, but the current publication still holds every cycle."""
    from orchestration.cli import status_rows
    for i, c in enumerate(cfg.cycles[:5]):
        publish(cfg, c, fake_build(tmp_path / f"s{i}.duckdb", c.id, 10 + i), cfg.landing,
                [dict(r, gate1_status="passed", gate2_status="passed") for r in audit(c)])
    assert len(versions(cfg)) == 3
    rows = {r["cycle_id"]: r for r in status_rows(cfg)}
    for c in cfg.cycles[:5]:
        assert rows[c.id]["state"] == "published" and rows[c.id]["published_version"] == f"{c.id}/v1", c.id
    assert rows[cfg.cycles[0].id]["gates"] == {"gate1": "passed", "gate2": "passed"}
    assert rows[cfg.cycles[5].id]["state"] == "waiting"


def test_serving_files_carried_from_the_previous_publication_match_its_parquet(cfg, tmp_path, monkeypatch):
    """The serving files start as a copy of the previous publication's (so a seventh cycle does not
    reload six cycles of history); every table must still hold exactly its Parquet's rows — after a
    new cycle, a rerun of a cycle, and a mart whose columns changed — in storage format v1.0.0."""
    import struct
    import orchestration.publish as pub
    copied = []
    real_copy = pub.shutil.copyfile
    monkeypatch.setattr(pub.shutil, "copyfile", lambda a, b: (copied.append(Path(a).name), real_copy(a, b))[1])
    c1, c2, c3 = cfg.cycles[0], cfg.cycles[1], cfg.cycles[2]
    publish(cfg, c1, fake_build(tmp_path / "b1.duckdb", c1.id, 20), cfg.landing, audit(c1))
    assert copied == []                                          # nothing to carry into the first one
    publish(cfg, c2, fake_build(tmp_path / "b2.duckdb", c2.id, 30), cfg.landing, audit(c2))
    publish(cfg, c2, fake_build(tmp_path / "b3.duckdb", c2.id, 33), cfg.landing, audit(c2))
    b4 = fake_build(tmp_path / "b4.duckdb", c3.id, 40)
    con = duckdb.connect(str(b4))
    con.execute("alter table student_tiers add column note varchar default 'new'")
    con.close()
    publish(cfg, c3, b4, cfg.landing, audit(c3))
    assert copied.count("marts_restricted.duckdb") == 3 and copied.count("marts_aggregate.duckdb") == 3
    cur = (cfg.published / "current").resolve()
    for name in ("marts_restricted.duckdb", "marts_aggregate.duckdb"):
        assert struct.unpack("<Q", (cur / name).read_bytes()[12:20])[0] == 64
        con = duckdb.connect(str(cur / name), read_only=True)
        for (t,) in con.execute("select table_name from information_schema.tables where table_schema = 'main'").fetchall():
            pq = cur / "parquet" / f"{t}.parquet"
            diff = con.execute(f"(select * from main.\"{t}\" except all select * from read_parquet('{pq}')) union all "
                               f"(select * from read_parquet('{pq}') except all select * from main.\"{t}\")").fetchall()
            assert diff == [], (name, t)
        con.close()
    con = duckdb.connect(str(cur / "marts_restricted.duckdb"), read_only=True)
    assert con.execute("select cycle_id, count(*), count(note) from student_tiers group by 1 order by 1").fetchall() == \
        [(c1.id, 20, 0), (c2.id, 33, 0), (c3.id, 40, 40)]
    con.close()
