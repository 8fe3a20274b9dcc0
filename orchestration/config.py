"""The district configuration (DESIGN §5): loading, defaults, validation and the cycle calendar.

A bad config fails at start with the key, the value and what is allowed (``ConfigError``; the CLI
exits 2). Every other part of the pipeline reads settings from the ``Config`` object built here.
"""
from __future__ import annotations

import copy
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

DEFAULTS: dict[str, Any] = {
    "district": {"name": "Example USD", "timezone": "America/New_York"},
    "data_dir": "./data",
    "cycles": {"length_weeks": 6, "grace_days": 3},
    "tiers": {"basis": "percentile", "tier3_below": 10, "tier2_below": 25},
    "mtss_bands": {"tier1": [75, 85], "tier2": [10, 15], "tier3": [3, 5]},
    "dosage": {"session_minutes": [30, 45], "sessions_per_week": 2, "weekly_minutes": 90,
               "adequate_share": 0.8, "max_group_size": 4, "max_caseload": 40},
    "exit": {"domain_mastery_level": 3, "perpetual_weeks": 12, "perpetual_growth_percentile": 35},
    "chronic_absence": {"max_attendance_rate": 0.90, "min_enrolled_days": 10},
    "identity": {"id_match_min": 0.95},
    "privacy": {"min_n": 10, "key_env": "TUTORING_IMPACT_KEY", "restricted_group": None},
    "gates": {"quarantine_warn": 0.05, "quarantine_fail": 0.50, "volume_drop_fail": 0.20},
    "impact": {"baseline_band_sd": 0.25},
    "costs": {"in_house_hourly_usd": 35},
    "owners": [
        {"metric": "weekly_attendance_rate", "category": "participation", "owner": "School coordinator",
         "target": 0.85, "direction": "higher",
         "action_if_low": "Adjust reminders, timing, or access barriers"},
        {"metric": "minutes_per_week", "category": "dosage", "owner": "Program manager",
         "target": 90, "direction": "higher", "action_if_low": "Increase session length or frequency"},
        {"metric": "observed_session_rubric", "category": "fidelity", "owner": "Coach or supervisor",
         "target": 3.0, "direction": "higher", "action_if_low": "Retrain tutors and revisit materials"},
        {"metric": "benchmark_growth", "category": "academic_growth", "owner": "Data team",
         "target": 0.10, "direction": "higher", "action_if_low": "Refine groupings and alignment"},
        {"metric": "growth_by_subgroup", "category": "equity", "owner": "District leadership",
         "target": 0.10, "direction": "lower",
         "action_if_low": "Target access gaps and redesign supports"},
    ],
    "sources": [],
    "attendance": {"feed": "daily"},
    "publish": {"retention": 5, "postgres": {"enabled": False, "dsn_env": "TUTORING_IMPACT_PG", "lock_wait_seconds": 600}},
    "alerts": {},
    "priority": {},
    "accountability": {"state_min_n": 10, "proficient_level": 3},
}


class ConfigError(ValueError):
    """A setting is missing or not allowed: names the key, the value and what is allowed."""

    def __init__(self, key: str, value: Any, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"config key '{key}': {value!r} is not allowed; expected {allowed}")


