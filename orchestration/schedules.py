"""When cycles run: a daily schedule (cron cannot say "every six weeks") and a delivery sensor.

The schedule fires every morning and returns early unless a cycle's launch date (end + grace_days)
has arrived; run keys make each cycle launch once. The sensor starts a cycle early when a complete
delivery lands — a ``_READY`` marker, or all three folders holding files — and its run key is the
delivery's fingerprint, so the same files never launch twice while a corrected delivery does.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from orchestration.config import Config, Cycle

FOLDERS = ("sis", "screener", "tutoring")


def due_cycles(config: Config, today: dt.date) -> list[Cycle]:
    """Cycles whose launch date (end + grace_days) is on or before ``today``, within the school year's
    reach (a cycle is not launched again after the next cycle's launch date has also passed)."""
    out = []
    for i, c in enumerate(config.cycles):
        launch = config.launch_date(c)
        nxt = config.launch_date(config.cycles[i + 1]) if i + 1 < len(config.cycles) else None
        if launch <= today and (nxt is None or today < nxt):
            out.append(c)
    return out


def delivery_fingerprint(folder: Path) -> str | None:
    """A delivery is complete when it has a `_READY` marker or files in all of sis/, screener/ and
    tutoring/. Returns a fingerprint of its files (names, sizes, mtimes), or None if incomplete."""
    if not folder.is_dir():
        return None
    files = []
    for sub in FOLDERS:
        d = folder / sub
        if d.is_dir():
            files += [p for p in sorted(d.rglob("*")) if p.is_file() and not p.name.startswith((".", "_"))]
    ready = (folder / "_READY").is_file()
    complete = ready or all(any(p.relative_to(folder).parts[0] == sub for p in files) for sub in FOLDERS)
    if not complete or not files:
        return None
    h = hashlib.sha256()
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(folder)}|{st.st_size}|{int(st.st_mtime)}\n".encode())
    if ready:
        h.update((folder / "_READY").read_bytes())
    return h.hexdigest()[:16]


def complete_deliveries(config: Config) -> dict[str, str]:
    out = {}
    for c in config.cycles:
        fp = delivery_fingerprint(config.inbox / c.id)
        if fp:
            out[c.id] = fp
    return out
