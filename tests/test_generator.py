"""The synthetic district generator: determinism, exact vendor layouts, a config the pipeline loads,
and a truth.json that agrees with the files it describes (tiers, minutes, bad rows, planted
structure). Small districts keep the file fast; the referral-bias test uses ~600 students."""
from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from orchestration.config import load_config  # noqa: E402
from orchestration.generator import generate  # noqa: E402
from orchestration.generator import tutoring  # noqa: E402
from orchestration.generator.school_calendar import default_school_year, year_dates  # noqa: E402
from sources.contracts import MATH_SKILLS, READING_SKILLS  # noqa: E402

REFERENCE = ROOT.parent / "shared" / "reference-extracts"
YEAR = "2025-26"
SESSION_FILES = ("sessions_brightpath.csv", "sessions_horizon.csv", "sessions_in_house.csv")
ACME_FILE = "acme_sessions_export.csv"      # Acme Tutors' own layout (config/mappings/acme_tutors.yml)


def acme_as_datas(folder: Path) -> str:
    """SQL: the Acme export's rows in DATAS columns (day-first dates, Central → district time)."""
    return f"""
        select "Learner ID" as student_id,
               case "Course" when 'Literacy Boost' then 'ela' else 'math' end as session_topic,
               substr("Session Date (DD/MM/YYYY)", 7, 4) || '-' || substr("Session Date (DD/MM/YYYY)", 4, 2) || '-'
                 || substr("Session Date (DD/MM/YYYY)", 1, 2) || ' '
                 || lpad(cast(cast(substr("Start Time", 1, 2) as int) + 1 as varchar), 2, '0')
                 || substr("Start Time", 3, 3) || ':00' as session_date,
               "Minutes" as session_duration, "Tutor Code" as tutor_id, "Session Ref" as session_id,
               case "Status" when 'P' then 'attended' when 'A' then 'student_absent' when 'TA' then 'tutor_absent'
                    else 'cancelled' end as attendance_status
        from read_csv('{folder}/tutoring/{ACME_FILE}', all_varchar=true, ignore_errors=true)"""


def screener_sql(folder: Path) -> str:
    """SQL over every generated screener file: (lid, subject, window, d, pct, tier) — tier by the
    vendor's basis (DIBELS by composite level, the rest by percentile, Star's category when the
    canonical file has no percentile)."""
    s = folder / "screener"
    parts = []
    pt = "case when pct < 10 then 3 when pct < 25 then 2 else 1 end"
    if (s / "AssessmentResults.csv").exists():
        parts.append(f"""select StudentID as lid, case Subject when 'Reading' then 'reading' else 'math' end as subject,
            split_part(TermName, ' ', 1) as term, strptime(TestStartDate, '%m/%d/%Y')::date as d,
            TestPercentile::int as pct, null::int as level_tier
            from read_csv('{s}/AssessmentResults.csv', all_varchar=true)""")
    if (s / "CombinedAssessmentResults.csv").exists():
        parts.append(f"""select StudentID, case MeasurementScale when 'Reading' then 'reading' else 'math' end,
            split_part(TermName, ' ', 1), strptime(TestStartDate, '%-m/%-d/%Y')::date, TestPercentile::int, null
            from read_csv('{s}/CombinedAssessmentResults.csv', all_varchar=true) where TermName <> 'TermName'""")
    for name, subject, window in (("diagnostic_results_ela.csv", "reading", '"Norming Window"'),
                                  ("diagnostic_results_math.csv", "math", '"Norming Window"'),
                                  ("diagnostic_results_ela_2021-2022.csv", "reading", None),
                                  ("diagnostic_results_math_2021-2022.csv", "math", None)):
        if (s / name).exists():
            d = "strptime(\"Completion Date\", '%m/%d/%Y')::date"
            term = (f"split_part({window}, ' ', 1)" if window else
                    f"case when month({d}) between 7 and 11 then 'Fall' when month({d}) in (12, 1, 2) then 'Winter' "
                    f"else 'Spring' end")
            parts.append(f"""select "Student ID", '{subject}', {term}, {d}, Percentile::int, null
                from read_csv('{s}/{name}', all_varchar=true)""")
    if (s / "BM_Student_Summary_DIBELS8.csv").exists():
        parts.append(f"""select "Student Primary ID", 'reading',
            case "Benchmark Period" when 'BOY' then 'Fall' when 'MOY' then 'Winter' else 'Spring' end,
            "Client Date"::date, "Composite - National Norm Percentile"::int,
            case "Composite Level" when 'Well Below Benchmark' then 3 when 'Below Benchmark' then 2 else 1 end
            from read_csv('{s}/BM_Student_Summary_DIBELS8.csv', all_varchar=true)""")
    if (s / "SR.csv").exists():
        parts.append(f"""select StudentIdentifier, 'reading', ScreeningPeriodWindowName,
            CompletedDateLocal[1:10]::date, PercentileRank::int, null from read_csv('{s}/SR.csv', all_varchar=true)""")
    if (s / "star_math_screener_results.csv").exists():
        parts.append(f"""select u.identifier, 'math',
            case "window" when 'BOY' then 'Fall' when 'MOY' then 'Winter' else 'Spring' end, test_date::date,
            try_cast(percentile as int),
            case when percentile = 'NULL' then case vendor_level when 'Urgent Intervention' then 3
                 when 'Intervention' then 2 else 1 end end
            from read_csv('{s}/star_math_screener_results.csv', all_varchar=true) r
            join read_csv('{folder}/sis/users.csv', all_varchar=true) u on u.sourcedId = r.student_id""")
    union = "\n union all ".join(parts)
    return (f"select lid, subject, term, d, pct, coalesce(level_tier, {pt}) as tier from ({union})")


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("district_a")
    return out, generate(400, 4, 11, out, school_year=YEAR)


