"""Year-to-date snapshots: a late correction in a later delivery changes exactly the affected rows
(DESIGN §4.4), and earlier deliveries stay in landing's history."""
from __future__ import annotations

import csv
import io
import shutil

import duckdb

from orchestration.generator import generate


def test_late_correction_changes_exactly_the_affected_row(tmp_path):
    generate(300, 2, 9, tmp_path, school_year="2025-26")
    from orchestration.config import load_config
    from sources.landing import land_cycle
    config = load_config(tmp_path / "config.yml")
    c2 = config.cycles[1]
    before = land_cycle(config, c2.id)
    snap = tmp_path / "before_sessions.parquet"
    shutil.copy(before.landing_dir / "sessions.parquet", snap)
    # the vendor corrects one attended session from the first cycle: 30 minutes, not what it said
    path = sorted((config.inbox / c2.id / "tutoring").glob("sessions_*.csv"))[0]
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    h = rows[0]
    k = next(i for i, r in enumerate(rows[1:], 1)
             if r[h.index("attendance_status")] == "attended" and r[h.index("session_date")] < str(c2.start)
             and r[h.index("session_duration")].isdigit() and r[h.index("session_duration")] != "30")
    sid = rows[k][h.index("session_id")]
    rows[k][h.index("session_duration")] = "30"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    after = land_cycle(config, c2.id)
    assert not after.skipped and after.inputs_hash != before.inputs_hash
    new = after.landing_dir / "sessions.parquet"
    changed = duckdb.sql(f"select session_id, session_duration from ((select * from read_parquet('{new}')) "
                         f"except (select * from read_parquet('{snap}')))").fetchall()
    gone = duckdb.sql(f"select session_id from ((select * from read_parquet('{snap}')) "
                      f"except (select * from read_parquet('{new}')))").fetchall()
    assert changed == [(sid, 30)] and gone == [(sid,)]
    # the superseded delivery's landing is kept, not overwritten
    hist = list((config.landing / "history" / c2.id).iterdir())
    assert len(hist) == 1 and (hist[0] / "sessions.parquet").is_file()
    assert duckdb.sql(f"select count(*) from read_parquet('{hist[0] / 'sessions.parquet'}')").fetchall() == \
        duckdb.sql(f"select count(*) from read_parquet('{snap}')").fetchall()
