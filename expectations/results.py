"""The one result format every gate check reports in, whichever engine ran it.

A check names what was checked, its severity (`error` blocks publishing, `warn` publishes and is
shown on the report and in cycle_audit), how many rows or files failed — counts only, never a
student's value — and what the data team should do about it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class CheckResult:
    check: str                      # stable name, e.g. "sessions.session_duration.between"
    gate: str                       # gate1 | gate2
    severity: str                   # error | warn
    success: bool
    table: str | None = None
    column: str | None = None
    source_file: str | None = None
    failed_count: int = 0
    total_count: int | None = None
    message: str = ""
    fix: str = ""
    engine: str = "sql"             # great_expectations | sql | manifest | dbt
    extra: dict = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.severity == "error" and not self.success

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class GateOutcome:
    gate: str
    results: list[CheckResult]

    @property
    def passed(self) -> bool:
        return not any(r.blocking for r in self.results)

    @property
    def status(self) -> str:
        if not self.passed:
            return "failed"
        return "passed_with_warnings" if self.warnings else "passed"

    @property
    def errors(self) -> list[CheckResult]:
        return [r for r in self.results if r.blocking]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if r.severity == "warn" and not r.success]

    def summary(self) -> dict:
        return {"gate": self.gate, "status": self.status, "checks": len(self.results),
                "errors": len(self.errors), "warnings": len(self.warnings)}
