"""Vendor layouts → canonical tables. One adapter per layout, detected from the header alone.

An adapter turns the raw text table of one file (columns ``c0…cN`` + ``__line``, see ``reader``) into
SELECT lists of *text* expressions named after canonical columns (``sources.contracts``). Typing,
code mapping and every row rule happen afterwards, the same way for every layout (``rules``).

Detection never looks at the file name or column position: each layout states the columns that
identify it; among the layouts whose identifying columns are all present, the most specific wins.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from .reader import SniffedFile

# Canonical column → accepted header spellings (normalized: lower case, single spaces). The canonical
# name itself is always accepted. DATAS's dictionaries list `session_datetime`, `sex`,
# `english_learner`, `english_language_learner` and `free_reduced_lunch` as aliases.
ALIASES: dict[str, tuple[str, ...]] = {
    "student_id": ("student id", "studentid", "student_number", "student number", "sis_id", "student_sis_id",
                   "local_student_id", "learner_id"),
    "school_id": ("school id", "schoolid", "school_code", "building_id"),
    "attendance_date": ("date", "attendance date", "calendar_date", "absence_date"),
    "status": ("attendance_status", "attendance status", "attendance_code", "code"),
    "session_start": ("session_date", "session_datetime", "session date", "session_start_time", "start_time",
                      "session_start_datetime"),
    "session_duration": ("session duration", "duration", "duration_minutes", "minutes", "session_minutes"),
    "subject": ("session_topic", "topic", "content_area", "subject_area"),
    "attendance_status_s": ("attendance_status", "status", "session_status", "attendance"),
    "ell": ("english_learner", "english_language_learner", "el", "lep"),
    "econ_disadv": ("economic_disadvantage", "free_reduced_lunch", "frl", "econ_disadvantaged",
                    "economically_disadvantaged"),
    "section_504": ("504", "section504", "plan_504"),
    "homeless": ("homeless_flag", "mckinney_vento"),
    "foster": ("foster_care", "foster_flag"),
    "iep": ("swd", "special_education", "sped"),
    "tutor_id": ("tutor id", "tutorid", "staff_id", "instructor_id"),
    "tutor_name": ("tutor name", "name"),
    "mark": ("grade", "letter_grade", "final_mark"),
    "class_id": ("class id", "section_id", "course_section_id"),
    "term_id": ("term id", "term", "marking_period"),
    "skill_focus": ("skill", "focus_skill", "skill focus"),
    "partner_org": ("vendor", "provider", "partner", "organization"),
    "amount_usd": ("amount", "invoice_amount", "total_usd", "total"),
    "score": ("rubric_score", "rating"),
    "response": ("value", "answer", "score"),
}

# Tables whose rows use a different code list for a column named like another table's.
CODE_FIELDS: dict[tuple[str, str], str] = {
    ("attendance", "status"): "attendance_status",
    ("sessions", "attendance_status"): "session_status",
}


class Header:
    """Normalized header names of one file → raw column references; remembers what was used."""

    def __init__(self, sniffed: SniffedFile):
        self.names = sniffed.normalized
        self.original = sniffed.header
        self.index: dict[str, str] = {}
        for i, n in enumerate(self.names):
            self.index.setdefault(n, f"c{i}")
        self.used: set[str] = set()

    def col(self, *names: str) -> str | None:
        for n in names:
            n = n.lower()
            for variant in (n, n.replace("_", " "), n.replace(" ", "_"), n.replace(" ", ""), n.replace("_", "")):
                if variant in self.index:
                    self.used.add(self.index[variant])
                    return self.index[variant]
        return None

    def has(self, *names: str) -> bool:
        return all(self._find(n) for n in names)

    def _find(self, n: str) -> bool:
        n = n.lower()
        return any(v in self.index for v in (n, n.replace("_", " "), n.replace(" ", "_"), n.replace(" ", ""),
                                             n.replace("_", "")))

    def known(self, name: str) -> bool:
        """The column, or one of its accepted aliases, is in the header."""
        return self._find(name) or any(self._find(a) for a in ALIASES.get(name, ()))

    def sql(self, *names: str, default: str = "NULL") -> str:
        c = self.col(*names)
        return c if c else default

    def matching(self, pattern: str) -> list[tuple[re.Match, str]]:
        out = []
        for i, n in enumerate(self.names):
            m = re.fullmatch(pattern, n)
            if m and self.index.get(n) == f"c{i}":
                out.append((m, f"c{i}"))
        return out

    def original_name(self, raw_col: str) -> str:
        return self.original[int(raw_col[1:])]

    def unused(self) -> list[str]:
        return [self.original[i] for i in range(len(self.names)) if f"c{i}" not in self.used and self.names[i]]


@dataclass
class Output:
    """Rows of one canonical table made from a file: one SELECT per block, UNION ALL-ed."""
    table: str
    selects: list[dict[str, str]]
    student_ids: dict[str, str] = field(default_factory=dict)   # candidate name → raw expression
    where: str | None = None                                     # rows of the file that belong here
    primary: bool = True                                          # its row count is the file's


@dataclass
class Layout:
    name: str
    description: str
    identify: tuple[str, ...]                     # header names that must all be present
    adapt: Callable[[Header], list[Output]]
    reject_if: tuple[str, ...] = ()               # present ⇒ not this layout
    folder: str | None = None
    setting: str | None = None                    # only when this district setting is on
    vendor: str = ""                              # who exports it (for the docs)
    # a YAML mapping (sources.mappings) carries its own per-feed settings
    date_format: str | None = None
    timezone: str | None = None
    id_pad_width: int | None = None
    mapping_path: str | None = None
    matcher: Callable[[Header], bool] | None = None
    variant: Callable[[Header], str] | None = None   # which year's layout of the vendor (manifest)

    def matches(self, h: Header) -> bool:
        if self.matcher is not None:
            return self.matcher(h)
        return all(h.known(n) for n in self.identify) and not any(h._find(n) for n in self.reject_if)

    @property
    def tables(self) -> list[str]:
        """Canonical tables it produces (from a header holding every identifying column)."""
        return TABLES_OF.get(self.name, [])


def lit(s: str | None) -> str:
    return "NULL" if s is None else "'" + s.replace("'", "''") + "'"


def canonical_select(h: Header, table: str, columns: list[str], extra_aliases: dict[str, tuple[str, ...]] | None = None,
                     constants: dict[str, str] | None = None) -> dict[str, str]:
    sel = {}
    for c in columns:
        if constants and c in constants:
            sel[c] = constants[c]
            continue
        aliases = (extra_aliases or {}).get(c, ()) + ALIASES.get(c, ())
        sel[c] = h.sql(c, *aliases)
    return sel


# ------------------------------------------------------------------------------ simple layouts
def _simple(table: str, identify: tuple[str, ...], name: str, description: str,
            extra: dict[str, tuple[str, ...]] | None = None, constants: dict[str, str] | None = None,
            reject_if: tuple[str, ...] = ()) -> Layout:
    from .contracts import TABLES

    def adapt(h: Header) -> list[Output]:
        t = TABLES[table]
        sel = canonical_select(h, table, t.names, extra, constants)
        sid = {"student_id": sel["student_id"]} if t.student_column and sel.get("student_id") != "NULL" else {}
        return [Output(table, [sel], sid)]

    return Layout(name, description, identify, adapt, reject_if, TABLES[table].folder)


def _absences(h: Header) -> list[Output]:
    """An absences-only attendance feed (config ``attendance: {feed: absences_only}``): one row per
    absence; without a status or code column every row is an unexcused absence. Landing fills the
    present days from enrollment × the school calendar."""
    from .contracts import TABLES
    sel = canonical_select(h, "attendance", TABLES["attendance"].names,
                           {"attendance_date": ALIASES["attendance_date"]})
    if sel["status"] == "NULL":
        sel["status"] = "'absent_unexcused'"
    else:       # a listed day without a code is still an absence
        sel["status"] = f"coalesce(nullif(trim({sel['status']}), ''), 'absent_unexcused')"
    return [Output("attendance", [sel], {"student_id": sel["student_id"]})]


def _sessions(h: Header) -> list[Output]:
    """DATAS sessions.csv, plain or with this project's extension columns (DESIGN §4.3)."""
    from .contracts import TABLES
    sel = canonical_select(h, "sessions", TABLES["sessions"].names,
                           {"attendance_status": ALIASES["attendance_status_s"]})
    if sel["attendance_status"] == "NULL":
        sel["attendance_status"] = "'attended'"     # plain DATAS: every row is an attended session
    return [Output("sessions", [sel], {"student_id": sel["student_id"]})]


