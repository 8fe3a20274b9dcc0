"""Canonical tables: the one definition every other part reads.

Adapters produce these tables, landing writes them to ``landing/<cycle>/<table>.parquet`` with exactly
these columns and DuckDB types, the gate-1 suites are derived from them, and dbt's staging models read
them. Grain and units are stated per table; IDs are always text (leading zeros matter).
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Canonical skills in teaching order (DESIGN §4.1): the order also breaks ties, foundations first.
READING_SKILLS = (
    "phonological_awareness", "phonics", "high_frequency_words", "fluency", "vocabulary",
    "comprehension_literature", "comprehension_informational",
)
MATH_SKILLS = ("number_operations", "algebraic_thinking", "measurement_data", "geometry")
SUBJECTS = ("reading", "math", "other")
WINDOWS = ("BOY", "MOY", "EOY", "PM")
GRADES = ("PK", "K", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12")
ATTENDANCE_STATUSES = ("present", "absent_excused", "absent_unexcused", "tardy")
SESSION_STATUSES = ("attended", "student_absent", "tutor_absent", "cancelled")
TUTOR_TYPES = ("teacher", "paraprofessional", "vendor", "community_partner", "volunteer")
RESPONDENT_TYPES = ("student", "tutor", "family")

# The fixed list of quarantine reason codes (DESIGN §4.4).
REASONS = (
    "missing_required", "bad_date", "bad_number", "out_of_range", "unknown_code", "duplicate_key",
    "unmatched_student", "future_date", "implausible_minutes", "wrong_school_year", "malformed_row",
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "VARCHAR"          # DuckDB type: VARCHAR, DATE, TIMESTAMP, INTEGER, DOUBLE, BOOLEAN
    required: bool = False
    codes: tuple[str, ...] | None = None   # allowed values after alias mapping
    min: float | None = None
    max: float | None = None
    event_date: bool = False       # an event that cannot lie after the delivery date
    in_school_year: bool = False   # must fall inside the configured school year
    description: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    folder: str                    # the inbox folder it normally arrives in: sis, screener, tutoring
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]           # natural key: unique after supersede
    student_column: str | None = "student_id"   # resolved against the SIS identifiers
    optional: bool = True          # a delivery may omit it
    extras: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


C = Column
TABLES: dict[str, Table] = {t.name: t for t in [
    # ---------------------------------------------------------------- SIS (OneRoster + district files)
    Table("schools", "sis", "one row per school (OneRoster org of type school)", (
        C("school_id", required=True, description="OneRoster org sourcedId"),
        C("school_name", required=True),
        C("school_identifier", description="the org's identifier (often the state school code)"),
        C("org_type", description="OneRoster org type; only 'school' rows are schools"),
    ), key=("school_id",), student_column=None, optional=False),
    Table("students", "sis", "one row per student (OneRoster user with role student)", (
        C("student_id", required=True, description="OneRoster sourcedId: the district student ID"),
        C("local_id", description="OneRoster identifier"),
        C("state_id", description="state ID from userIds"),
        C("username"),
        C("first_name"), C("last_name"),
        C("grade", codes=GRADES, description="text grade PK, K, 1…12"),
        C("school_id", required=True),
        C("birth_date", "DATE"),
        C("sex"),
        C("race", description="one of OneRoster's race flags, or two_or_more"),
        C("hispanic", "BOOLEAN"),
    ), key=("student_id",), student_column=None, optional=False),
    Table("student_identifiers", "sis", "one row per student × identifier value it may appear under", (
        C("student_id", required=True),
        C("id_value", required=True),
        C("id_kind", required=True, codes=("sourcedId", "identifier", "userIds", "username")),
    ), key=("id_kind", "id_value"), student_column=None, optional=False),
    Table("teachers", "sis", "one row per teacher (OneRoster user with role teacher)", (
        C("teacher_id", required=True), C("first_name"), C("last_name"), C("email"),
        C("school_id"), C("role", description="OneRoster role: teacher, aide, administrator…"),
    ), key=("teacher_id",), student_column=None),
    Table("courses", "sis", "one row per course", (
        C("course_id", required=True), C("title"), C("subject", codes=SUBJECTS), C("school_id"),
    ), key=("course_id",), student_column=None),
    Table("classes", "sis", "one row per class section", (
        C("class_id", required=True), C("school_id", required=True), C("title"),
        C("course_id"), C("subject", codes=SUBJECTS), C("grade", codes=GRADES), C("term_id"),
    ), key=("class_id",), student_column=None),
    Table("enrollments", "sis", "one row per user × class (role student or teacher)", (
        C("enrollment_id", required=True), C("class_id", required=True), C("school_id"),
        C("user_id", required=True), C("role", required=True, codes=("student", "teacher")),
        C("is_primary", "BOOLEAN"), C("begin_date", "DATE"), C("end_date", "DATE"),
    ), key=("enrollment_id",), student_column=None),
    Table("terms", "sis", "one row per academic session (year, semester, term)", (
        C("term_id", required=True), C("title"), C("term_type"), C("start_date", "DATE"),
        C("end_date", "DATE"), C("school_year"),
    ), key=("term_id",), student_column=None),
    Table("attendance", "sis", "one row per student × school day", (
        C("student_id", required=True), C("school_id"),
        C("attendance_date", "DATE", required=True, event_date=True, in_school_year=True),
        C("status", required=True, codes=ATTENDANCE_STATUSES),
    ), key=("student_id", "attendance_date")),
    Table("student_programs", "sis", "one row per student: program flags, NULL = unknown", (
        C("student_id", required=True), C("ell", "BOOLEAN"), C("iep", "BOOLEAN"),
        C("section_504", "BOOLEAN"), C("econ_disadv", "BOOLEAN"), C("homeless", "BOOLEAN"),
        C("foster", "BOOLEAN"),
    ), key=("student_id",)),
    Table("grades", "sis", "one row per student × class × term: the mark", (
        C("student_id", required=True), C("class_id", required=True), C("term_id", required=True),
        C("mark", required=True),
    ), key=("student_id", "class_id", "term_id")),
    Table("referrals", "sis", "one row per referral of a student to tutoring", (
        C("student_id", required=True),
        C("referral_date", "DATE", required=True, event_date=True, in_school_year=True),
        C("subject", required=True, codes=SUBJECTS), C("referred_by_role"), C("reason"),
    ), key=("student_id", "referral_date", "subject")),
    Table("state_assessment", "sis", "one row per student × school year × subject: the state test result", (
        C("student_id", required=True, description="the state file's student ID (usually the state ID)"),
        C("school_year", required=True, description="the school year tested, as the config spells it (e.g. "
          "2024-25); a spring year 2025 or 2024-2025 is read as 2024-25"),
        C("subject", required=True, codes=SUBJECTS),
        C("grade", codes=GRADES, description="grade tested"),
        C("scale_score", "DOUBLE", min=0, max=100000),
        C("achievement_level", "INTEGER", required=True, min=1, max=10,
          description="the state's ordered achievement level, 1 = lowest (map labels to numbers in a YAML "
          "mapping)"),
        C("achievement_label", description="the level as the state prints it"),
        C("proficient", "BOOLEAN", description="meets the state's proficiency standard; blank = level ≥ "
          "accountability.proficient_level"),
    ), key=("student_id", "school_year", "subject")),
    # ---------------------------------------------------------------- screeners
    Table("screener_results", "screener", "one row per student × vendor × subject × test date", (
        C("student_id", required=True), C("vendor", required=True),
        C("subject", required=True, codes=SUBJECTS),
        C("window", required=True, codes=WINDOWS),
        C("test_date", "DATE", required=True, event_date=True, in_school_year=True),
        C("grade", codes=GRADES), C("scale_score", "DOUBLE", min=0, max=10000),
        C("percentile", "DOUBLE", min=1, max=99), C("vendor_level"),
        C("layout", description="the adapter that read it"),
    ), key=("student_id", "vendor", "subject", "test_date")),
    Table("screener_domains", "screener", "one row per student × vendor × subject × test date × domain", (
        C("student_id", required=True), C("vendor", required=True),
        C("subject", required=True, codes=SUBJECTS),
        C("test_date", "DATE", required=True, event_date=True),
        C("domain", required=True, description="the vendor's domain name"),
        C("domain_score", "DOUBLE"), C("domain_level_label"),
    ), key=("student_id", "vendor", "subject", "test_date", "domain")),
    # ---------------------------------------------------------------- tutoring (DATAS and extensions)
    Table("sessions", "tutoring", "one row per student at one tutoring meeting", (
        C("session_id", description="vendor key; else derived from the natural key"),
        C("student_id", required=True),
        C("subject", required=True, codes=SUBJECTS, description="from DATAS session_topic"),
        C("session_start", "TIMESTAMP", required=True, event_date=True, in_school_year=True,
          description="local date-time in the district timezone"),
        C("session_duration", "INTEGER", required=True, min=0, max=240, description="minutes"),
        C("session_ratio"), C("tutor_id"),
        C("group_id"), C("attendance_status", required=True, codes=SESSION_STATUSES),
        C("scheduled_minutes", "INTEGER", min=0, max=240), C("skill_focus"),
        C("modality"), C("during_school_day", "BOOLEAN"), C("partner_org"), C("school_id"),
        C("session_notes"),
    ), key=("session_id",), optional=False),
    Table("tutors", "tutoring", "one row per tutor", (
        C("tutor_id", required=True), C("tutor_name"), C("tutor_type", codes=TUTOR_TYPES),
        C("partner_org"), C("start_date", "DATE"), C("training_completed_date", "DATE"),
    ), key=("tutor_id",), student_column=None),
    Table("program_enrollment", "tutoring", "one row per student × subject × entry", (
        C("student_id", required=True), C("subject", required=True, codes=SUBJECTS),
        C("entry_date", "DATE", required=True), C("exit_date", "DATE"), C("exit_reason"),
        C("referral_source"),
    ), key=("student_id", "subject", "entry_date")),
    Table("observations", "tutoring", "one row per observation × rubric item", (
        C("observation_id", required=True), C("tutor_id", required=True),
        C("observed_date", "DATE", required=True, event_date=True), C("observer_role"),
        C("rubric_item", required=True), C("score", "INTEGER", required=True, min=1, max=4),
    ), key=("observation_id", "rubric_item"), student_column=None),
    Table("invoices", "tutoring", "one row per vendor invoice", (
        C("invoice_id", required=True), C("vendor", required=True),
        C("period_start", "DATE", required=True), C("period_end", "DATE", required=True),
        C("amount_usd", "DOUBLE", required=True, min=0), C("funding_source"),
    ), key=("invoice_id",), student_column=None),
    Table("family_contacts", "tutoring", "one row per contact with a student's family", (
        C("student_id", required=True),
        C("contact_date", "DATE", required=True, event_date=True), C("channel"), C("language"),
        C("outcome"),
    ), key=("student_id", "contact_date", "channel")),
    Table("scope_and_sequence", "tutoring", "one row per school (or all) × grade × subject × week", (
        C("school_id", description="blank = every school"), C("grade", required=True, codes=GRADES),
        C("subject", required=True, codes=SUBJECTS), C("week_start", "DATE", required=True),
        C("skill", required=True),
    ), key=("school_id", "grade", "subject", "week_start", "skill"), student_column=None),
    Table("surveys", "tutoring", "one row per respondent × item × survey date", (
        C("respondent_type", required=True, codes=RESPONDENT_TYPES), C("respondent_id"),
        C("student_id"), C("survey_date", "DATE", required=True, event_date=True),
        C("item", required=True), C("response", "INTEGER", required=True, min=1, max=5),
    ), key=("respondent_type", "respondent_id", "student_id", "survey_date", "item")),
]}

# Landing also writes, for every cycle, the rows it rejected (restricted: holds raw values).
QUARANTINE_COLUMNS = (
    ("source_file", "VARCHAR"), ("line", "BIGINT"), ("table_name", "VARCHAR"),
    ("column_name", "VARCHAR"), ("reason", "VARCHAR"), ("detail", "VARCHAR"), ("raw_row", "VARCHAR"),
)


def arrow_schema(table: str):
    """The pyarrow schema of a canonical table (for writing empty tables)."""
    import pyarrow as pa

    types = {"VARCHAR": pa.string(), "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us"),
             "INTEGER": pa.int32(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(), "BIGINT": pa.int64()}
    return pa.schema([(c.name, types[c.type]) for c in TABLES[table].columns])


# Tables some layouts produce on the way to a canonical one (folded in after landing).
AUX_TABLES: dict[str, Table] = {t.name: t for t in [
    Table("student_demographics", "sis", "OneRoster demographics: one row per user", (
        C("student_id", required=True), C("birth_date", "DATE"), C("sex"), C("race"), C("hispanic", "BOOLEAN"),
    ), key=("student_id",), student_column=None),
    Table("user_roles", "sis", "OneRoster 1.2 roles: one row per user × org × role", (
        C("user_id", required=True), C("role"), C("school_id"),
    ), key=("user_id", "role", "school_id"), student_column=None),
    Table("oneroster_manifest", "sis", "OneRoster manifest properties", (
        C("property_name", required=True), C("value"),
    ), key=("property_name",), student_column=None),
]}


def table(name: str) -> Table:
    return TABLES[name] if name in TABLES else AUX_TABLES[name]
