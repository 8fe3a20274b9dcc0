"""``truth.json``: what the generator planted, so tests can check the pipeline against it.

The pipeline never reads this file. Every number is defined here, exactly:

- ``seed``, ``students``, ``schools``, ``school_year``, ``effect_sd``: the generate() arguments.
- ``planted``:
  - ``inverted_school_id``: the elementary school whose ability is shifted down 1.3 SD, so fewer
    than half its students are Tier 1 in either subject (``pyramid_shape`` = inverted);
  - ``schedule_grouping_vendor``: the partner_org that forms groups at random within school ×
    grade and draws skill_focus at random (``group_coherence`` should flag it ``not_need_based``);
  - ``need_grouping_vendor``: the partner_org whose groups share the members' priority skill and
    whose skill_focus is that skill in ≈ 85 % of meetings;
  - ``under_referred_subgroup``: ``ell`` — Tier 2/3 ELL students are referred with 0.45 × the
    probability of other students with the same screener score (in the fall, and when waitlisted
    students are offered a place after MOY);
  - ``high_tutor_absence_tutor_ids``: tutors whose meetings are ``tutor_absent`` with probability
    0.20 (everyone else 0.025), sorted;
  - ``high_no_show_school_id``: the school where 45 % of the enrolled students never attend a
    session (everyone else attends with their own propensity), so it has the highest no-show rate;
  - ``plateauing_students[subject]``: sourcedIds (sorted) of fall entrants, tested at BOY before
    entry and at MOY and EOY after it, never exited, whose MOY and EOY scale scores are held below
    their BOY score (tutoring.pick_plateau; the shortfall is untutored growth, so it is not in the
    estimands): in the program ≥ 6 weeks with no gain, from the first cycle holding their MOY result;
  - ``tutor_type_effect``: the planted effect of each tutor type as a multiple of effect_sd
    (teachers 1.75, paraprofessionals and vendors 1.0, community partners 0.5; by the type of the
    student's standing group tutor).
- ``state_assessment`` (state_tests.py): proficient level, level labels, cut scores per grade,
  result counts per school year and subject, and the number of last year's bubble students
  (one level below proficient) per subject.
- ``bad_rows``: ``{cycle_id: {file path relative to the cycle's inbox folder: {reason: count}}}`` —
  rows added to the sessions files (and the repeated header rows of the legacy MAP combined file, a
  truncated copy of a row at the end of the Acme export) that the pipeline must quarantine with that
  reason code; ``duplicate_key`` counts the extra copies (the first copy is a valid row). Bad rows
  never count in any other truth number.
- ``screener_sources``: per school sourcedId, per subject, the layouts its results come in.
- ``cycles[cycle_id]`` (only the cycles written):
  - ``as_of_date`` = the cycle's end; ``delivery_date`` = end + 2 days (the ``_READY`` date);
  - ``tier_counts[subject]`` (subject ``reading`` | ``math``) = ``{"1", "2", "3": n}`` over students
    with ≥ 1 screener result in the subject dated ≤ as_of, tier from their LATEST such result by
    the vendor's basis: the percentile (< 10 ⇒ 3, < 25 ⇒ 2, else 1) for MAP, i-Ready and Star, the
    composite level for DIBELS 8 (Well Below ⇒ 3, Below ⇒ 2, else 1; levels cut at percentiles 20,
    40, 80 — screeners.DIBELS_CUTS); ``tier_counts_by_school[school_id][subject]`` the same per SIS
    school;
  - ``minutes_attended[subject][student sourcedId]`` = sum of session_duration over valid session
    rows with attendance_status ``attended`` whose session start date lies in [cycle start, cycle
    end]; only students with ≥ 1 attended minute appear;
  - ``estimands[subject]`` (only for cycles whose as_of is on or after the last MOY test day):
    treated = students enrolled in the subject (entry_date ≤ as_of) with ≥ 1 attended session dated
    ≤ as_of, having a baseline (their earliest benchmark result of the year) and a later result,
    both ≤ as_of. For a treated student τ = e(latest) − e(baseline), where e(w) = effect_sd ×
    min(1, A_w / 0.8) is the planted effect at window w in SD of the observed score at that window
    — the sample SD over the students tested in w in the student's vendor × subject × grade, the
    cell growth_z is standardised in, so τ is in growth_z units — and A_w the student's YTD
    attainment on their own test day of w (e = 0 at BOY and before entry, so τ = e(latest) for the
    usual BOY baseline). Who is referred and when depends only on the baseline result, the ELL
    flag and chance — never on a later score — and attendance only on chance, so the stratified
    estimate of DESIGN §7 recovers these means up to sampling error and a small bias (+0.005 to
    +0.008 SD in reading, ≤ +0.004 in math, over six 60,000-student districts) left by the ELL
    under-referral: at one baseline, ELL students regress toward a lower mean, and grade × band
    strata do not balance ELL. YTD attainment at a day d = attended minutes dated ≤ d / (90 ×
    non-break ISO weeks with ≥ 1 weekday in [entry, min(exit, d)]). ``itt`` = mean τ over the treated; ``adequate`` = mean τ over the treated
    whose YTD attainment at as_of is ≥ 0.8; ``dosage_0_50`` / ``dosage_50_80`` / ``dosage_80_plus``
    = mean τ over the treated with YTD attainment at as_of in [0, 0.5), [0.5, 0.8), [0.8, ∞);
    ``n_treated`` and ``n`` per group count those students; a group without students has mean null;
    ``by_partner_org[partner_org]`` = {``itt``, ``n_treated``} for the provider serving the
    student in that subject; ``by_tutor_type[tutor_type]`` the same by the type of the student's
    primary tutor (most attended sessions dated ≤ as_of, ties to the tutor seen first — the
    marts' rule). Means are rounded to 6 decimals.
- ``windows``: first and last test day per benchmark window (ISO); ``providers``: per partner_org,
  its sessions file, which SIS identifier its student_id carries, grouping, schools and subjects.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from .population import SUBJECTS, Schools, Students
from .school_calendar import Calendar
from .screeners import WINDOWS, Screening, results_frame, tiers_of_results
from .tutoring import ADEQUATE, SCHEDULE_VENDOR, NEED_VENDOR, TYPE_EFFECT, Program, attainment
from .tutoring_files import TUTOR_TYPE_NAMES, TutorRoster, session_file_name


def _mean(values: np.ndarray) -> float | None:
    return round(float(values.mean()), 6) if len(values) else None


def _tiers(tier: np.ndarray) -> dict[str, int]:
    return {str(t): int((tier == t).sum()) for t in (1, 2, 3)}


def cycle_truth(cal: Calendar, c_index: int, students: Students, schools: Schools, scr: Screening,
                prog: Program) -> dict:
    cycle = cal.cycles[c_index]
    lo, end = cal.cycle_days(cycle)
    pct, _ = results_frame(scr, end)
    tiers = tiers_of_results(scr, pct)
    sid = students.sourced_id.to_pylist()
    out = {"as_of_date": cycle.end.isoformat(),
           "delivery_date": (cycle.end + dt.timedelta(days=2)).isoformat(),
           "tier_counts": {SUBJECTS[s]: _tiers(tiers[s][tiers[s] > 0]) for s in range(2)},
           "tier_counts_by_school": {}}
    for k in range(schools.n):
        at = students.school == k
        out["tier_counts_by_school"][schools.sourced_id[k]] = {
            SUBJECTS[s]: _tiers(tiers[s][at & (tiers[s] > 0)]) for s in range(2)}
    ses = prog.sessions
    minutes = {}
    for s in range(2):
        ok = (ses.status == 0) & (ses.subject == s) & (ses.day >= lo) & (ses.day <= end)
        per = np.bincount(ses.student[ok], weights=ses.duration[ok], minlength=students.n)
        who = np.flatnonzero(per > 0)
        minutes[SUBJECTS[s]] = {sid[i]: int(per[i]) for i in who.tolist()}
    out["minutes_attended"] = minutes
    if end >= int(scr.windows.days[1].max()):
        out["estimands"] = estimands(cal, end, scr, prog)
    return out


def primary_tutor_type(ses, tutor_type: np.ndarray, enrollments: np.ndarray, end: int) -> np.ndarray:
    """Per enrollment in ``enrollments``: the type index of its primary tutor — most attended
    sessions dated ≤ end, ties to the tutor seen first (day, minute) — or -1 without one."""
    ok = (ses.status == 0) & (ses.day <= end)
    e, t, when = ses.enrollment[ok], ses.tutor[ok], ses.day[ok] * 1440 + ses.minute[ok]
    order = np.lexsort((when, t, e))
    e, t, when = e[order], t[order], when[order]
    new = np.ones(len(e), dtype=bool)
    new[1:] = (e[1:] != e[:-1]) | (t[1:] != t[:-1])
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, len(e)))
    pe, pt, first = e[starts], t[starts], when[starts]
    pick = np.lexsort((first, -counts, pe))                  # per enrollment: most, then earliest
    pe, pt = pe[pick], pt[pick]
    lead = np.ones(len(pe), dtype=bool)
    lead[1:] = pe[1:] != pe[:-1]
    best = np.full(int(max(enrollments.max(initial=-1), pe.max(initial=-1))) + 1, -1, dtype=np.int64)
    best[pe[lead]] = tutor_type[pt[lead]]
    return best[enrollments] if len(enrollments) else np.zeros(0, dtype=np.int64)


def estimands(cal: Calendar, end: int, scr: Screening, prog: Program) -> dict:
    e, ses = prog.enrollments, prog.sessions
    attended_by = np.bincount(ses.enrollment[(ses.status == 0) & (ses.day <= end)], minlength=len(e.student))
    a = attainment(cal, ses, e, np.full(len(e.student), end))
    out = {}
    for s in range(2):
        k = np.flatnonzero((e.subject == s) & (e.entry <= end) & (attended_by > 0))
        stu = e.student[k]
        have = scr.tested[:, s, stu] & (scr.day[:, s, stu] <= end)          # (3, m)
        any_ = have.any(axis=0)
        first = np.argmax(have, axis=0)
        latest = 2 - np.argmax(have[::-1], axis=0)
        ok = any_ & (latest > first)
        k, stu, first, latest = k[ok], stu[ok], first[ok], latest[ok]
        tau = scr.effect[latest, s, stu] - scr.effect[first, s, stu]
        att = a[k]
        bands = {"dosage_0_50": att < 0.5, "dosage_50_80": (att >= 0.5) & (att < ADEQUATE),
                 "dosage_80_plus": att >= ADEQUATE}
        res = {"itt": _mean(tau), "adequate": _mean(tau[att >= ADEQUATE]), "n_treated": int(len(k)),
               "n": {"itt": int(len(k)), "adequate": int((att >= ADEQUATE).sum())}}
        for name, m in bands.items():
            res[name] = _mean(tau[m])
            res["n"][name] = int(m.sum())
        by = {}
        for p, prov in enumerate(prog.providers):
            m = e.provider[k] == p
            if m.any():
                by[prov.partner_org] = {"itt": _mean(tau[m]), "n_treated": int(m.sum())}
        res["by_partner_org"] = by
        ptype = primary_tutor_type(ses, prog.tutors.type, k, end)
        by = {}
        for t, name in enumerate(TUTOR_TYPE_NAMES):
            m = ptype == t
            if m.any():
                by[name] = {"itt": _mean(tau[m]), "n_treated": int(m.sum())}
        res["by_tutor_type"] = by
        out[SUBJECTS[s]] = res
    return out


def plateau_ids(prog: Program, students: Students) -> dict[str, list[str]]:
    sid = students.sourced_id.to_pylist()
    e = prog.enrollments
    k = prog.plateau if prog.plateau is not None else np.zeros(0, dtype=np.int64)
    return {SUBJECTS[s]: sorted(sid[i] for i in e.student[k[e.subject[k] == s]].tolist()) for s in range(2)}


def build_truth(seed: int, n_students: int, n_schools: int, school_year: str, effect_sd: float,
                cal: Calendar, students: Students, schools: Schools, scr: Screening, prog: Program,
                troster: TutorRoster, written: list[int], bad_rows: dict) -> dict:
    high = np.flatnonzero(prog.tutors.high_absence)
    providers = {}
    for p, prov in enumerate(prog.providers):
        where = np.argwhere(prog.school_provider == p)
        if not len(where):
            continue
        providers[prov.partner_org] = {
            "file": f"tutoring/{session_file_name(prov.key)}",
            "student_id": "state_id" if prov.id_kind == "state" else "local_id",
            "grouping": prov.grouping, "tutor_types": sorted(set(prov.tutor_types)),
            "schools": sorted({schools.sourced_id[int(i)] for i in where[:, 0]}),
            "subjects": sorted({SUBJECTS[int(j)] for j in where[:, 1]})}
    return {
        "seed": int(seed), "students": int(n_students), "schools": int(n_schools),
        "school_year": school_year, "effect_sd": float(effect_sd),
        "planted": {
            "inverted_school_id": schools.sourced_id[schools.inverted],
            "schedule_grouping_vendor": prog.providers[SCHEDULE_VENDOR].partner_org,
            "need_grouping_vendor": prog.providers[NEED_VENDOR].partner_org,
            "under_referred_subgroup": "ell",
            "high_tutor_absence_tutor_ids": sorted(troster.tutor_id.take(high).to_pylist()),
            "high_no_show_school_id": schools.sourced_id[prog.no_show_school],
            "plateauing_students": plateau_ids(prog, students),
            "tutor_type_effect": dict(zip(TUTOR_TYPE_NAMES, TYPE_EFFECT)),
        },
        "bad_rows": bad_rows,
        "cycles": {cal.cycles[c].id: cycle_truth(cal, c, students, schools, scr, prog) for c in written},
        "windows": {WINDOWS[w]: [cal.date(int(scr.windows.days[w].min())).isoformat(),
                                 cal.date(int(scr.windows.days[w].max())).isoformat()] for w in range(3)},
        "providers": providers,
        "screener_sources": screener_sources(students, schools, scr),
    }


def screener_sources(students: Students, schools: Schools, scr: Screening) -> dict:
    """{school sourcedId: {subject: [source names of its students' results]}} (screeners.SOURCES)."""
    from .screeners import SOURCES
    out = {}
    for k in range(schools.n):
        at = students.school == k
        out[schools.sourced_id[k]] = {SUBJECTS[s]: sorted({SOURCES[int(v)] for v in np.unique(scr.source[s][at])})
                                      for s in range(2)}
    return out