# ------------------------------------------------------------------------------ OneRoster 1.1
def _or_orgs(h: Header) -> list[Output]:
    return [Output("schools", [{"school_id": h.sql("sourcedid"), "school_name": h.sql("name"),
                                "school_identifier": h.sql("identifier"), "org_type": f"lower({h.sql('type')})"}])]


def _or_users(h: Header) -> list[Output]:
    role = f"lower(trim({h.sql('role')}))"
    org = f"trim(split_part({h.sql('orgsourcedids')}, ',', 1))"
    uid = h.sql("userids")
    state = (f"nullif(regexp_extract({uid}, '\\{{\\s*(?:state|stateid|state_id|ssid)\\s*:\\s*([^}}]+)\\}}', 1, 'i'), '')")
    local = (f"nullif(regexp_extract({uid}, '\\{{\\s*(?:local|localid|local_id|district|sis)\\s*:\\s*([^}}]+)\\}}', 1, 'i'), '')")
    grade = f"trim(split_part({h.sql('grades')}, ',', 1))"
    students = {"student_id": h.sql("sourcedid"), "local_id": h.sql("identifier"), "state_id": state,
                "username": h.sql("username"), "first_name": h.sql("givenname"), "last_name": h.sql("familyname"),
                "grade": grade, "school_id": org, "birth_date": "NULL", "sex": "NULL", "race": "NULL",
                "hispanic": "NULL"}
    staff = {"teacher_id": h.sql("sourcedid"), "first_name": h.sql("givenname"), "last_name": h.sql("familyname"),
             "email": h.sql("email"), "school_id": org, "role": role}
    ident = []
    for kind, expr in (("sourcedId", h.sql("sourcedid")), ("identifier", h.sql("identifier")),
                       ("userIds", state), ("userIds", local), ("username", h.sql("username"))):
        ident.append({"student_id": h.sql("sourcedid"), "id_value": expr, "id_kind": lit(kind)})
    is_student = f"{role} = 'student'"
    return [Output("students", [students], where=is_student),
            Output("teachers", [staff], where=f"not ({is_student}) or {role} is null"),
            Output("student_identifiers", ident, where=is_student, primary=False)]


