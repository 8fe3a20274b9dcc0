"""The config contract (DESIGN §5): defaults, the cycle calendar, and clear errors (exit 2)."""
from __future__ import annotations

import datetime as dt

import pytest

from conftest import cli, write_config
from orchestration.config import Config, ConfigError, load_config

YEAR = {"id": "2026-27", "first_day": "2026-08-17", "last_day": "2027-06-04",
        "breaks": [["2026-11-23", "2026-11-27"], ["2026-12-21", "2027-01-01"]]}


def test_calendar_matches_the_design_example():
    c = Config({"school_year": YEAR})
    ids = [x.id for x in c.cycles]
    assert ids == [f"2026-27-C{k}" for k in range(1, 8)]
    assert (c.cycles[0].start, c.cycles[0].end) == (dt.date(2026, 8, 17), dt.date(2026, 9, 27))
    assert (c.cycles[1].start, c.cycles[1].end) == (dt.date(2026, 9, 28), dt.date(2026, 11, 8))
    assert (c.cycles[6].start, c.cycles[6].end) == (dt.date(2027, 4, 26), dt.date(2027, 6, 4))
    assert c.launch_date(c.cycles[0]) == dt.date(2026, 9, 30)
    # cycles never move for breaks; break weeks are whole Mon–Fri weeks of break days
    assert sorted(c.break_weeks()) == [dt.date(2026, 11, 23), dt.date(2026, 12, 21), dt.date(2026, 12, 28)]


def test_short_remainder_joins_the_previous_cycle():
    c = Config({"school_year": {"id": "x", "first_day": "2026-08-17", "last_day": "2026-10-02", "breaks": []}})
    # 47 days: one 42-day cycle would leave 5 days (< half a cycle), so it joins the first
    assert [(x.start, x.end) for x in c.cycles] == [(dt.date(2026, 8, 17), dt.date(2026, 10, 2))]


def test_explicit_cycle_list():
    c = Config({"school_year": YEAR, "cycles": {"grace_days": 2, "list": [
        {"id": "fall", "start": "2026-08-17", "end": "2026-12-18"},
        {"start": "2027-01-04", "end": "2027-06-04"}]}})
    assert [x.id for x in c.cycles] == ["fall", "2026-27-C2"]


@pytest.mark.parametrize("override,key", [
    ({"tiers": {"basis": "vibes"}}, "tiers.basis"),
    ({"dosage": {"adequate_share": 1.5}}, "dosage.adequate_share"),
    ({"district": {"timezone": "Mars/Olympus"}}, "district.timezone"),
    ({"attendance": {"feed": "weekly"}}, "attendance.feed"),
    ({"alerts": {"smtp": {"host": "mail"}}}, "alerts.smtp.sender"),
    ({"school_year": {"id": "x", "first_day": "2026-13-01", "last_day": "2027-06-04"}}, "school_year.first_day"),
])
def test_bad_values_name_the_key(override, key):
    raw = {"school_year": YEAR, **override}
    with pytest.raises(ConfigError) as e:
        Config(raw)
    assert e.value.key == key


def test_bad_config_exits_2_with_the_key(tmp_path):
    path = write_config(tmp_path, YEAR, tiers={"basis": "vibes"})
    r = cli("status", "--config", str(path))
    assert r.returncode == 2
    assert "tiers.basis" in r.stderr and "percentile or level" in r.stderr


def test_missing_config_file_exits_2(tmp_path):
    r = cli("run", "--config", str(tmp_path / "nope.yml"), "--all")
    assert r.returncode == 2 and "--config" in r.stderr


def test_example_config_is_valid():
    from conftest import ROOT
    c = load_config(ROOT / "config" / "district.example.yml")
    assert c["privacy"]["min_n"] == 10 and len(c.cycles) == 7