@pytest.fixture(scope="module")
def larger(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("district_600")
    return out, generate(600, 3, 5, out, school_year=YEAR)


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def first_line(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.readline().rstrip("\r\n")


def inbox(root: Path, cycle: str) -> Path:
    return root / "data" / "inbox" / cycle


# ------------------------------------------------------------------------------- determinism
def test_same_seed_gives_identical_bytes(district, tmp_path):
    root, truth = district
    again = generate(400, 4, 11, tmp_path, school_year=YEAR)
    a, b = files_of(root), files_of(tmp_path)
    assert sorted(a) == sorted(b)
    different = [k for k in a if a[k] != b[k]]
    assert different == []
    assert again == truth


def test_another_seed_differs(district, tmp_path):
    root, _ = district
    generate(400, 4, 12, tmp_path, school_year=YEAR)
    a, b = files_of(root), files_of(tmp_path)
    assert a["data/inbox/2025-26-C1/sis/users.csv"] != b["data/inbox/2025-26-C1/sis/users.csv"]


def test_one_cycle_alone_equals_that_cycle_of_the_full_run(district, tmp_path):
    root, truth = district
    alone = generate(400, 4, 11, tmp_path, school_year=YEAR, only_cycle="2025-26-C3")
    full = files_of(inbox(root, "2025-26-C3"))
    single = files_of(inbox(tmp_path, "2025-26-C3"))
    assert full == single
    assert sorted(p.name for p in (tmp_path / "data" / "inbox").iterdir()) == ["2025-26-C3"]
    assert alone["cycles"]["2025-26-C3"] == truth["cycles"]["2025-26-C3"]


# ------------------------------------------------------------------------------- calendar/config
def test_default_school_year_is_the_last_finished_one():
    assert default_school_year(dt.date(2026, 12, 1)) == "2025-26"
    assert default_school_year(dt.date(2026, 7, 1)) == "2025-26"
    assert default_school_year(dt.date(2026, 6, 30)) == "2024-25"


def test_calendar_matches_the_design_example():
    d = year_dates("2026-27")
    assert d["first_day"] == dt.date(2026, 8, 17) and d["last_day"] == dt.date(2027, 6, 4)
    assert d["breaks"][0] == (dt.date(2026, 11, 23), dt.date(2026, 11, 27))
    assert d["breaks"][1] == (dt.date(2026, 12, 21), dt.date(2027, 1, 1))
    assert d["breaks"][2] == (dt.date(2027, 3, 22), dt.date(2027, 3, 26))
    assert d["program_start_date"] == dt.date(2026, 9, 14)


def test_config_loads_and_every_cycle_has_a_ready_delivery(district):
    root, truth = district
    config = load_config(root / "config.yml")
    assert config.data_dir == (root / "data").resolve()
    assert config.school_year["id"] == YEAR
    assert config.raw["privacy"]["min_n"] == 10 and config.raw["dosage"]["weekly_minutes"] == 90
    assert config.program_start_date == config.school_year["first_day"] + dt.timedelta(days=28)
    assert [c.id for c in config.cycles] == sorted(truth["cycles"]) == [f"{YEAR}-C{k}" for k in range(1, 8)]
    for c in config.cycles:
        ready = (inbox(root, c.id) / "_READY").read_text()
        assert ready == (c.end + dt.timedelta(days=2)).isoformat() + "\n"
        assert truth["cycles"][c.id]["as_of_date"] == c.end.isoformat()
        for folder in ("sis", "screener", "tutoring"):
            assert any((inbox(root, c.id) / folder).iterdir())


def test_events_lie_within_the_year_to_date(district):
    root, _ = district
    config = load_config(root / "config.yml")
    c2 = config.cycle(f"{YEAR}-C2")
    folder = inbox(root, c2.id)
    con = duckdb.connect()
    att = con.execute(f"select min(date), max(date), count(distinct date) from read_csv('{folder}/sis/attendance.csv', all_varchar=true)").fetchone()
    assert att[0] == config.school_year["first_day"].isoformat() and att[1] <= c2.end.isoformat()
    sessions = con.execute(
        f"select max(session_date) from read_csv('{folder}/tutoring/sessions_*.csv', all_varchar=true) "
        f"where session_date not like '%-13-%'").fetchone()[0]
    assert config.program_start_date.isoformat() <= sessions[:10] <= c2.end.isoformat()
    breaks = con.execute(
        f"select count(*) from read_csv('{inbox(root, f'{YEAR}-C7')}/tutoring/sessions_*.csv', all_varchar=true) "
        f"where session_date not like '%-13-%' and ("
        + " or ".join(f"substr(session_date, 1, 10) between '{a}' and '{b}'" for a, b in config.school_year["breaks"])
        + ")").fetchone()[0]
    assert breaks == 0


# ------------------------------------------------------------------------------- layouts
def test_screener_headers_match_the_reference_extracts(district):
    if not REFERENCE.exists():
        pytest.skip("shared/reference-extracts not beside the repository")
    root, _ = district
    folder = inbox(root, f"{YEAR}-C1") / "screener"
    assert first_line(folder / "AssessmentResults.csv") == first_line(
        REFERENCE / "nwea-map-growth" / "AssessmentResults_sample.csv")
    for name, ref in (("diagnostic_results_ela.csv", "diagnostic_results_ela_sample.csv"),
                      ("diagnostic_results_math.csv", "diagnostic_results_math_sample.csv")):
        ours, theirs = (folder / name).read_bytes(), (REFERENCE / "iready" / ref).read_bytes()
        assert ours.startswith(b"\xef\xbb\xbf") and theirs.startswith(b"\xef\xbb\xbf")
        assert ours.split(b"\r\n", 1)[0] == theirs.split(b"\r\n", 1)[0]
    with open(folder / "AssessmentResults.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert all(len(r) == 143 for r in rows)
    raw = (folder / "AssessmentResults.csv").read_text(encoding="utf-8").splitlines()[1]
    assert raw.startswith('"Fall 2025-2026",') and ',"",' in raw       # quoted like the sample


def test_sis_and_tutoring_headers(district):
    root, _ = district
    folder = inbox(root, f"{YEAR}-C1")
    expected = {
        "sis/orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
        "sis/users.csv": "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
                         "givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password",
        "sis/enrollments.csv": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,"
                               "role,primary,beginDate,endDate",
        "sis/attendance.csv": "student_id,school_id,date,status",
        "sis/student_programs.csv": "student_id,ell,iep,section_504,econ_disadv,homeless,foster",
        "tutoring/program_enrollment.csv": "student_id,subject,entry_date,exit_date,exit_reason,referral_source",
    }
    for rel, header in expected.items():
        assert first_line(folder / rel) == header, rel
    datas = "student_id,session_topic,session_date,session_duration,session_ratio,tutor_id"
    if REFERENCE.exists():
        datas = first_line(REFERENCE / "datas" / "session_template_header.csv")
    for name in SESSION_FILES[:3]:
        assert first_line(folder / "tutoring" / name).startswith(datas + ",session_id,group_id,")
    users = (folder / "sis" / "users.csv").read_text(encoding="utf-8")
    assert '"{LocalID:' in users and "},{StateID:" in users


# ------------------------------------------------------------------------------- truth vs files
def _latest_tiers(folder: Path) -> list[tuple]:
    con = duckdb.connect()
    sql = f"""
    with results as ({screener_sql(folder)}),
    latest as (select lid as sid, subject, arg_max(tier, d) as tier from results group by lid, subject),
    schools as (select identifier as sid, orgSourcedIds as school_id
                from read_csv('{folder}/sis/users.csv', all_varchar=true) where role = 'student')
    select school_id, subject, tier::varchar as tier, count(*) from latest join schools using (sid)
    group by all order by all"""
    return con.execute(sql).fetchall()


@pytest.mark.parametrize("cycle", ["C1", "C4", "C7"])
def test_tier_counts_agree_with_the_screener_files(district, cycle):
    root, truth = district
    cid = f"{YEAR}-{cycle}"
    rows = _latest_tiers(inbox(root, cid))
    t = truth["cycles"][cid]
    by_school: dict = {}
    overall: dict = {}
    for school, subject, tier, n in rows:
        by_school.setdefault(school, {}).setdefault(subject, {"1": 0, "2": 0, "3": 0})[tier] = n
        overall.setdefault(subject, {"1": 0, "2": 0, "3": 0})
        overall[subject][tier] += n
    assert overall == t["tier_counts"]
    assert by_school == {k: v for k, v in t["tier_counts_by_school"].items() if any(sum(x.values()) for x in v.values())}
    assert sum(overall["reading"].values()) > 0.9 * 400


def test_the_inverted_school_has_an_inverted_pyramid(district):
    _, truth = district
    inverted = truth["planted"]["inverted_school_id"]
    counts = truth["cycles"][f"{YEAR}-C1"]["tier_counts_by_school"]
    for subject in ("reading", "math"):
        mine = counts[inverted][subject]
        assert mine["1"] / sum(mine.values()) < 0.5
        others = [c[subject] for k, c in counts.items() if k != inverted]
        share = sum(c["1"] for c in others) / sum(sum(c.values()) for c in others)
        assert share > 0.65


def _valid_sessions(con, folder: Path, name: str):
    return con.execute(f"""
        select * from read_csv('{folder}/tutoring/{name}', all_varchar=true)""").fetchall()


def test_bad_rows_are_exactly_those_recorded(district):
    root, truth = district
    cid = f"{YEAR}-C5"
    folder = inbox(root, cid)
    con = duckdb.connect()
    ids = {r[0] for r in con.execute(f"""
        select unnest([sourcedId, identifier, username]) from read_csv('{folder}/sis/users.csv', all_varchar=true)
        union select unnest(regexp_extract_all(userIds, ':([0-9]+)', 1))
        from read_csv('{folder}/sis/users.csv', all_varchar=true)""").fetchall()}
    recorded = truth["bad_rows"][cid]
    assert set(recorded) == ({f"tutoring/{n}" for n in SESSION_FILES + (ACME_FILE,) if (folder / "tutoring" / n).exists()}
                             | {"screener/CombinedAssessmentResults.csv"})
    total_rows = total_bad = 0
    for rel, reasons in recorded.items():
        reasons = dict(reasons)
        if rel.startswith("screener/"):
            lines = (folder / rel).read_text(encoding="utf-8").splitlines()
            assert reasons == {"malformed_row": lines[1:].count(lines[0])}
            continue
        with open(folder / rel, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        if rel.endswith(ACME_FILE):
            # the cut-off last line, then Acme's columns under DATAS names
            assert reasons.pop("malformed_row") == 1 and rows[-1]["Minutes"] is None
            rows = [{"student_id": r["Learner ID"], "session_duration": r["Minutes"],
                     "session_date": r["Session Date (DD/MM/YYYY)"][6:] + "-" + r["Session Date (DD/MM/YYYY)"][3:5],
                     "session_id": r["Session Ref"], **r} for r in rows[:-1]]
        found = {
            "unmatched_student": sum(r["student_id"] not in ids for r in rows),
            "implausible_minutes": sum(r["session_duration"].isdigit() and int(r["session_duration"]) > 240 for r in rows),
            "bad_number": sum(not r["session_duration"].isdigit() for r in rows),
            "bad_date": sum(r["session_date"][5:7] == "13" for r in rows),
            "duplicate_key": len(rows) - len({tuple(r.values()) for r in rows}),
        }
        assert found == reasons, rel
        assert len({r["session_id"] for r in rows}) == len(rows) - reasons["duplicate_key"]
        total_rows += len(rows)
        total_bad += sum(reasons.values())
    assert 0 < total_bad < 0.05 * total_rows


def test_minutes_attended_agree_with_the_sessions_files(district):
    root, truth = district
    cid = f"{YEAR}-C4"
    folder = inbox(root, cid)
    config = load_config(root / "config.yml")
    cycle = config.cycle(cid)
    con = duckdb.connect()
    rows = con.execute(f"""
        with ids as (
            select sourcedId, identifier as id from read_csv('{folder}/sis/users.csv', all_varchar=true)
            union all
            select sourcedId, regexp_extract(userIds, 'StateID:([0-9]+)', 1)
            from read_csv('{folder}/sis/users.csv', all_varchar=true) where role = 'student'),
        s as (select distinct student_id, session_topic, session_date, session_duration, tutor_id, session_id,
                     attendance_status
              from read_csv('{folder}/tutoring/sessions_*.csv', all_varchar=true, union_by_name=true)
              union select distinct * from ({acme_as_datas(folder)}) where session_duration is not null)
        select case session_topic when 'ela' then 'reading' else 'math' end, sourcedId,
               sum(session_duration::int)
        from s join ids on s.student_id = ids.id
        where attendance_status = 'attended' and session_duration not like '%abc%'
          and session_duration::int <= 240 and session_date not like '%-13-%'
          and session_date[1:10] between '{cycle.start}' and '{cycle.end}'
        group by all having sum(session_duration::int) > 0""").fetchall()
    found: dict = {"reading": {}, "math": {}}
    for subject, sid, minutes in rows:
        found[subject][sid] = int(minutes)
    assert found == truth["cycles"][cid]["minutes_attended"]
    assert len(found["reading"]) > 10 and len(found["math"]) > 10


def test_skill_focus_and_statuses_use_canonical_codes(district):
    root, _ = district
    folder = inbox(root, f"{YEAR}-C7")
    con = duckdb.connect()
    skills = {r[0] for r in con.execute(
        f"select distinct skill_focus from read_csv('{folder}/tutoring/sessions_*.csv', all_varchar=true)").fetchall()}
    assert skills <= set(READING_SKILLS) | set(MATH_SKILLS)
    statuses = dict(con.execute(
        f"select attendance_status, count(*) from read_csv('{folder}/tutoring/sessions_*.csv', all_varchar=true) "
        f"group by 1").fetchall())
    assert set(statuses) == {"attended", "student_absent", "tutor_absent", "cancelled"}
    assert statuses["attended"] / sum(statuses.values()) > 0.6


# ------------------------------------------------------------------------------- planted structure
def test_ell_is_the_most_under_referred_group_among_need(larger):
    root, truth = larger
    assert truth["planted"]["under_referred_subgroup"] == "ell"
    folder = inbox(root, f"{YEAR}-C1")
    s = folder / "screener"
    con = duckdb.connect()
    rows = con.execute(f"""
        with boy as (select lid, case subject when 'reading' then 'ELA' else 'Math' end as subject, pct
                     from ({screener_sql(folder)}) where term = 'Fall'),
        users as (select sourcedId, identifier as lid from read_csv('{folder}/sis/users.csv', all_varchar=true)),
        need as (select sourcedId, subject from boy join users using (lid) where pct < 25),
        referred as (select distinct student_id as sourcedId, subject from read_csv('{folder}/sis/referrals.csv', all_varchar=true)),
        flags as (unpivot (select * from read_csv('{folder}/sis/student_programs.csv', all_varchar=true))
                  on ell, iep, section_504, econ_disadv, homeless, foster into name grp value flag)
        select grp, count(*) as n_need, avg(case when r.sourcedId is null then 0 else 1 end) as rate
        from need n join flags f on f.student_id = n.sourcedId and f.flag = 'Y'
        left join referred r on r.sourcedId = n.sourcedId and r.subject = n.subject
        group by grp having count(*) >= 20 order by rate""").fetchall()
    assert rows[0][0] == "ell", rows
    assert rows[0][2] < 0.75 * rows[1][2]


def test_post_moy_entrants_are_offered_places_on_their_baseline(larger):
    """Students entering after MOY come off the baseline waitlist: with a BOY result they were Tier
    2/3 on it. Referring them on the MOY score would select on the outcome (growth_z runs from BOY),
    which no estimator conditioning on the baseline can undo."""
    root, truth = larger
    folder = inbox(root, f"{YEAR}-C7")
    s = folder / "screener"
    moy_start = truth["windows"]["MOY"][0]
    con = duckdb.connect()
    rows = con.execute(f"""
        with boy as (select lid, subject, pct from ({screener_sql(folder)}) where term = 'Fall'),
        late as (select student_id as lid, subject from read_csv('{folder}/tutoring/program_enrollment.csv', all_varchar=true)
                 where entry_date > '{moy_start}')
        select late.subject, boy.pct from late left join boy using (lid, subject)""").fetchall()
    with_boy = [pct for _, pct in rows if pct is not None]
    assert len(with_boy) >= 10, rows
    assert max(with_boy) < 25, sorted(with_boy)


def test_the_planted_effect_is_in_growth_z_units():
    """effect_sd is in SD of the observed score in the cell growth_z standardises in (vendor ×
    subject × grade × window, all tested students), so truth's τ and growth_z share one unit."""
    import numpy as np
    from orchestration.config import Config
    from orchestration.generator import population, screeners, tutoring
    from orchestration.generator.school_calendar import Calendar, config_dict

    schools = population.make_schools(4, 4)
    cal = Calendar.from_config(Config(config_dict(YEAR, schools.district_name), Path("config.yml")))
    pupils = population.make_students(4, 1500, schools, 2025)
    scr = screeners.simulate(4, pupils, schools, cal)
    tutoring.simulate(4, pupils, schools, cal, scr, 0.2)
    for w in (1, 2):
        for s in range(2):
            x = scr.x(w, s)
            tutored = scr.tested[w, s] & (scr.effect[w, s] > 0)
            assert tutored.sum() > 50
            for i in np.flatnonzero(tutored)[:40]:
                cell = scr.tested[w, s] & (scr.measure(s) == scr.measure(s)[i]) & (pupils.grade == pupils.grade[i])
                assert scr.effect_unit[w, s, i] == pytest.approx(x[cell].std(ddof=1), rel=1e-3)


def test_dosage_spreads_over_all_three_bands(larger):
    _, truth = larger
    est = truth["cycles"][f"{YEAR}-C7"]["estimands"]
    for subject in ("reading", "math"):
        n = est[subject]["n"]
        assert n["itt"] >= 40
        for band in ("dosage_0_50", "dosage_50_80", "dosage_80_plus"):
            assert n[band] >= 0.1 * n["itt"], (subject, n)
        # effect_sd 0.2 × the tutor type's planted multiple (teachers 1.75) bounds every band's mean
        top = 0.2 * max(tutoring.TYPE_EFFECT)
        assert 0 < est[subject]["dosage_0_50"] < est[subject]["dosage_50_80"] < est[subject]["dosage_80_plus"] <= top
    assert "estimands" not in truth["cycles"][f"{YEAR}-C3"]
    assert "estimands" in truth["cycles"][f"{YEAR}-C4"]


def test_zero_effect_means_zero_estimands(tmp_path):
    truth = generate(400, 2, 3, tmp_path, school_year=YEAR, effect_sd=0.0)
    seen = 0
    for cycle in truth["cycles"].values():
        for subject, est in cycle.get("estimands", {}).items():
            for group in ("itt", "adequate", "dosage_0_50", "dosage_50_80", "dosage_80_plus"):
                assert est[group] in (0.0, None), (subject, group)
            seen += est["n_treated"]
    assert seen > 0
    assert set(truth["planted"]) >= {"inverted_school_id", "schedule_grouping_vendor", "need_grouping_vendor",
                                     "under_referred_subgroup", "high_tutor_absence_tutor_ids"}


def test_truth_file_is_the_returned_truth(district):
    root, truth = district
    text = (root / "truth.json").read_text(encoding="utf-8")
    assert json.loads(text) == truth
    assert text == json.dumps(truth, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    assert truth["planted"]["high_tutor_absence_tutor_ids"]
