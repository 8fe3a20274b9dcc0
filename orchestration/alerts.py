"""Failure alerts (DESIGN §5 ``alerts``, §8, §9): tell the data team a cycle did not publish.

An alert is built from the failure report (``published/failures/<cycle>/<run_id>.json``) and carries
only whitelisted fields: each failed ERROR check's name, gate, file, column, failed row COUNT and fix.
The report's free-text ``message`` and ``extra`` are not forwarded: an alert leaves the machine,
so it carries no more than a count can say (§9). Delivery goes to a webhook (its URL is a secret, so
it is read from an environment variable and never logged) and/or e-mail over SMTP. A delivery that
fails is logged as a warning and reported in the return value; it never raises, because an alert
must not turn a gate failure into a crash.

In Dagster, ``make_run_failure_sensor`` alerts for runs launched from the UI, the schedule or the
delivery sensor (the daemon evaluates it). The CLI runs the job in process, which the daemon's run
status sensors do not see, so the CLI sends its own alert — one alert per failed run either way.
"""
from __future__ import annotations

import json
import logging
import os
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestration.config import ConfigError

if TYPE_CHECKING:
    from orchestration.config import Config

log = logging.getLogger(__name__)

ALERT_KEYS = ("webhook_url_env", "smtp", "dagster_url", "timeout_seconds")
SMTP_KEYS = ("host", "port", "sender", "to", "starttls", "username_env", "password_env")
# the only fields of a failed check an alert forwards (counts and fixed texts, never row values)
CHECK_FIELDS = ("check", "gate", "file", "column", "failed_rows", "fix")
DEFAULT_TIMEOUT_SECONDS = 10
RETRY_BACKOFF_SECONDS = (1.0, 3.0)     # webhook: 2 retries on 5xx or a connection error
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ADDRESS = re.compile(r"[^@\s,<>]+@[^@\s,<>]+")


# ------------------------------------------------------------------------------------ validation
def _env_name(key: str, value: Any) -> str:
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        if isinstance(value, str) and ("://" in value or "@" in value or len(value) > 64):
            value = "<hidden: looks like a secret>"         # never echo a pasted URL or password
        raise ConfigError(key, value, "the NAME of an environment variable (letters, digits, _), "
                                      "not its value")
    return value


