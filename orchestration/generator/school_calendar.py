"""The synthetic district's school year: dates, the config it writes, and day indexing.

Only the school-year dates are computed here (first day, last day, breaks, program start); the cycle
calendar always comes from ``orchestration.config.Config`` built from the written config, so the
generator and the pipeline can never disagree about cycles.

Days are handled as integers: ``day`` = days since the school year's first day (a Monday).
"""
from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from orchestration.config import DEFAULTS, Config, Cycle

DAY = dt.timedelta(days=1)


def default_school_year(today: dt.date | None = None) -> str:
    """The last finished school year: on or after July 1 of year Y it is (Y-1)-(Y), else (Y-2)-(Y-1)."""
    today = today or dt.date.today()
    end_year = today.year if today >= dt.date(today.year, 7, 1) else today.year - 1
    return f"{end_year - 1}-{end_year % 100:02d}"


def start_year(school_year: str) -> int:
    m = re.fullmatch(r"(\d{4})-(\d{2})", str(school_year))
    if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        raise ValueError(f"school year {school_year!r} is not like 2025-26")
    return int(m.group(1))


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def year_dates(school_year: str) -> dict:
    """First day = third Monday of August; last day = first Friday of June; breaks = Thanksgiving
    week, two winter weeks from the Monday of the week holding Dec 22, the last full Mon–Fri week of
    March; the program starts four weeks after the first day."""
    y = start_year(school_year)
    first = _nth_weekday(y, 8, 0, 3)
    last = _nth_weekday(y + 1, 6, 4, 1)
    thanksgiving = _monday(_nth_weekday(y, 11, 3, 4))
    winter = _monday(dt.date(y, 12, 22))
    march_end = dt.date(y + 1, 3, 31)
    spring = _monday(march_end - dt.timedelta(days=4))   # latest Monday whose Friday is in March
    breaks = [(thanksgiving, thanksgiving + 4 * DAY), (winter, winter + 11 * DAY), (spring, spring + 4 * DAY)]
    return {"id": school_year, "first_day": first, "last_day": last, "breaks": breaks,
            "program_start_date": first + 28 * DAY}


def config_dict(school_year: str, district_name: str) -> dict:
    """The config.yml contents (DESIGN §5): school year, cycles and the default settings written out."""
    d = year_dates(school_year)
    raw = {
        "district": {"name": district_name, "timezone": "America/New_York"},
        "data_dir": "./data",
        "school_year": {"id": school_year, "first_day": d["first_day"].isoformat(),
                        "last_day": d["last_day"].isoformat(),
                        "breaks": [[a.isoformat(), b.isoformat()] for a, b in d["breaks"]]},
        "cycles": {"length_weeks": 6, "grace_days": 3},
        "program_start_date": d["program_start_date"].isoformat(),
    }
    for key in ("tiers", "mtss_bands", "dosage", "exit", "chronic_absence", "identity", "privacy",
                "gates", "impact", "costs", "attendance", "publish", "accountability", "owners"):
        value = copy.deepcopy(DEFAULTS[key])
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if v is not None}
        raw[key] = value
    return raw


@dataclass
class Calendar:
    """Day-indexed view of the configured school year."""
    config: Config
    first_day: dt.date
    last_day: dt.date
    program_start: dt.date
    n_days: int                    # calendar days first_day … last_day
    school_day: np.ndarray         # bool per day: weekday, not a break day
    break_week: np.ndarray         # bool per week (week w = days 7w … 7w+6; first_day is a Monday)
    cycles: list[Cycle]

    @classmethod
    def from_config(cls, config: Config) -> "Calendar":
        sy = config.school_year
        first, last = sy["first_day"], sy["last_day"]
        if first.weekday() != 0:
            raise ValueError("the generator's calendar starts on a Monday")
        n_days = (last - first).days + 1
        dates = [first + i * DAY for i in range(n_days)]
        school = np.array([d.weekday() < 5 and not config.is_break_day(d) for d in dates])
        n_weeks = (n_days + 6) // 7
        bw = config.break_weeks()
        break_week = np.array([first + dt.timedelta(days=7 * w) in bw for w in range(n_weeks)])
        return cls(config, first, last, config.program_start_date, n_days, school, break_week,
                   list(config.cycles))

    # -- conversions ---------------------------------------------------------------------------
    def day(self, date: dt.date) -> int:
        return (date - self.first_day).days

    def date(self, day: int) -> dt.date:
        return self.first_day + int(day) * DAY

    @property
    def n_weeks(self) -> int:
        return len(self.break_week)

    def cycle_days(self, cycle: Cycle) -> tuple[int, int]:
        return self.day(cycle.start), self.day(cycle.end)

    def cycle_of_day(self, day: np.ndarray) -> np.ndarray:
        """Cycle index (0-based) of each day."""
        ends = np.array([self.day(c.end) for c in self.cycles])
        return np.searchsorted(ends, np.asarray(day), side="left")

    def school_days(self, lo: int = 0, hi: int | None = None) -> np.ndarray:
        hi = self.n_days - 1 if hi is None else hi
        d = np.flatnonzero(self.school_day)
        return d[(d >= lo) & (d <= hi)]

    def day_strings(self, fmt: str) -> list[str]:
        """Every day of the year formatted: 'iso', 'us' (MM/DD/YYYY) or 'us_short' (M/D/YYYY)."""
        out = []
        for i in range(self.n_days):
            d = self.date(i)
            if fmt == "iso":
                out.append(d.isoformat())
            elif fmt == "us":
                out.append(f"{d.month:02d}/{d.day:02d}/{d.year}")
            else:
                out.append(f"{d.month}/{d.day}/{d.year}")
        return out

    def enrolled_weeks(self, entry: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Non-break ISO weeks with ≥ 1 weekday in [entry, end] (days; end < entry ⇒ 0) — DESIGN §7."""
        entry = np.asarray(entry, dtype=np.int64)
        end = np.minimum(np.asarray(end, dtype=np.int64), self.n_days - 1)
        first_week = entry // 7 + (entry % 7 >= 5)          # entry on a weekend: the next week
        last_week = end // 7                                # its Monday lies on or before end
        counts = np.concatenate([[0], np.cumsum(~self.break_week)])
        fw = np.clip(first_week, 0, self.n_weeks)
        lw = np.clip(last_week + 1, 0, self.n_weeks)
        n = counts[lw] - counts[fw]
        return np.where((end >= entry) & (lw > fw), n, 0)