def _or_demographics(h: Header) -> list[Output]:
    flags = ["americanindianoralaskanative", "asian", "blackorafricanamerican",
             "nativehawaiianorotherpacificislander", "white"]
    names = ["american_indian_alaska_native", "asian", "black", "native_hawaiian_pacific_islander", "white"]
    truth = "in ('true', 't', 'yes', 'y', '1')"
    cases = " ".join(f"when lower(trim({h.sql(f)})) {truth} then '{n}'" for f, n in zip(flags, names))
    race = (f"case when lower(trim({h.sql('demographicracetwoormoreraces')})) {truth} then 'two_or_more' "
            f"{cases} else null end")
    return [Output("student_demographics", [{"student_id": h.sql("sourcedid"), "birth_date": h.sql("birthdate"),
                                             "sex": h.sql("sex"), "race": race,
                                             "hispanic": h.sql("hispanicorlatinoethnicity")}])]


def _or_classes(h: Header) -> list[Output]:
    return [Output("classes", [{"class_id": h.sql("sourcedid"), "school_id": h.sql("schoolsourcedid"),
                                "title": h.sql("title"), "course_id": h.sql("coursesourcedid"),
                                "subject": f"trim(split_part({h.sql('subjects')}, ',', 1))",
                                "grade": f"trim(split_part({h.sql('grades')}, ',', 1))",
                                "term_id": f"trim(split_part({h.sql('termsourcedids')}, ',', 1))"}])]


