"""When cycles launch (DESIGN §10): the daily schedule's decision across a whole school year, and
the delivery sensor — tested with Dagster's own test utilities."""
from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from conftest import write_config
from orchestration.config import Config
from orchestration.schedules import delivery_fingerprint, due_cycles

YEAR = {"id": "2026-27", "first_day": "2026-08-17", "last_day": "2027-06-04",
        "breaks": [["2026-11-23", "2026-11-27"], ["2026-12-21", "2027-01-01"]]}


def test_each_cycle_is_due_from_end_plus_grace_until_the_next_is_due():
    c = Config({"school_year": YEAR})
    day, first_due = dt.date(2026, 8, 1), {}
    while day <= dt.date(2027, 7, 31):
        for cyc in due_cycles(c, day):
            first_due.setdefault(cyc.id, day)
        assert len(due_cycles(c, day)) <= 1
        day += dt.timedelta(days=1)
    assert first_due["2026-27-C1"] == dt.date(2026, 9, 30)           # 09-27 + 3 (DESIGN §5)
    assert first_due["2026-27-C4"] == dt.date(2027, 2, 3)             # across the winter break and year end
    assert first_due["2026-27-C7"] == dt.date(2027, 6, 7)             # the last cycle ends on last_day
    assert [first_due[x.id] for x in c.cycles] == [c.launch_date(x) for x in c.cycles]
    assert due_cycles(c, dt.date(2026, 9, 29)) == []


def test_fingerprint_needs_a_complete_delivery(tmp_path):
    d = tmp_path / "2026-27-C1"
    (d / "sis").mkdir(parents=True)
    (d / "sis/users.csv").write_text("a\n")
    assert delivery_fingerprint(d) is None                      # screener/ and tutoring/ still missing
    (d / "_READY").write_text("2026-09-29\n")
    fp = delivery_fingerprint(d)
    assert fp and fp == delivery_fingerprint(d)
    (d / "sis/users.csv").write_text("a,b\n")
    os.utime(d / "sis/users.csv", (time.time() + 5, time.time() + 5))
    assert delivery_fingerprint(d) != fp                        # a corrected delivery is new


@pytest.fixture
def definitions(tmp_path, monkeypatch):
    cfg = write_config(tmp_path, YEAR)
    monkeypatch.setenv("TUTORING_IMPACT_CONFIG", str(cfg))
    import importlib
    import orchestration.definitions as d
    return importlib.reload(d)


def test_schedule_and_sensor_with_dagster_test_contexts(definitions, tmp_path):
    import dagster as dg
    d = definitions
    inbox = d.CONFIG.inbox
    (inbox / "2026-27-C1" / "sis").mkdir(parents=True)
    tz = d.CONFIG.timezone
    ctx = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 9, 29, 6, tzinfo=tz))
    assert isinstance(d.cycle_schedule(ctx), dg.SkipReason)
    ctx = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 9, 30, 6, tzinfo=tz))
    reqs = d.cycle_schedule(ctx)
    assert [(r.partition_key, r.run_key) for r in reqs] == [("2026-27-C1", "scheduled-2026-27-C1")]
    # sensor: nothing complete yet, then a _READY marker launches once
    with dg.instance_for_test() as instance:
        sctx = dg.build_sensor_context(instance=instance)
        assert isinstance(d.delivery_sensor(sctx), dg.SkipReason)
        (inbox / "2026-27-C1" / "sis" / "users.csv").write_text("x\n")
        (inbox / "2026-27-C1" / "_READY").write_text("2026-09-29\n")
        sctx = dg.build_sensor_context(instance=instance)
        reqs = d.delivery_sensor(sctx)
        assert [r.partition_key for r in reqs] == ["2026-27-C1"]
        again = dg.build_sensor_context(instance=instance, cursor=sctx.cursor)
        assert isinstance(d.delivery_sensor(again), dg.SkipReason)   # same files: not twice


def test_weekly_schedule_asks_for_the_watchlist_as_of_sunday_inside_a_cycle(definitions):
    import dagster as dg
    d = definitions
    tz = d.CONFIG.timezone
    monday = dt.datetime(2026, 9, 14, 6, tzinfo=tz)                  # inside 2026-27-C1 (08-17 … 09-27)
    assert isinstance(d.weekly_schedule(dg.build_schedule_context(scheduled_execution_time=monday)), dg.SkipReason)
    (d.CONFIG.inbox / "2026-27-C1" / "sis").mkdir(parents=True)       # the delivery so far has arrived
    req = d.weekly_schedule(dg.build_schedule_context(scheduled_execution_time=monday))
    assert req.run_key == "weekly-2026-09-13" and req.tags["cycle"] == "2026-27-C1"
    assert req.run_config == {"ops": {"weekly_watchlist": {"config": {"as_of": "2026-09-13"}}}}
    # the day before a cycle's end is still weekly; the Monday after its last day is the six-week run's
    last = dt.datetime(2026, 9, 28, 6, tzinfo=tz)                     # as of 09-27 = C1's end
    assert isinstance(d.weekly_schedule(dg.build_schedule_context(scheduled_execution_time=last)), dg.SkipReason)
    summer = dt.datetime(2027, 7, 12, 6, tzinfo=tz)
    assert isinstance(d.weekly_schedule(dg.build_schedule_context(scheduled_execution_time=summer)), dg.SkipReason)


def test_definitions_snapshot(definitions):
    """The asset graph, checks, jobs and automation: an accidental change shows up here."""
    d = definitions
    repo = d.defs.get_repository_def()
    keys = {"/".join(k.path) for k in repo.asset_graph.get_all_asset_keys()}
    for t in ("landing/sessions", "landing/students", "landing/screener_results", "publication",
              "student_tiers", "tier_distribution", "student_dosage"):
        assert t in keys, t
    checks = {c.name for c in repo.asset_graph.asset_check_keys}
    assert {"gate1_sources", "gate2_marts"} <= checks
    assert sorted(j.name for j in repo.get_all_jobs() if not j.name.startswith("__")) == ["cycle", "weekly"]
    assert {s.name for s in repo.schedule_defs} == {"cycle_schedule", "weekly_schedule"}
    assert {s.name for s in repo.sensor_defs} == {"delivery_sensor", "cycle_failure_alert"}
    assert d.PARTITIONS.get_partition_keys() == [f"2026-27-C{k}" for k in range(1, 8)]
