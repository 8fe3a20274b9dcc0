"""The published contract (DESIGN §6): every mart exists with the column names BI tools bind to,
its contract is enforced, and every column is documented."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT
from orchestration.marts import ALL_MARTS

REQUIRED = {
    "student_tiers": "cycle_id as_of_date student_key student_id school_id grade subject vendor test_date scale_score "
                     "percentile performance_level meets_benchmark tier prior_tier chronic_absence failing_grade "
                     "teacher_referred hidden_need student_name",
    "tier_distribution": "cycle_id subject school_id grade n_students n_tier1 n_tier2 n_tier3 pct_tier1 pct_tier2 "
                         "pct_tier3 pyramid_shape suppressed",
    "student_dosage": "cycle_id student_key student_id subject enrolled_weeks sessions_scheduled sessions_attended "
                      "minutes_attended attendance_rate target_minutes dosage_attainment adequate_dosage minutes_ytd "
                      "primary_tutor_id tutor_consistency distinct_tutors student_name",
    "student_growth": "cycle_id student_key student_id subject vendor baseline_date baseline_score baseline_level "
                      "latest_date latest_score latest_level growth growth_z growth_percentile band_movement tutored",
    "impact_estimates": "cycle_id subject scope_type scope_value group_name n_treated n_comparison effect_sd se ci_low "
                        "ci_high baseline_diff_sd baseline_diff_raw_sd n_treated_unmatched wwc_baseline_status suppressed",
    "student_weekly_dosage": "cycle_id student_key student_id subject week_start sessions_scheduled sessions_attended "
                             "minutes_attended meets_frequency meets_minutes",
    "tutor_fidelity": "cycle_id tutor_id tutor_type partner_org caseload sessions_delivered length_adherence "
                      "group_size_adherence tutor_absence_rate gap_alignment_rate core_alignment_rate n_observations "
                      "mean_rubric_score",
    "checkpoint_30_60_90": "cycle_id subject scope_type scope_value checkpoint_day metric category value target status "
                           "owner action_if_low n suppressed",
    "accountability_alignment": "cycle_id as_of_date subject scope_type scope_value dimension value group_name n_students "
                                "pct_prior_proficient pct_current_proficient pct_level_up n_bubble pct_bubble_served "
                                "pct_bubble_to_proficient pct_screener_proficient in_priority suppressed",
    "operational_watchlist": "cycle_id as_of_date item subject item_rank school_id tutor_id group_id student_key "
                             "student_id student_name item_value detail in_priority",
    "operational_watchlist_summary": "cycle_id as_of_date item subject n_students n_groups n_tutors n_schools suppressed",
}
CORE = [m for m in ALL_MARTS if m != "cycle_audit"]     # cycle_audit is written by the publish step, not dbt


@pytest.fixture(scope="module")
def manifest():
    target = ROOT / "dbt_project" / "target" / "manifest.json"
    r = subprocess.run([str(Path(__import__("sys").executable).parent / "dbt"), "parse", "--quiet",
                        "--project-dir", str(ROOT / "dbt_project"), "--profiles-dir", str(ROOT / "dbt_project")],
                       capture_output=True, text=True, env={**__import__("os").environ,
                                                            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"})
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(target.read_text())
    return {n["name"]: n for n in doc["nodes"].values() if n["resource_type"] == "model"}


def test_every_core_mart_is_a_dbt_model_with_an_enforced_contract(manifest):
    for m in CORE:
        assert m in manifest, m
        node = manifest[m]
        assert node["config"]["contract"]["enforced"], m
        cols = node["columns"]
        assert "cycle_id" in cols and "as_of_date" in cols, m
        undocumented = [c for c, v in cols.items() if not (v.get("description") or "").strip()]
        assert not undocumented, (m, undocumented)
        assert (node.get("description") or "").strip(), m


@pytest.mark.parametrize("mart", sorted(REQUIRED))
def test_design_column_names_exist_exactly(manifest, mart):
    missing = [c for c in REQUIRED[mart].split() if c not in manifest[mart]["columns"]]
    assert not missing, missing