def _or_courses(h: Header) -> list[Output]:
    return [Output("courses", [{"course_id": h.sql("sourcedid"), "title": h.sql("title"),
                                "subject": f"trim(split_part({h.sql('subjects')}, ',', 1))",
                                "school_id": h.sql("orgsourcedid")}])]


def _or_enrollments(h: Header) -> list[Output]:
    return [Output("enrollments", [{"enrollment_id": h.sql("sourcedid"), "class_id": h.sql("classsourcedid"),
                                    "school_id": h.sql("schoolsourcedid"), "user_id": h.sql("usersourcedid"),
                                    "role": f"lower({h.sql('role')})", "is_primary": h.sql("primary"),
                                    "begin_date": h.sql("begindate"), "end_date": h.sql("enddate")}])]


def _or_sessions(h: Header) -> list[Output]:
    return [Output("terms", [{"term_id": h.sql("sourcedid"), "title": h.sql("title"), "term_type": h.sql("type"),
                              "start_date": h.sql("startdate"), "end_date": h.sql("enddate"),
                              "school_year": h.sql("schoolyear")}])]


def _or_roles(h: Header) -> list[Output]:
    """OneRoster 1.2 roles.csv: one row per user × org × role; it only confirms the role."""
    return [Output("user_roles", [{"user_id": h.sql("usersourcedid"), "role": f"lower({h.sql('role')})",
                                   "school_id": h.sql("orgsourcedid")}])]


def _or_manifest(h: Header) -> list[Output]:
    return [Output("oneroster_manifest", [{"property_name": h.sql("propertyname"), "value": h.sql("value")}])]


# ------------------------------------------------------------------------------ screeners
def _screener(vendor: str, sids: dict[str, str], subject: str, window: str, test_date: str, grade: str,
              scale: str, pct: str, level: str, layout: str) -> dict[str, str]:
    return {"student_id": "NULL", "vendor": lit(vendor), "subject": subject, "window": window,
            "test_date": test_date, "grade": grade, "scale_score": scale, "percentile": pct,
            "vendor_level": level, "layout": lit(layout)}


def _domain(vendor: str, subject: str, test_date: str, domain: str, score: str, label: str) -> dict[str, str]:
    return {"student_id": "NULL", "vendor": lit(vendor), "subject": subject, "test_date": test_date,
            "domain": domain, "domain_score": score, "domain_level_label": label}


def _map_variant(h: Header) -> str:
    return "nwea_map_cdf_2021" if h.has("subject") else "nwea_map_cdf_legacy"


def _iready_variant(h: Header) -> str:
    return "iready_diagnostic_2025" if h.has("norming window") and h.has("student state id") else "iready_diagnostic_2021"


def _map_cdf(h: Header) -> list[Output]:
    """NWEA MAP Growth Comprehensive Data File, AssessmentResults (2021+ `Subject`/`Course`, or the
    legacy `MeasurementScale`/`Discipline` layout). Goal blocks become domain rows."""
    name = _map_variant(h)
    legacy = name == "nwea_map_cdf_legacy"
    subject = h.sql("measurementscale", "discipline") if legacy else h.sql("subject")
    sids = {"StudentID": h.sql("studentid"), "Student_StateID": h.sql("student_stateid")}
    window = h.sql("termname")
    date = h.sql("teststartdate")
    res = _screener("nwea_map", sids, subject, window, date, h.sql("grade", "studentgrade"),
                    h.sql("testritscore"), h.sql("testpercentile"),
                    h.sql("achievementquintile"), name)
    goals = []
    for m, c in h.matching(r"goal(\d+)name"):
        k = m.group(1)
        goals.append(_domain("nwea_map", subject, date, c, h.sql(f"goal{k}ritscore"), h.sql(f"goal{k}adjective")))
    out = [Output("screener_results", [res], sids)]
    if goals:
        out.append(Output("screener_domains", goals, sids, primary=False))
    return out


