"""Shared test setup: telemetry off, paths to the reference extracts, and small district builders."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "reference-extracts"


def cli(*args: str, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the installed command line exactly as a user would (a separate process)."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "orchestration.cli", *args], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=timeout)


def write_config(folder: Path, school_year: dict, **extra) -> Path:
    cfg = {"district": {"name": "Test USD", "timezone": "America/New_York"}, "data_dir": "./data",
           "school_year": school_year, "cycles": {"length_weeks": 6, "grace_days": 3}, **extra}
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


ONEROSTER_USERS = ("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,"
                   "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password")
ONEROSTER_ORGS = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId"


def write_roster(sis: Path, local_ids: list[str], school: str = "org-1", grade: str = "03",
                 state_prefix: str = "9") -> dict[str, str]:
    """A minimal OneRoster roster whose students carry the given local identifiers; returns
    local id → sourcedId."""
    sis.mkdir(parents=True, exist_ok=True)
    (sis / "orgs.csv").write_text(f"{ONEROSTER_ORGS}\n{school},active,,Test School,school,{school}-code,d-1\n"
                                  "d-1,active,,Test District,district,,\n")
    lines, out = [ONEROSTER_USERS], {}
    for i, lid in enumerate(local_ids):
        sid = f"stu-{i:05d}"
        out[lid] = sid
        lines.append(f"{sid},active,,true,{school},student,user{i},{{StateID:{state_prefix}{i:09d}}},First{i},"
                     f"Last{i},,{lid},,,,,{grade},")
    (sis / "users.csv").write_text("\n".join(lines) + "\n")
    return out


@pytest.fixture
def district(tmp_path):
    """A folder with a config for the given school year; returns (config_path, inbox_for(cycle))."""
    def make(school_year: dict, **extra):
        cfg = write_config(tmp_path, school_year, **extra)
        from orchestration.config import load_config
        c = load_config(cfg)
        return c
    return make