@dataclass(frozen=True)
class Cycle:
    id: str
    index: int
    start: dt.date
    end: dt.date

    @property
    def as_of(self) -> dt.date:
        return self.end


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _date(key: str, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(key, value, "an ISO date YYYY-MM-DD") from None


def _number(key: str, value: Any, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(key, value, "a number")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(key, value, f"a number between {lo} and {hi}")
    return value


def _check_priority(p: Any) -> dict:
    """``priority: {subject, grades}`` (DESIGN §5): the district's academic priority, which the report
    leads with and the marts tag (``in_priority``). Empty = no priority."""
    if p in (None, {}):
        return {"subject": None, "grades": []}
    if not isinstance(p, dict) or set(p) - {"subject", "grades"}:
        raise ConfigError("priority", p, "a mapping {subject: reading|math, grades: [K, 1, …]}")
    if p.get("subject") not in ("reading", "math"):
        raise ConfigError("priority.subject", p.get("subject"), "reading or math")
    grades = p.get("grades")
    grades = [] if grades is None else grades if isinstance(grades, list) else [grades]
    allowed = ("PK", "K") + tuple(str(g) for g in range(1, 13))
    out = []
    for g in grades:
        if str(g).upper() not in allowed:
            raise ConfigError("priority.grades", g, "grades as text: PK, K, 1 … 12 (blank = every grade)")
        out.append(str(g).upper())
    return {"subject": p["subject"], "grades": out}


def cycles_for(school_year: dict, cycles: dict) -> list[Cycle]:
    """Cycle k starts on first_day + (k-1)·length_weeks·7 days and ends the day before the next;
    the last ends on last_day, and a remainder shorter than half a cycle joins the one before."""
    year_id = school_year["id"]
    if cycles.get("list"):
        out = []
        for i, c in enumerate(cycles["list"], start=1):
            start, end = _date(f"cycles.list[{i}].start", c["start"]), _date(f"cycles.list[{i}].end", c["end"])
            if end < start:
                raise ConfigError(f"cycles.list[{i}].end", str(end), "a date on or after its start")
            out.append(Cycle(str(c.get("id") or f"{year_id}-C{i}"), i, start, end))
        return out
    first, last = school_year["first_day"], school_year["last_day"]
    length = dt.timedelta(days=7 * int(cycles["length_weeks"]))
    starts = []
    s = first
    while s <= last:
        starts.append(s)
        s += length
    if len(starts) > 1 and (last - starts[-1]).days + 1 < length.days / 2:
        starts.pop()
    out = []
    for i, s in enumerate(starts, start=1):
        e = starts[i] - dt.timedelta(days=1) if i < len(starts) else last
        out.append(Cycle(f"{year_id}-C{i}", i, s, e))
    return out


class Config:
    """A validated district configuration. ``path`` is the file; ``data_dir`` is resolved from it."""

    def __init__(self, raw: dict, path: Path | None = None):
        self.path = path
        self.raw = _merge(DEFAULTS, raw or {})
        r = self.raw
        base = path.parent if path else Path.cwd()
        self.data_dir = (base / str(r["data_dir"])).resolve()
        tz = r["district"].get("timezone")
        try:
            self.timezone = ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError("district.timezone", tz, "an IANA time zone such as America/New_York") from None
        sy = r.get("school_year")
        if not isinstance(sy, dict) or "id" not in sy:
            raise ConfigError("school_year", sy, "a mapping with id, first_day, last_day and breaks")
        first = _date("school_year.first_day", sy.get("first_day"))
        last = _date("school_year.last_day", sy.get("last_day"))
        if last <= first:
            raise ConfigError("school_year.last_day", str(last), "a date after school_year.first_day")
        breaks = []
        for i, b in enumerate(sy.get("breaks") or []):
            if not isinstance(b, (list, tuple)) or len(b) != 2:
                raise ConfigError(f"school_year.breaks[{i}]", b, "a pair [start, end] of ISO dates")
            b0, b1 = _date(f"school_year.breaks[{i}][0]", b[0]), _date(f"school_year.breaks[{i}][1]", b[1])
            if b1 < b0:
                raise ConfigError(f"school_year.breaks[{i}]", b, "a start on or before the end")
            breaks.append((b0, b1))
        self.school_year = {"id": str(sy["id"]), "first_day": first, "last_day": last, "breaks": breaks}
        cyc = r["cycles"]
        if not cyc.get("list"):
            _number("cycles.length_weeks", cyc.get("length_weeks"), 1, 52)
        _number("cycles.grace_days", cyc.get("grace_days"), 0, 60)
        self.grace_days = int(cyc["grace_days"])
        self.cycles = cycles_for(self.school_year, cyc)
        self.program_start_date = _date("program_start_date", r.get("program_start_date", first))
        t = r["tiers"]
        if t.get("basis") not in ("percentile", "level"):
            raise ConfigError("tiers.basis", t.get("basis"), "percentile or level")
        _number("tiers.tier3_below", t["tier3_below"], 1, 99)
        _number("tiers.tier2_below", t["tier2_below"], 1, 99)
        if t["tier3_below"] > t["tier2_below"]:
            raise ConfigError("tiers.tier3_below", t["tier3_below"], "a number ≤ tiers.tier2_below")
        d = r["dosage"]
        _number("dosage.weekly_minutes", d["weekly_minutes"], 1, 2000)
        _number("dosage.sessions_per_week", d["sessions_per_week"], 1, 14)
        _number("dosage.adequate_share", d["adequate_share"], 0, 1)
        _number("dosage.max_group_size", d["max_group_size"], 1, 100)
        sm = d["session_minutes"]
        if not (isinstance(sm, list) and len(sm) == 2 and sm[0] <= sm[1]):
            raise ConfigError("dosage.session_minutes", sm, "a pair [min, max] of minutes")
        _number("identity.id_match_min", r["identity"]["id_match_min"], 0, 1)
        _number("privacy.min_n", r["privacy"]["min_n"], 1, 1000)
        for k in ("quarantine_warn", "quarantine_fail", "volume_drop_fail"):
            _number(f"gates.{k}", r["gates"][k], 0, 1)
        if r["attendance"].get("feed") not in ("daily", "absences_only"):
            raise ConfigError("attendance.feed", r["attendance"].get("feed"), "daily or absences_only")
        for i, o in enumerate(r["owners"]):
            if o.get("direction") not in ("higher", "lower"):
                raise ConfigError(f"owners[{i}].direction", o.get("direction"), "higher or lower")
        for i, s in enumerate(r["sources"] or []):
            if s.get("folder") not in (None, "sis", "screener", "tutoring"):
                raise ConfigError(f"sources[{i}].folder", s.get("folder"), "sis, screener or tutoring")
            if s.get("mode", "snapshot") not in ("snapshot", "delta"):
                raise ConfigError(f"sources[{i}].mode", s.get("mode"), "snapshot or delta")
            if s.get("kind", "local") not in ("local", "sftp", "s3"):
                raise ConfigError(f"sources[{i}].kind", s.get("kind"), "local, sftp or s3")
        from orchestration.pull import check_feeds              # pulled feeds: location, credentials by reference
        check_feeds(r["sources"], self)
        _number("publish.retention", r["publish"]["retention"], 1, 1000)
        self.priority = _check_priority(r["priority"])
        _number("accountability.state_min_n", r["accountability"]["state_min_n"], 1, 1000)
        _number("accountability.proficient_level", r["accountability"]["proficient_level"], 1, 10)
        from orchestration.alerts import check_alerts_config    # here: alerts imports ConfigError
        self.alerts = check_alerts_config(r["alerts"])

    # -- settings read everywhere -------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def cycle(self, cycle_id: str) -> Cycle:
        for c in self.cycles:
            if c.id == cycle_id:
                return c
        raise ConfigError("--cycle", cycle_id, "one of " + ", ".join(c.id for c in self.cycles))

    def previous_cycle(self, cycle_id: str) -> Cycle | None:
        c = self.cycle(cycle_id)
        return self.cycles[c.index - 2] if c.index > 1 else None

    def launch_date(self, cycle: Cycle) -> dt.date:
        """The first day the daily schedule may launch the cycle: its end + grace_days."""
        return cycle.end + dt.timedelta(days=self.grace_days)

    def is_break_day(self, day: dt.date) -> bool:
        return any(b0 <= day <= b1 for b0, b1 in self.school_year["breaks"])

    def break_weeks(self) -> set[dt.date]:
        """Mondays of ISO weeks all of whose weekdays (Mon–Fri) are break days."""
        out = set()
        for b0, b1 in self.school_year["breaks"]:
            monday = b0 - dt.timedelta(days=b0.weekday())
            while monday <= b1:
                if all(self.is_break_day(monday + dt.timedelta(days=i)) for i in range(5)):
                    out.add(monday)
                monday += dt.timedelta(days=7)
        return out

    def feed_settings(self, folder: str) -> list[dict]:
        return [s for s in self.raw["sources"] or [] if s.get("folder") in (None, folder)]

    # -- places -------------------------------------------------------------------------------
    @property
    def inbox(self) -> Path:
        return self.data_dir / "inbox"

    @property
    def landing(self) -> Path:
        return self.data_dir / "landing"

    @property
    def build_dir(self) -> Path:
        return self.data_dir / "build"

    @property
    def published(self) -> Path:
        return self.data_dir / "published"

    @property
    def secrets(self) -> Path:
        return self.data_dir / "secrets"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster"


def load_config(path: str | os.PathLike) -> Config:
    p = Path(path).resolve()
    if not p.is_file():
        raise ConfigError("--config", str(path), "the path of an existing config.yml")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError("(file)", str(p), f"valid YAML ({e})") from None
    if not isinstance(raw, dict):
        raise ConfigError("(file)", str(p), "a YAML mapping of settings")
    return Config(raw, p)


def dbt_vars(config: Config, cycle: Cycle, landing_dir: Path) -> dict[str, Any]:
    """Every setting the dbt models read, as ``--vars`` (nothing is hard-coded in SQL)."""
    r = config.raw
    prev = config.previous_cycle(cycle.id)
    d, t, b, e, ca = r["dosage"], r["tiers"], r["mtss_bands"], r["exit"], r["chronic_absence"]
    return {
        "cycle_id": cycle.id, "cycle_index": cycle.index,
        "cycle_start": cycle.start.isoformat(), "as_of_date": cycle.as_of.isoformat(),
        "previous_cycle_id": prev.id if prev else None,
        "previous_as_of_date": prev.as_of.isoformat() if prev else None,
        "school_year_id": config.school_year["id"],
        "school_year_start": config.school_year["first_day"].isoformat(),
        "school_year_end": config.school_year["last_day"].isoformat(),
        "program_start_date": config.program_start_date.isoformat(),
        "break_weeks": sorted(m.isoformat() for m in config.break_weeks()),
        "landing_dir": str(landing_dir),
        "tier_basis": t["basis"], "tier3_below": t["tier3_below"], "tier2_below": t["tier2_below"],
        "mtss_tier1_min": b["tier1"][0], "mtss_tier1_max": b["tier1"][1],
        "mtss_tier2_min": b["tier2"][0], "mtss_tier2_max": b["tier2"][1],
        "mtss_tier3_min": b["tier3"][0], "mtss_tier3_max": b["tier3"][1],
        "weekly_minutes": d["weekly_minutes"], "sessions_per_week": d["sessions_per_week"],
        "adequate_share": d["adequate_share"], "session_minutes_min": d["session_minutes"][0],
        "session_minutes_max": d["session_minutes"][1], "max_group_size": d["max_group_size"],
        "max_caseload": d["max_caseload"],
        "chronic_absence_max_rate": ca["max_attendance_rate"],
        "chronic_absence_min_days": ca["min_enrolled_days"],
        "min_n": r["privacy"]["min_n"],
        "domain_mastery_level": e["domain_mastery_level"], "perpetual_weeks": e["perpetual_weeks"],
        "perpetual_growth_percentile": e["perpetual_growth_percentile"],
        "baseline_band_sd": r["impact"]["baseline_band_sd"],
        "in_house_hourly_usd": r["costs"]["in_house_hourly_usd"],
        "owners": r["owners"],
        # accountability (DESIGN §5): the effective minimum n never goes below privacy.min_n
        "state_min_n": max(int(r["accountability"]["state_min_n"]), int(r["privacy"]["min_n"])),
        "proficient_level": int(r["accountability"]["proficient_level"]),
        "priority_subject": config.priority["subject"],
        "priority_grades": config.priority["grades"],
    }