def _iready(h: Header) -> list[Output]:
    """i-Ready Diagnostic results (ELA or Math; 2021-22 and 2025-26 layouts). The subject comes from a
    Subject column when present, else from the file's Lexile (ELA) or Quantile (Math) columns."""
    if h.has("subject"):
        subject = h.sql("subject")
    elif h.has("lexile measure") or h.has("phonics scale score") or h.has("vocabulary scale score"):
        subject = "'reading'"
    else:
        subject = "'math'"
    sids = {"Student ID": h.sql("student id"), "Student State ID": h.sql("student state id")}
    date = h.sql("completion date", "start date")
    window = h.sql("norming window", default=f"{date}")
    layout = _iready_variant(h)
    res = _screener("iready", sids, subject, window, date, h.sql("student grade", "grade"),
                    h.sql("overall scale score"), h.sql("percentile", "overall national percentile"),
                    h.sql("overall relative placement"), layout)
    doms = []
    for m, c in h.matching(r"(.+) scale score"):
        dname = m.group(1)
        if dname.startswith(("overall", "mid on grade level")):    # the overall score and a benchmark, not domains
            continue
        label = h.sql(f"{dname} relative placement", f"{dname} placement")
        doms.append(_domain("iready", subject, date, lit(h.original_name(c)[: -len(" Scale Score")]), c, label))
    out = [Output("screener_results", [res], sids)]
    if doms:
        out.append(Output("screener_domains", doms, sids, primary=False))
    return out


def _dibels(h: Header) -> list[Output]:
    """Amplify mCLASS DIBELS 8th Edition benchmark student summary; measures become domain rows."""
    sids = {"Student Primary ID": h.sql("student primary id"),
            "Primary ID - Student ID (State ID)": h.sql("primary id - student id (state id)")}
    date = h.sql("client date", "sync date")
    res = _screener("dibels8", sids, "'reading'", h.sql("benchmark period"), date,
                    h.sql("assessment grade", "enrollment grade"), h.sql("composite score"),
                    h.sql("composite - national norm percentile"), h.sql("composite level"), "dibels8_benchmark")
    doms = []
    for m, c in h.matching(r"(.+) - level"):
        dname = m.group(1)
        if dname == "composite":
            continue
        doms.append(_domain("dibels8", "'reading'", date, lit(h.original_name(c)[: -len(" - Level")]),
                            h.sql(f"{dname} - score"), c))
    out = [Output("screener_results", [res], sids)]
    if doms:
        out.append(Output("screener_domains", doms, sids, primary=False))
    return out


STAR_IDS = ("StudentSourcedID", "StudentIdentifier", "StudentStateID", "StudentUserID")


def _star_ids(h: Header) -> dict[str, str]:
    return {n: h.sql(n.lower()) for n in STAR_IDS if h.col(n.lower())}


def _star_date(h: Header) -> str:
    return h.sql("completeddatelocal", "completeddate", "launchdate")


def _star(h: Header) -> list[Output]:
    """Renaissance Star Reading overall results (SR). The window is the screening period's name."""
    sids = _star_ids(h)
    date = _star_date(h)
    res = _screener("star", sids, "'reading'", h.sql("screeningperiodwindowname", default=date), date,
                    h.sql("grade", "currentgrade"), h.sql("scaledscore", "unifiedscore"), h.sql("percentilerank"),
                    h.sql("renaissancebenchmarkcategoryname", "districtbenchmarkcategoryname"), "star_reading")
    return [Output("screener_results", [res], sids)]


