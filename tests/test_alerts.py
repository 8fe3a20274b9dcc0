"""Failure alerts (DESIGN §5 alerts, §8, §9): a webhook and an SMTP server on loopback receive the
alert built from a real failure report — cycle, failed checks, row counts, fixes and the report path,
and nothing else; a flaky webhook is retried; an unreachable mail server is reported, not raised;
the run-failure sensor alerts for a failed partitioned run."""
from __future__ import annotations

import email
import json
import random
import socket
import socketserver
import threading
import time
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from expectations.results import CheckResult, GateOutcome
from orchestration import alerts
from orchestration.alerts import (CHECK_FIELDS, alert_for_failure, check_alerts_config, make_run_failure_sensor,
                                  send_alert)
from orchestration.config import Config, ConfigError
from orchestration.publish import write_failure_report

YEAR = {"id": "2026-27", "first_day": "2026-08-17", "last_day": "2027-06-04", "breaks": []}
CYCLE = "2026-27-C2"
WEBHOOK_ENV = "TI_TEST_ALERT_WEBHOOK"
ALERT_KEYS = {"district", "cycle_id", "run_id", "outcome", "stage", "summary", "failed_checks", "gates",
              "report", "report_json", "current", "dagster_run", "log", "detail"}


# ------------------------------------------------------------------------------ loopback servers
class Webhook:
    """An HTTP server on 127.0.0.1 that records each POST body and answers with scripted statuses."""

    def __init__(self, statuses=()):
        self.bodies: list[dict] = []
        self.statuses = list(statuses)
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                hook.bodies.append(json.loads(self.rfile.read(n)))
                code = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class MailServer:
    """A minimal SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) on
    127.0.0.1; the stdlib's smtpd is gone in Python 3.12. Keeps (envelope sender, recipients, message)."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        box = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str):
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self):
                sender, rcpts = None, []
                self.reply("220 test ESMTP")
                while line := self.rfile.readline():
                    cmd = line.decode().strip()
                    verb = cmd.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 test")
                    elif verb == "MAIL":
                        sender, rcpts = cmd.split(":", 1)[1].strip().strip("<>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        rcpts.append(cmd.split(":", 1)[1].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with .")
                        data = []
                        while (d := self.rfile.readline()) not in (b".\r\n", b""):
                            data.append(d[1:] if d.startswith(b"..") else d)
                        msg = email.message_from_bytes(b"".join(data), policy=policy.default)
                        box.messages.append((sender, rcpts, msg))
                        self.reply("250 queued")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not implemented")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                   # nothing listens there now: connection refused
    return port


@pytest.fixture
def webhook(monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(alerts, "RETRY_BACKOFF_SECONDS", (0.05, 0.1))
    hook = Webhook()
    monkeypatch.setenv(WEBHOOK_ENV, hook.url)
    yield hook
    hook.close()


@pytest.fixture
def mail():
    box = MailServer()
    yield box
    box.close()


def make_config(tmp_path: Path, **alerts_cfg) -> Config:
    return Config({"district": {"name": "Lakeside USD", "timezone": "America/Chicago"},
                   "data_dir": str(tmp_path / "data"), "school_year": YEAR, "alerts": alerts_cfg})


# ------------------------------------------------------------------------------ a failure report
def roster(n: int = 40, seed: int = 7) -> list[dict]:
    """Fake students: the values an alert must never carry."""
    rng = random.Random(seed)
    first = ["Amara", "Jonah", "Priya", "Mateo", "Keisha", "Dmitri", "Leilani", "Oskar"]
    last = ["Okafor", "Lindqvist", "Ramanathan", "Delacroix", "Whitfield", "Nakamura"]
    return [{"student_id": f"{rng.randrange(10**8, 10**9)}", "first": rng.choice(first) + str(i),
             "last": rng.choice(last) + str(i), "birth_date": f"2015-0{1 + i % 9}-1{i % 10}"} for i in range(n)]


def failure_report(config: Config, run_id: str, students: list[dict]) -> Path:
    """A gate-1 failure with two ERROR checks, one WARN and one passing check. Student values are
    planted in the fields an alert must drop (message, extra, table totals) to prove it drops them."""
    s0, s1 = students[0], students[1]
    gate1 = GateOutcome("gate1", [
        CheckResult("sessions.student_id.known", "gate1", "error", False, table="sessions", column="student_id",
                    source_file="tutoring/sessions_horizon.csv", failed_count=137, total_count=5012,
                    message=f"unknown student {s0['student_id']} ({s0['first']} {s0['last']})",
                    fix="Send the sessions file with the district's student IDs (SIS local ID), not the vendor's.",
                    extra={"sample_ids": [s["student_id"] for s in students[:5]], "dob": s1["birth_date"]}),
        CheckResult("screener.file.recognised", "gate1", "error", False, source_file="screener/fall_export.xlsx",
                    failed_count=1, message=f"header row starts {s1['last']}",
                    fix="Export the screener results as CSV in the vendor's standard layout."),
        CheckResult("attendance.freshness", "gate1", "warn", False, table="attendance", failed_count=2,
                    fix="Include attendance through the cycle end."),
        CheckResult("students.key.unique", "gate1", "error", True, table="students", column="student_id"),
    ])
    return write_failure_report(config, CYCLE, run_id, [gate1], "gate1")


def assert_no_student_values(text: str, students: list[dict]):
    for s in students:
        for field, value in s.items():
            assert value not in text, f"a student's {field} reached the alert"


# ------------------------------------------------------------------------------ the alert itself
def test_alert_carries_only_whitelisted_counts_and_fixes(tmp_path):
    config, students = make_config(tmp_path), roster()
    report = failure_report(config, "run-abc123", students)
    a = alert_for_failure(config, CYCLE, "run-abc123", report)
    assert set(a) == ALERT_KEYS
    assert a["summary"] == f"cycle {CYCLE}: nothing was published; current is unchanged"
    assert (a["district"], a["stage"], a["outcome"]) == ("Lakeside USD", "gate1", "gate_failed")
    assert a["report"] == str(report.with_suffix(".html")) and Path(a["report"]).is_file()
    assert [set(c) for c in a["failed_checks"]] == [set(CHECK_FIELDS)] * 2            # errors only, not warn/pass
    assert [(c["check"], c["file"], c["column"], c["failed_rows"]) for c in a["failed_checks"]] == [
        ("sessions.student_id.known", "tutoring/sessions_horizon.csv", "student_id", 137),
        ("screener.file.recognised", "screener/fall_export.xlsx", None, 1)]
    assert a["failed_checks"][0]["fix"].startswith("Send the sessions file")
    assert a["gates"] == [{"gate": "gate1", "status": "failed", "checks": 4, "errors": 2, "warnings": 1}]
    # the report on disk does hold the planted values (so this test can fail) — the alert does not
    assert students[0]["student_id"] in report.read_text()
    assert_no_student_values(json.dumps(a), students)


def test_a_crash_without_report_points_at_the_run_and_the_log(tmp_path):
    config = make_config(tmp_path, dagster_url="http://dagster.district.internal:3000/")
    a = alert_for_failure(config, CYCLE, "run-crash1", config.published / "failures" / CYCLE / "run-crash1.json",
                          stage="dbt_marts")
    assert a["outcome"] == "crashed" and a["stage"] == "dbt_marts" and a["report"] is None
    assert "crashed before writing a failure report" in a["summary"] and "not set" in a["summary"]
    assert a["dagster_run"] == "http://dagster.district.internal:3000/runs/run-crash1"
    assert a["log"] == str(config.data_dir / "logs" / f"{CYCLE}.log")
    assert "Dagster UI" in a["detail"] and a["log"] in a["detail"]


# ------------------------------------------------------------------------------ delivery
def test_webhook_and_email_each_get_one_alert(tmp_path, webhook, mail):
    config = make_config(tmp_path, webhook_url_env=WEBHOOK_ENV,
                         smtp={"host": "127.0.0.1", "port": mail.port, "sender": "tutoring-impact@lakeside.org",
                               "to": ["data-team@lakeside.org", "mtss@lakeside.org"]})
    students = roster()
    report = failure_report(config, "run-def456", students)
    t0 = time.monotonic()
    sent = send_alert(config, alert_for_failure(config, CYCLE, "run-def456", report))
    assert time.monotonic() - t0 < 5
    assert sent == [f"webhook ${WEBHOOK_ENV}: sent",
                    f"email data-team@lakeside.org, mtss@lakeside.org via 127.0.0.1:{mail.port}: sent"]
    assert webhook.url not in " ".join(sent)                     # the URL is a secret
    # webhook: one POST, Slack-style text plus the alert
    assert len(webhook.bodies) == 1
    body = webhook.bodies[0]
    assert body["text"] == f"cycle {CYCLE}: nothing was published; current is unchanged"
    assert set(body) == ALERT_KEYS | {"text"}
    assert (body["cycle_id"], body["run_id"], body["report"]) == (CYCLE, "run-def456", str(report.with_suffix(".html")))
    assert [(c["check"], c["failed_rows"]) for c in body["failed_checks"]] == [
        ("sessions.student_id.known", 137), ("screener.file.recognised", 1)]
    assert_no_student_values(json.dumps(body), students)
    # e-mail: one message to the configured recipients with the same facts
    assert len(mail.messages) == 1
    env_from, rcpts, msg = mail.messages[0]
    assert env_from == "tutoring-impact@lakeside.org"
    assert rcpts == ["data-team@lakeside.org", "mtss@lakeside.org"]
    assert msg["To"] == "data-team@lakeside.org, mtss@lakeside.org"
    assert CYCLE in msg["Subject"] and "gate1" in msg["Subject"] and "Lakeside USD" in msg["Subject"]
    text = msg.get_body(("plain",)).get_content()
    for fact in (f"cycle {CYCLE}: nothing was published; current is unchanged", "run-def456",
                 "sessions.student_id.known", "tutoring/sessions_horizon.csv", "137 rows",
                 "screener.file.recognised", "(file screener/fall_export.xlsx): 1 row\r\n",
                 "fix: Send the sessions file", str(report.with_suffix(".html"))):
        assert fact in text, fact
    assert "attendance.freshness" not in text                     # a warning does not block
    assert_no_student_values(msg.as_string(), students)


def test_webhook_is_retried_after_two_server_errors(tmp_path, webhook):
    webhook.statuses = [500, 503]
    config = make_config(tmp_path, webhook_url_env=WEBHOOK_ENV)
    alert = alert_for_failure(config, CYCLE, "run-retry", None)
    assert send_alert(config, alert) == [f"webhook ${WEBHOOK_ENV}: sent"]
    assert len(webhook.bodies) == 3 and webhook.bodies[0] == webhook.bodies[2]


def test_webhook_gives_up_after_two_retries_and_does_not_retry_a_client_error(tmp_path, webhook, caplog):
    config = make_config(tmp_path, webhook_url_env=WEBHOOK_ENV)
    alert = alert_for_failure(config, CYCLE, "run-giveup", None)
    webhook.statuses = [500, 500, 500, 200]
    assert send_alert(config, alert) == [f"webhook ${WEBHOOK_ENV}: FAILED (HTTP 500 after 3 attempt(s))"]
    assert len(webhook.bodies) == 3
    webhook.bodies.clear()
    webhook.statuses = [404]
    assert send_alert(config, alert) == [f"webhook ${WEBHOOK_ENV}: FAILED (HTTP 404 after 1 attempt(s))"]
    assert len(webhook.bodies) == 1
    assert webhook.url not in caplog.text


def test_unreachable_destinations_are_reported_not_raised(tmp_path, monkeypatch, mail, caplog):
    monkeypatch.setattr(alerts, "RETRY_BACKOFF_SECONDS", (0.01, 0.01))
    monkeypatch.setenv(WEBHOOK_ENV, f"http://127.0.0.1:{closed_port()}/hook")
    dead = closed_port()
    config = make_config(tmp_path, webhook_url_env=WEBHOOK_ENV, timeout_seconds=2,
                         smtp={"host": "127.0.0.1", "port": dead, "sender": "ti@lakeside.org",
                               "to": "data-team@lakeside.org"})
    alert = alert_for_failure(config, CYCLE, "run-unreach", None)
    with caplog.at_level("WARNING", logger="orchestration.alerts"):
        sent = send_alert(config, alert)
    assert len(sent) == 2 and all(": FAILED (" in s for s in sent)
    assert sent[0].startswith(f"webhook ${WEBHOOK_ENV}: FAILED") and "after 3 attempts" in sent[0]
    assert sent[1].startswith(f"email data-team@lakeside.org via 127.0.0.1:{dead}: FAILED (ConnectionRefusedError")
    assert caplog.text.count("not delivered") == 2
    # an unset webhook variable is a failed destination too; the working mail server still gets it
    monkeypatch.delenv(WEBHOOK_ENV)
    config = make_config(tmp_path, webhook_url_env=WEBHOOK_ENV,
                         smtp={"host": "127.0.0.1", "port": mail.port, "sender": "ti@lakeside.org",
                               "to": "data-team@lakeside.org"})
    sent = send_alert(config, alert)
    assert sent == [f"webhook ${WEBHOOK_ENV}: FAILED (environment variable {WEBHOOK_ENV} is not set)",
                    f"email data-team@lakeside.org via 127.0.0.1:{mail.port}: sent"]
    assert len(mail.messages) == 1
    assert send_alert(make_config(tmp_path), alert) == []           # nothing configured: nothing sent


# ------------------------------------------------------------------------------ config validation
@pytest.mark.parametrize("raw,key", [
    ("hooks.example.com", "alerts"),
    ({"webhook_url": "https://hooks.example.com/T0/B0/x"}, "alerts.webhook_url"),
    ({"webhook_url_env": "https://hooks.example.com/T0/B0/x"}, "alerts.webhook_url_env"),
    ({"webhok_url_env": "X"}, "alerts.webhok_url_env"),
    ({"timeout_seconds": 0}, "alerts.timeout_seconds"),
    ({"dagster_url": "dagster:3000"}, "alerts.dagster_url"),
    ({"smtp": "mail.lakeside.org"}, "alerts.smtp"),
    ({"smtp": {"port": 25, "sender": "a@b.org", "to": "c@d.org"}}, "alerts.smtp.host"),
    ({"smtp": {"host": "mail", "port": "25", "sender": "a@b.org", "to": "c@d.org"}}, "alerts.smtp.port"),
    ({"smtp": {"host": "mail", "port": 70000, "sender": "a@b.org", "to": "c@d.org"}}, "alerts.smtp.port"),
    ({"smtp": {"host": "mail", "sender": "data team", "to": "c@d.org"}}, "alerts.smtp.sender"),
    ({"smtp": {"host": "mail", "sender": "a@b.org", "to": []}}, "alerts.smtp.to"),
    ({"smtp": {"host": "mail", "sender": "a@b.org", "to": ["c@d.org", 7]}}, "alerts.smtp.to"),
    ({"smtp": {"host": "mail", "sender": "a@b.org", "to": "c@d.org", "starttls": "yes"}}, "alerts.smtp.starttls"),
    ({"smtp": {"host": "mail", "sender": "a@b.org", "to": "c@d.org", "password": "hunter2"}}, "alerts.smtp.password"),
    ({"smtp": {"host": "mail", "sender": "a@b.org", "to": "c@d.org", "username_env": "U"}}, "alerts.smtp.password_env"),
    ({"smtp": {"host": "mail", "sender": "a@b.org", "to": "c@d.org", "tls": True}}, "alerts.smtp.tls"),
])
def test_bad_alerts_config_names_the_key(raw, key):
    with pytest.raises(ConfigError) as e:
        check_alerts_config(raw)
    assert e.value.key == key and e.value.allowed
    assert "hunter2" not in str(e.value) and "hooks.example.com/T0" not in str(e.value)


def test_good_alerts_config_is_normalised():
    assert check_alerts_config(None) == check_alerts_config({}) == {"timeout_seconds": 10}
    got = check_alerts_config({"webhook_url_env": "TI_HOOK", "smtp": {
        "host": "smtp.lakeside.org", "sender": "ti@lakeside.org", "to": "a@lakeside.org, b@lakeside.org",
        "starttls": True, "username_env": "TI_SMTP_USER", "password_env": "TI_SMTP_PASSWORD"}})
    assert got["smtp"] == {"host": "smtp.lakeside.org", "port": 587, "sender": "ti@lakeside.org",
                           "to": ["a@lakeside.org", "b@lakeside.org"], "starttls": True,
                           "username_env": "TI_SMTP_USER", "password_env": "TI_SMTP_PASSWORD"}
    assert check_alerts_config({"smtp": {"host": "mail", "sender": "a@b.org", "to": "c@d.org"}})["smtp"]["port"] == 25


# ------------------------------------------------------------------------------ the Dagster sensor
def test_run_failure_sensor_alerts_for_a_failed_partition(tmp_path, webhook):
    import dagster as dg
    config = make_config(tmp_path, webhook_url_env=WEBHOOK_ENV)
    students = roster()
    parts = dg.StaticPartitionsDefinition([c.id for c in config.cycles])

    @dg.asset(partitions_def=parts)
    def landing(context):
        if context.partition_key == CYCLE:                  # a gate failure: the report, then the stop
            failure_report(config, context.run.run_id, students)
            raise dg.Failure(description="gate 1 failed")
        raise RuntimeError("disk full")                     # a crash: no report

    job = dg.define_asset_job("cycle", selection=[landing])
    sensor = make_run_failure_sensor(job, config)
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    defs = dg.Definitions(assets=[landing], jobs=[job], sensors=[sensor])
    assert {s.name for s in defs.get_repository_def().sensor_defs} == {"cycle_failure_alert"}
    resolved = defs.resolve_job_def("cycle")

    with dg.instance_for_test() as instance:
        def evaluate(partition):
            result = resolved.execute_in_process(partition_key=partition, instance=instance, raise_on_error=False)
            assert not result.success
            run = instance.get_run_by_id(result.run_id)
            assert run.tags["dagster/partition"] == partition
            failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
            ctx = dg.build_run_status_sensor_context(sensor_name=sensor.name, dagster_event=failure,
                                                     dagster_instance=instance, dagster_run=run)
            sensor(ctx.for_run_failure())
            return run.run_id

        run_id = evaluate(CYCLE)
        assert len(webhook.bodies) == 1
        body = webhook.bodies[0]
        assert (body["cycle_id"], body["run_id"], body["stage"], body["outcome"]) == (CYCLE, run_id, "gate1",
                                                                                     "gate_failed")
        assert body["report"] == str(config.published / "failures" / CYCLE / f"{run_id}.html")
        assert [c["failed_rows"] for c in body["failed_checks"]] == [137, 1]
        assert_no_student_values(json.dumps(body), students)

        other = config.cycles[0].id
        run_id = evaluate(other)
        assert len(webhook.bodies) == 2
        body = webhook.bodies[1]
        assert (body["cycle_id"], body["run_id"], body["outcome"], body["stage"]) == (other, run_id, "crashed",
                                                                                     "landing")
        assert "disk full" not in json.dumps(body)           # a step's error text stays in the Dagster UI