def check_alerts_config(raw: Any) -> dict:
    """Validate ``alerts`` (DESIGN §5) and return it normalised: ``smtp.to`` a list, ``smtp.port``
    filled in (587 with starttls, else 25), ``timeout_seconds`` filled in. Raises ``ConfigError``
    naming the key, the value and what is allowed."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError("alerts", raw, "a mapping with webhook_url_env and/or smtp")
    for k in raw:
        if k == "webhook_url":
            raise ConfigError("alerts.webhook_url", "<hidden>", "no URL in the config file: put it in an "
                              "environment variable and name that variable in alerts.webhook_url_env")
        if k not in ALERT_KEYS:
            raise ConfigError(f"alerts.{k}", raw[k], "one of the keys " + ", ".join(ALERT_KEYS))
    out: dict[str, Any] = {}
    if raw.get("webhook_url_env") is not None:
        out["webhook_url_env"] = _env_name("alerts.webhook_url_env", raw["webhook_url_env"])
    url = raw.get("dagster_url")
    if url is not None:
        if not isinstance(url, str) or not re.fullmatch(r"https?://\S+", url):
            raise ConfigError("alerts.dagster_url", url, "the http(s) address of the Dagster UI")
        out["dagster_url"] = url.rstrip("/")
    t = raw.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t <= 300:
        raise ConfigError("alerts.timeout_seconds", t, "a number of seconds between 0 and 300")
    out["timeout_seconds"] = t
    smtp = raw.get("smtp")
    if smtp is not None:
        out["smtp"] = _check_smtp(smtp)
    return out


def _check_smtp(smtp: Any) -> dict:
    if not isinstance(smtp, dict):
        raise ConfigError("alerts.smtp", smtp, "a mapping {host, port, sender, to, starttls, username_env, "
                                               "password_env}")
    for k in smtp:
        if k in ("username", "password"):
            raise ConfigError(f"alerts.smtp.{k}", "<hidden>", f"no credentials in the config file: name an "
                              f"environment variable in alerts.smtp.{k}_env")
        if k not in SMTP_KEYS:
            raise ConfigError(f"alerts.smtp.{k}", smtp[k], "one of the keys " + ", ".join(SMTP_KEYS))
    host = smtp.get("host")
    if not isinstance(host, str) or not host.strip() or any(c.isspace() for c in host):
        raise ConfigError("alerts.smtp.host", host, "a mail server host name or address")
    starttls = smtp.get("starttls", False)
    if not isinstance(starttls, bool):
        raise ConfigError("alerts.smtp.starttls", starttls, "true or false")
    port = smtp.get("port", 587 if starttls else 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError("alerts.smtp.port", port, "a TCP port between 1 and 65535")
    sender = smtp.get("sender")
    if not isinstance(sender, str) or not _ADDRESS.fullmatch(sender.strip()):
        raise ConfigError("alerts.smtp.sender", sender, "one e-mail address, e.g. tutoring-impact@district.org")
    to = smtp.get("to")
    rcpts = [a.strip() for a in to.split(",")] if isinstance(to, str) else to
    if not isinstance(rcpts, list) or not rcpts or not all(isinstance(a, str) and _ADDRESS.fullmatch(a.strip())
                                                           for a in rcpts):
        raise ConfigError("alerts.smtp.to", to, "an e-mail address or a non-empty list of them")
    out = {"host": host, "port": port, "sender": sender.strip(), "to": [a.strip() for a in rcpts],
           "starttls": starttls}
    user, pw = smtp.get("username_env"), smtp.get("password_env")
    if (user is None) != (pw is None):
        raise ConfigError("alerts.smtp.password_env" if pw is None else "alerts.smtp.username_env", None,
                          "username_env and password_env together, or neither")
    if user is not None:
        out["username_env"] = _env_name("alerts.smtp.username_env", user)
        out["password_env"] = _env_name("alerts.smtp.password_env", pw)
    return out


# ------------------------------------------------------------------------------------ the alert
def _current(config: Config) -> str | None:
    link = config.published / "current"
    return os.readlink(link) if link.is_symlink() else None


def alert_for_failure(config: Config, cycle_id: str, run_id: str, failure_report: Path | None,
                      stage: str | None = None) -> dict:
    """The alert for a failed cycle run, from its failure report (DESIGN §8). With no readable report
    (the run crashed), the alert says so and points at the run in the Dagster UI and the cycle's log.
    ``stage`` names the failed step when the report does not (the report's ``failed_stage`` wins)."""
    alerts = config["alerts"] or {}
    url = alerts.get("dagster_url") if isinstance(alerts, dict) else None
    logs = config.data_dir / "logs" / f"{cycle_id}.log"
    run_ui = f"{str(url).rstrip('/')}/runs/{run_id}" if url else f"Dagster UI (make ui) → Runs → {run_id}"
    doc = None
    if failure_report is not None and Path(failure_report).is_file():
        try:
            doc = json.loads(Path(failure_report).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            doc = None
    alert: dict[str, Any] = {"district": config["district"]["name"], "cycle_id": cycle_id, "run_id": run_id}
    if doc is not None:
        report = Path(failure_report)
        checks = [{"check": c.get("check"), "gate": c.get("gate"), "file": c.get("source_file"),
                   "column": c.get("column"), "failed_rows": int(c.get("failed_count") or 0),
                   "fix": c.get("fix") or ""}
                  for c in doc.get("checks", []) if c.get("severity") == "error" and not c.get("success")]
        alert.update({
            "outcome": "gate_failed", "stage": doc.get("failed_stage") or stage or "unknown",
            "summary": f"cycle {cycle_id}: nothing was published; current is unchanged",
            "failed_checks": checks,
            "gates": [{k: g.get(k) for k in ("gate", "status", "checks", "errors", "warnings")}
                      for g in doc.get("gates", [])],
            "report": str(report.with_suffix(".html")), "report_json": str(report),
            "detail": "Fix the checks above in the extract (the report has each one) and run the cycle "
                      "again; warnings do not block."})
    else:
        cur = _current(config)
        alert.update({
            "outcome": "crashed", "stage": stage or "unknown",
            "summary": f"cycle {cycle_id}: the run crashed before writing a failure report; "
                       f"published/current is {cur or 'not set'}",
            "failed_checks": [], "gates": [], "report": None, "report_json": None,
            "detail": "No failure report was written: a step crashed rather than a gate failing. Open the "
                      f"run in the Dagster UI for the step and its error, and read {logs}."})
    alert.update({"current": _current(config), "dagster_run": run_ui, "log": str(logs)})
    return alert


def _subject(alert: dict) -> str:
    what = "crashed" if alert.get("outcome") == "crashed" else f"failed at {alert.get('stage')}"
    s = f"[Tutoring Impact] {alert.get('district')}: cycle {alert.get('cycle_id')} {what} — nothing published"
    return " ".join(s.split())           # a header is one line whatever the district is called


def alert_text(alert: dict) -> str:
    """The plain-text body of the e-mail: the summary, where it stopped, and every failed check."""
    lines = [f"Tutoring Impact — {alert.get('district')}", "", alert.get("summary", ""), "",
             f"Run:        {alert.get('run_id')}", f"Stopped at: {alert.get('stage')}"]
    checks = alert.get("failed_checks") or []
    if checks:
        lines += ["", f"Failed checks ({len(checks)} errors; rows are counts, no student data):"]
        for c in checks:
            where = ", ".join(f"{k} {c[k]}" for k in ("file", "column") if c.get(k))
            lines.append(f"  x {c['check']}{' (' + where + ')' if where else ''}: "
                         f"{c['failed_rows']} row{'' if c['failed_rows'] == 1 else 's'}")
            if c.get("fix"):
                lines.append(f"      fix: {c['fix']}")
    if alert.get("detail"):
        lines += ["", alert["detail"]]
    lines += [""]
    if alert.get("report"):
        lines.append(f"Report:     {alert['report']}")
    lines += [f"Dagster:    {alert.get('dagster_run')}", f"Log:        {alert.get('log')}",
              f"Current:    {alert.get('current') or 'not set'}"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------ delivery
def _post_webhook(url: str, alert: dict, timeout: float) -> None:
    body = json.dumps({"text": alert.get("summary", ""), **alert}, default=str).encode("utf-8")
    attempts = len(RETRY_BACKOFF_SECONDS) + 1
    for attempt in range(attempts):
        req = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "tutoring-impact-alerts"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                resp.read()
            return
        except urllib.error.HTTPError as e:
            e.close()
            if e.code < 500 or attempt == attempts - 1:
                raise RuntimeError(f"HTTP {e.code} after {attempt + 1} attempt(s)") from None
        except (urllib.error.URLError, OSError) as e:       # refused, reset, DNS, timeout
            if attempt == attempts - 1:
                reason = getattr(e, "reason", e)
                raise RuntimeError(f"{type(reason).__name__}: {reason} after {attempts} attempts") from None
        time.sleep(RETRY_BACKOFF_SECONDS[attempt])


def _send_email(smtp: dict, alert: dict, timeout: float) -> None:
    msg = EmailMessage()
    msg["Subject"] = _subject(alert)
    msg["From"] = smtp["sender"]
    msg["To"] = ", ".join(smtp["to"])
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=smtp["sender"].rsplit("@", 1)[-1])
    msg.set_content(alert_text(alert))
    with smtplib.SMTP(smtp["host"], smtp["port"], timeout=timeout) as s:
        if smtp["starttls"]:
            s.starttls(context=ssl.create_default_context())
        if smtp.get("username_env"):
            user, pw = os.environ.get(smtp["username_env"]), os.environ.get(smtp["password_env"])
            if not user or not pw:
                raise RuntimeError(f"environment variables {smtp['username_env']} and {smtp['password_env']} "
                                   "must both be set")
            s.login(user, pw)
        s.send_message(msg, from_addr=smtp["sender"], to_addrs=smtp["to"])


def send_alert(config: Config, alert: dict) -> list[str]:
    """Deliver ``alert`` to every destination in ``alerts``. Returns one line per destination,
    ``"<destination>: sent"`` or ``"<destination>: FAILED (<reason>)"`` (an empty list when none is
    configured). Never raises: a failed delivery is logged as a warning and reported here."""
    out: list[str] = []
    try:
        cfg = check_alerts_config(config["alerts"])
    except ConfigError as e:
        log.warning("alert not sent: %s", e)
        return [f"alerts config: FAILED ({e})"]
    timeout = cfg["timeout_seconds"]

    def attempt(dest: str, send) -> None:
        try:
            send()
            out.append(f"{dest}: sent")
        except Exception as e:                              # noqa: BLE001 — an alert never crashes the run
            reason = str(e) if isinstance(e, RuntimeError) else f"{type(e).__name__}: {e}"
            log.warning("alert for cycle %s run %s not delivered to %s: %s",
                        alert.get("cycle_id"), alert.get("run_id"), dest, reason)
            out.append(f"{dest}: FAILED ({reason})")

    if cfg.get("webhook_url_env"):
        var = cfg["webhook_url_env"]
        dest = f"webhook ${var}"                             # the URL is a secret: name the variable only

        def webhook():
            url = os.environ.get(var, "").strip()
            if not url:
                raise RuntimeError(f"environment variable {var} is not set")
            if not re.match(r"https?://", url):
                raise RuntimeError(f"environment variable {var} does not hold an http(s) URL")
            _post_webhook(url, alert, timeout)
        attempt(dest, webhook)
    if cfg.get("smtp"):
        smtp = cfg["smtp"]
        attempt(f"email {', '.join(smtp['to'])} via {smtp['host']}:{smtp['port']}",
                lambda: _send_email(smtp, alert, timeout))
    return out


# ------------------------------------------------------------------------------------ Dagster
def newest_failure_report(config: Config, run_id: str, cycle_id: str | None = None) -> Path | None:
    """``published/failures/<cycle>/<run_id>.json`` — in the run's cycle when known, else the newest
    one for this run id in any cycle."""
    root = config.published / "failures"
    if cycle_id:
        p = root / cycle_id / f"{run_id}.json"
        if p.is_file():
            return p
    found = [p for p in root.glob(f"*/{run_id}.json") if p.is_file()] if root.is_dir() else []
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def make_run_failure_sensor(job, config: Config):
    """A run-failure sensor on the cycle job: alert with the failed run's cycle (its partition tag)
    and failure report. Starts STOPPED, like the schedule; switch it on in the UI (Automation)."""
    import dagster as dg

    @dg.run_failure_sensor(name="cycle_failure_alert", monitored_jobs=[job],
                           default_status=dg.DefaultSensorStatus.STOPPED,
                           description="Send the failure alert (webhook / e-mail, alerts config) when a "
                                       "cycle run fails: counts and fixes only, never student values")
    def cycle_failure_alert(context):                   # a dg.RunFailureSensorContext
        run = context.dagster_run
        cycle_id = run.tags.get("dagster/partition") or context.partition_key
        report = newest_failure_report(config, run.run_id, cycle_id)
        if not cycle_id and report is not None:
            cycle_id = report.parent.name
        # step keys only: a step's error text may quote a row, so it stays in the Dagster UI
        steps = sorted({e.step_key for e in context.get_step_failure_events() if e.step_key})
        alert = alert_for_failure(config, cycle_id or "unknown", run.run_id, report,
                                  stage=", ".join(steps) or None)
        sent = send_alert(config, alert)
        context.log.info(f"failure alert for cycle {cycle_id}: {'; '.join(sent) or 'no destination configured'}")

    return cycle_failure_alert