def _star_skill_area(h: Header) -> list[Output]:
    """Star skill areas (SR_SkillArea): one row per domain × skill area; the domain score is kept."""
    sids = _star_ids(h)
    d = _domain("star", "'reading'", _star_date(h), h.sql("domainname"), h.sql("domainscore"),
                h.sql("skillareaname"))
    d["domain"] = f"{h.sql('domainname')}"
    d["domain_level_label"] = "NULL"
    d["domain_score"] = h.sql("domainscore")
    skill = _domain("star", "'reading'", _star_date(h),
                    f"{h.sql('domainname')} || ': ' || {h.sql('skillareaname')}",
                    h.sql("skillareamasteryscore"), "NULL")
    return [Output("screener_domains", [d], sids), Output("screener_domains", [skill], sids, primary=False)]


def _star_standards(h: Header) -> list[Output]:
    """Star dashboard standards (SR_Dashboard_Standards): domain mastery per student."""
    sids = _star_ids(h)
    d = _domain("star", "'reading'", _star_date(h), h.sql("domainname"), h.sql("domainpercentmastery"),
                h.sql("domainmasterylevel"))
    return [Output("screener_domains", [d], sids)]


def _datas_students(h: Header) -> list[Output]:
    """DATAS student file: a minimal SIS (student, school, grade, program flags)."""
    sid = h.sql("student_id")
    school = h.sql("school_id")
    students = {"student_id": sid, "local_id": sid, "state_id": "NULL", "username": "NULL", "first_name": "NULL",
                "last_name": "NULL", "grade": h.sql("current_grade_level", "grade_level", "grade"),
                "school_id": school, "birth_date": "NULL", "sex": h.sql("gender", "sex"),
                "race": h.sql("ethnicity", "race"), "hispanic": "NULL"}
    progs = canonical_select(h, "student_programs",
                             ["student_id", "ell", "iep", "section_504", "econ_disadv", "homeless", "foster"])
    ident = [{"student_id": sid, "id_value": sid, "id_kind": "'sourcedId'"}]
    schools = {"school_id": school, "school_name": h.sql("school_name"), "school_identifier": school,
               "org_type": "'school'"}
    return [Output("students", [students]),
            Output("student_programs", [progs], primary=False),
            Output("student_identifiers", ident, primary=False),
            Output("schools", [schools], primary=False)]


def _screener_canonical(h: Header) -> list[Output]:
    from .contracts import TABLES
    sel = canonical_select(h, "screener_results", TABLES["screener_results"].names,
                           constants={"layout": "'canonical'"})
    return [Output("screener_results", [sel], {"student_id": sel["student_id"]})]


LAYOUTS: list[Layout] = [
    # screeners: distinctive vendor columns first
    Layout("nwea_map_cdf", "NWEA MAP Growth CDF AssessmentResults (2021+ or legacy)",
           ("testritscore", "studentid", "teststartdate", "termname"), _map_cdf, folder="screener",
           variant=_map_variant),
    Layout("iready_diagnostic", "i-Ready Diagnostic results (ELA or Math)",
           ("student id", "overall scale score", "overall relative placement"), _iready, folder="screener",
           variant=_iready_variant),
    Layout("dibels8_benchmark", "mCLASS DIBELS 8th Edition benchmark student summary",
           ("benchmark period", "composite level", "composite score"), _dibels, folder="screener"),
    Layout("star_reading", "Renaissance Star Reading results",
           ("studentrenaissanceid", "scaledscore", "percentilerank"), _star, folder="screener"),
    Layout("star_skill_area", "Renaissance Star skill areas",
           ("studentrenaissanceid", "skillareaname", "domainscore"), _star_skill_area, folder="screener"),
    Layout("star_dashboard_standards", "Renaissance Star dashboard standards",
           ("studentrenaissanceid", "domainname", "domainpercentmastery"), _star_standards, folder="screener"),
    Layout("screener_results", "canonical screener_results",
           ("student_id", "vendor", "subject", "window", "test_date"), _screener_canonical,
           reject_if=("domain",), folder="screener"),
    _simple("screener_domains", ("student_id", "vendor", "subject", "test_date", "domain"), "screener_domains",
            "canonical screener_domains"),
    # OneRoster 1.1 / 1.2
    Layout("oneroster_orgs", "OneRoster orgs.csv", ("sourcedid", "name", "type", "parentsourcedid"), _or_orgs, folder="sis"),
    Layout("oneroster_users", "OneRoster users.csv", ("sourcedid", "role", "givenname", "familyname", "orgsourcedids"),
           _or_users, folder="sis"),
    Layout("oneroster_demographics", "OneRoster demographics.csv", ("sourcedid", "birthdate", "sex", "white"),
           _or_demographics, folder="sis"),
    Layout("oneroster_classes", "OneRoster classes.csv", ("sourcedid", "coursesourcedid", "schoolsourcedid", "classtype"),
           _or_classes, folder="sis"),
    Layout("oneroster_courses", "OneRoster courses.csv", ("sourcedid", "coursecode", "orgsourcedid", "title"),
           _or_courses, reject_if=("classtype",), folder="sis"),
    Layout("oneroster_enrollments", "OneRoster enrollments.csv",
           ("sourcedid", "classsourcedid", "usersourcedid", "role"), _or_enrollments, folder="sis"),
    Layout("oneroster_academic_sessions", "OneRoster academicSessions.csv",
           ("sourcedid", "title", "type", "startdate", "enddate", "schoolyear"), _or_sessions, folder="sis"),
    Layout("oneroster_roles", "OneRoster 1.2 roles.csv", ("sourcedid", "usersourcedid", "role", "orgsourcedid", "roletype"),
           _or_roles, folder="sis"),
    Layout("oneroster_manifest", "OneRoster manifest.csv", ("propertyname", "value"), _or_manifest, folder="sis"),
    # district SIS files
    _simple("attendance", ("student_id", "attendance_date", "status"), "attendance_daily", "daily attendance",
            extra={"attendance_date": ALIASES["attendance_date"]}),
    Layout("attendance_absences", "absences-only attendance (student, date, optional status or code)",
           ("student_id", "attendance_date"), _absences, folder="sis", setting="absences_only"),
    _simple("student_programs", ("student_id", "ell", "iep"), "student_programs", "program flags",
            reject_if=("district_id",)),
    _simple("grades", ("student_id", "class_id", "term_id", "mark"), "grades", "course marks"),
    _simple("referrals", ("student_id", "referral_date", "subject"), "referrals", "tutoring referrals"),
    _simple("state_assessment", ("student_id", "school_year", "subject", "achievement_level"), "state_assessment",
            "state assessment results"),
    Layout("datas_students", "DATAS student file (minimal SIS)", ("student_id", "district_id", "school_id",
                                                                  "current_grade_level"), _datas_students, folder="sis"),
    # tutoring
    Layout("datas_sessions", "DATAS sessions (with optional extensions)",
           ("student_id", "session_topic", "session_duration", "tutor_id"), _sessions, folder="tutoring"),
    _simple("tutors", ("tutor_id", "tutor_type"), "tutors", "tutor roster"),
    _simple("program_enrollment", ("student_id", "subject", "entry_date"), "program_enrollment", "program enrollment"),
    _simple("observations", ("observation_id", "tutor_id", "rubric_item", "score"), "observations",
            "fidelity observations"),
    _simple("invoices", ("invoice_id", "period_start", "period_end", "amount_usd"), "invoices", "vendor invoices",
            extra={"vendor": ("partner_org", "provider")}),
    _simple("family_contacts", ("student_id", "contact_date", "channel"), "family_contacts", "family contacts"),
    _simple("scope_and_sequence", ("grade", "subject", "week_start", "skill"), "scope_and_sequence",
            "Tier 1 scope and sequence", extra={"skill": ("skill",)}),
    _simple("surveys", ("respondent_type", "survey_date", "item", "response"), "surveys", "surveys",
            extra={"response": ("response",)}),
]

# Tables a layout may produce that are not canonical deliveries of their own: folded into others
# after landing (demographics → students, roles/manifest kept only in the manifest).
AUXILIARY_TABLES = ("student_demographics", "user_roles", "oneroster_manifest")


def detect(h: Header, settings: frozenset[str] = frozenset(), extra: list[Layout] = ()) -> Layout | None:
    """The most specific layout whose identifying columns are all in the header. ``extra`` are the
    district's YAML mappings: on a tie they win over a built-in layout (the district wrote them for
    exactly these files). Layouts bound to a setting (``absences_only``) count only when it is on."""
    pool = [(lay, 1) for lay in extra] + [(lay, 0) for lay in LAYOUTS]
    candidates = [(lay, pri) for lay, pri in pool if (lay.setting is None or lay.setting in settings)
                  and lay.matches(h)]
    if not candidates:
        return None
    # a layout bound to an active setting is the reading the district asked for (absences-only
    # attendance with a status column also fits the daily layout)
    return max(candidates, key=lambda c: (len(c[0].identify) + (1 if c[0].setting else 0), c[1],
                                          1 if c[0].setting else 0))[0]


def _tables_of() -> dict[str, list[str]]:
    """Tables each built-in layout produces, found by adapting a header of its identifying columns."""
    from .reader import SniffedFile
    out = {}
    for lay in LAYOUTS:
        try:
            outs = lay.adapt(Header(SniffedFile(None, "utf-8", ",", list(lay.identify), 1)))  # type: ignore[arg-type]
            out[lay.name] = sorted({o.table for o in outs})
        except Exception:   # an adapter that needs more columns than it identifies by
            out[lay.name] = []
    return out


TABLES_OF: dict[str, list[str]] = {}
TABLES_OF.update(_tables_of())


VENDORS = {
    "nwea_map_cdf": "NWEA", "iready_diagnostic": "Curriculum Associates", "dibels8_benchmark": "Amplify (mCLASS)",
    "star_reading": "Renaissance", "star_skill_area": "Renaissance", "star_dashboard_standards": "Renaissance",
    "datas_students": "DATAS (Accelerate)", "datas_sessions": "DATAS (Accelerate) and any vendor",
}
EXTRA_TABLES = {      # produced when the file has the columns (goal/domain blocks, program flags…)
    "nwea_map_cdf": ["screener_domains"], "iready_diagnostic": ["screener_domains"],
    "dibels8_benchmark": ["screener_domains"],
}


def docs_tables() -> str:
    """The recognised layouts and the canonical columns with their accepted spellings, as Markdown
    (pasted into docs/bring-your-own-extracts.md; a test keeps the two equal)."""
    from .contracts import TABLES
    out = ["| layout | vendor | identifying columns (all present) | tables produced |", "|---|---|---|---|"]
    for lay in LAYOUTS:
        vendor = VENDORS.get(lay.name) or ("OneRoster 1.1/1.2 (any SIS)" if lay.name.startswith("oneroster")
                                           else "district or vendor (canonical)")
        tables = lay.tables + [t for t in EXTRA_TABLES.get(lay.name, []) if t not in lay.tables]
        note = " (with `attendance: {feed: absences_only}`)" if lay.setting else ""
        out.append(f"| `{lay.name}` | {vendor} | {', '.join(f'`{c}`' for c in lay.identify)}{note} | "
                   f"{', '.join(tables) or '(folded into students)'} |")
    out += ["", "| table | columns (**required**) | also accepted as |", "|---|---|---|"]
    for t in TABLES.values():
        cols = ", ".join(f"**{c.name}**" if c.required else c.name for c in t.columns)
        al = "; ".join(f"{c.name}: {', '.join(ALIASES[c.name])}" for c in t.columns if c.name in ALIASES)
        out.append(f"| `{t.name}` | {cols} | {al} |")
    return "\n".join(out)


if __name__ == "__main__":
    print(docs_tables())
