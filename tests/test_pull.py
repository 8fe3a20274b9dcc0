"""Pulling deliveries from real servers on loopback (DESIGN §2): OpenSSH's sshd and moto's S3 server.

A generated district (400 students, 3 schools) has its first two cycles' deliveries moved off the
inbox: SIS and tutoring files onto the SFTP server, screener files into an S3 bucket. The CLI's
`run` pulls, lands and publishes a cycle; a changed remote file is the only one pulled again; and the
faults — the server killed mid-transfer, a wrong key, a missing folder, permission denied, an empty
file, an unknown host key — each give the documented error, an untouched inbox and no published
change.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml

from conftest import cli
from remote_servers import ThrowawayS3, ThrowawaySSHD

from orchestration import pull
from orchestration.config import ConfigError, load_config

C1, C2, C3 = "2025-26-C1", "2025-26-C2", "2025-26-C3"
BUCKET, PREFIX = "screener-exports", "riverbend"


def new_key(path: Path) -> str:
    """A fresh ed25519 key pair; returns the public key line."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return Path(str(path) + ".pub").read_text()


def tree(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part in skip for part in p.relative_to(root).parts)}


@pytest.fixture(scope="module")
def servers():
    with ThrowawaySSHD() as sshd, ThrowawayS3() as s3:
        yield sshd, s3


@pytest.fixture(scope="module")
def district(servers, tmp_path_factory):
    """The district, its deliveries on the servers, and a config whose feeds point at them."""
    sshd, s3 = servers
    out = tmp_path_factory.mktemp("pulled-district")
    r = cli("generate", "--students", "400", "--schools", "3", "--seed", "7", "--out", str(out),
            "--school-year", "2025-26")
    assert r.returncode == 0, r.stderr
    inbox = out / "data" / "inbox"
    remote = sshd.root / "deliveries"
    originals = {}
    client = s3.client()
    client.create_bucket(Bucket=BUCKET)
    for cycle in (C1, C2):
        for folder in ("sis", "tutoring", "screener"):
            for p in sorted((inbox / cycle / folder).iterdir()):
                originals[f"{cycle}/{folder}/{p.name}"] = hashlib.sha256(p.read_bytes()).hexdigest()
                if folder == "screener":
                    client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{cycle}/screener/{p.name}", Body=p.read_bytes())
                else:
                    (remote / cycle / folder).mkdir(parents=True, exist_ok=True)
                    shutil.copy2(p, remote / cycle / folder / p.name)
        ready = (inbox / cycle / "_READY").read_bytes()            # each vendor signals its delivery
        for folder in ("sis", "tutoring"):
            (remote / cycle / folder / "_READY").write_bytes(ready)
        client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{cycle}/screener/_READY", Body=ready)
    shutil.rmtree(inbox)                                           # nothing is delivered locally
    secrets = out / "data" / "secrets"
    secrets.mkdir(parents=True)
    shutil.copy(sshd.client_key, secrets / "district_sftp_key")
    os.chmod(secrets / "district_sftp_key", 0o600)
    (secrets / "known_hosts").write_text(sshd.known_hosts_line())
    sftp = f"sftp://{sshd.user}@127.0.0.1:{sshd.port}{remote}"
    cfg = yaml.safe_load((out / "config.yml").read_text())
    cfg["sources"] = [
        {"name": "sis_nightly", "kind": "sftp", "folder": "sis", "location": sftp + "/{cycle}/sis",
         "credentials_file": "district_sftp_key", "retry_wait_seconds": 0.2},
        {"name": "tutoring_vendor", "kind": "sftp", "folder": "tutoring", "location": sftp + "/{cycle}/tutoring",
         "pattern": "*.csv", "credentials_file": "district_sftp_key", "retry_wait_seconds": 0.2},
        {"name": "screener_exports", "kind": "s3", "folder": "screener",
         "location": f"s3://{BUCKET}/{PREFIX}/{{cycle}}/screener", "endpoint_url": s3.endpoint,
         "credentials_env": "SCREENER_S3", "retry_wait_seconds": 0.2},
    ]
    (out / "config.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    env = {"SCREENER_S3_ACCESS_KEY_ID": s3.key, "SCREENER_S3_SECRET_ACCESS_KEY": s3.secret}
    os.environ.update(env)                      # for the in-process pulls below
    return {"config": load_config(out / "config.yml"), "path": out / "config.yml", "remote": remote,
            "originals": originals, "env": env, "sshd": sshd, "s3": s3, "out": out}


@pytest.fixture(scope="module")
def published(district):
    r = cli("run", "--config", str(district["path"]), "--cycle", C1, env=district["env"])
    assert r.returncode == 0, r.stdout + r.stderr
    return r


@pytest.mark.slow
def test_run_pulls_the_cycle_from_sftp_and_s3_then_publishes(district, published):
    config = district["config"]
    assert f"published {C1}/v1" in published.stdout
    inbox = config.inbox / C1
    pulled = tree(inbox)
    want = {k.split("/", 1)[1]: v for k, v in district["originals"].items() if k.startswith(C1)}
    assert {k: pulled[k] for k in want} == want                # every file, byte for byte
    assert (inbox / "_READY").read_text().strip() == (district["remote"] / C1 / "sis" / "_READY").read_text().strip()
    manifest = pull.read_pull_manifest(config, C1)["files"]
    assert set(manifest) == set(want)
    e = manifest["sis/users.csv"]
    assert e["feed"] == "sis_nightly" and e["url"].startswith("sftp://") and e["sha256"] == want["sis/users.csv"]
    remote_mtime = (district["remote"] / C1 / "sis" / "users.csv").stat().st_mtime
    assert e["remote_mtime"] == dt.datetime.fromtimestamp(remote_mtime, dt.timezone.utc).isoformat(timespec="seconds")
    assert int((inbox / "sis" / "users.csv").stat().st_mtime) == int(remote_mtime)   # the delivery's own times
    assert manifest["screener/AssessmentResults.csv"]["url"] == f"s3://{BUCKET}/{PREFIX}/{C1}/screener/AssessmentResults.csv"
    # the landing manifest and cycle_audit say where each file came from
    landing = json.loads((config.landing / C1 / "manifest.json").read_text())
    assert all(f["pulled_from"] and f["pulled_from"]["sha256"] == f["sha256"] for f in landing["files"])
    audit = duckdb.sql(f"select source_file, pulled_from from read_parquet('{config.published}/current/parquet/"
                       "cycle_audit.parquet')").fetchall()
    assert audit and all(json.loads(p)["feed"] in ("sis_nightly", "tutoring_vendor", "screener_exports")
                         for _, p in audit)
    assert {json.loads(p)["url"].split(":")[0] for _, p in audit} == {"sftp", "s3"}


def test_only_a_changed_remote_file_is_pulled_again(district, published):
    config, remote = district["config"], district["remote"]
    before = tree(config.inbox / C1)
    fps = pull.remote_deliveries(config)
    assert set(fps) == {C1, C2}                                 # what `run --all` and the sensor see
    again = {r.feed: r for r in pull.pull_cycle(config, C1)}
    assert all(r.pulled == [] for r in again.values())          # nothing changed: nothing copied
    assert tree(config.inbox / C1) == before
    orgs = remote / C1 / "sis" / "orgs.csv"
    orgs.write_bytes(orgs.read_bytes().replace(b"\n", b"\r\n"))  # re-exported with CRLF line ends
    client = district["s3"].client()
    body = client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{C1}/screener/diagnostic_results_math.csv")["Body"].read()
    client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{C1}/screener/diagnostic_results_math.csv", Body=body)  # same bytes
    ela_key = f"{PREFIX}/{C1}/screener/diagnostic_results_ela.csv"
    ela = client.get_object(Bucket=BUCKET, Key=ela_key)["Body"].read()
    client.put_object(Bucket=BUCKET, Key=ela_key, Body=ela + b"\n")
    res = {r.feed: r for r in pull.pull_cycle(config, C1)}
    assert res["sis_nightly"].pulled == ["orgs.csv"]
    assert sorted(res["sis_nightly"].unchanged) == sorted(set(again["sis_nightly"].unchanged) - {"orgs.csv"})
    assert res["tutoring_vendor"].pulled == []
    assert res["screener_exports"].pulled == ["diagnostic_results_ela.csv"]
    assert "diagnostic_results_math.csv" in res["screener_exports"].unchanged     # touched, same content
    after = tree(config.inbox / C1)
    assert {k for k in after if after[k] != before.get(k)} == {"sis/orgs.csv", "screener/diagnostic_results_ela.csv",
                                                               pull.MANIFEST_NAME}
    assert after["sis/orgs.csv"] == hashlib.sha256(orgs.read_bytes()).hexdigest()
    fps2 = pull.remote_deliveries(config)
    assert fps2[C1] != fps[C1] and fps2[C2] == fps[C2]           # the sensor sees a corrected delivery


def _snapshot(config):
    return tree(config.inbox), tree(config.published, skip=("failures",))


def test_a_failed_pull_stops_the_run_naming_each_feed_and_touching_nothing(district, published):
    """A wrong SSH key for the SFTP feeds and an S3 endpoint that is down, in one CLI run."""
    config, out = district["config"], district["out"]
    from remote_servers import free_port
    new_key(config.secrets / "old_key")                   # a key the server's account does not authorize
    cfg = yaml.safe_load(district["path"].read_text())
    for s in cfg["sources"]:
        if s["kind"] == "sftp":
            s["credentials_file"] = "old_key"
        else:
            s["endpoint_url"] = f"http://127.0.0.1:{free_port()}"      # nothing listens there
    bad = out / "config_bad_feeds.yml"
    bad.write_text(yaml.safe_dump(cfg, sort_keys=False))
    before = _snapshot(config)
    r = cli("run", "--config", str(bad), "--cycle", C1, env=district["env"])
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAILED at pull" in r.stderr and "published/current is unchanged" in r.stderr
    assert "feed 'sis_nightly': wrong credentials" in r.stderr and "feed 'tutoring_vendor': wrong credentials" in r.stderr
    assert "authorized_keys" in r.stderr                        # what to check
    assert "feed 'screener_exports': host unreachable" in r.stderr and "the server is running" in r.stderr
    assert _snapshot(config) == before
    reports = sorted((config.published / "failures" / C1).glob("*.json"))
    doc = json.loads(reports[-1].read_text())
    assert doc["failed_stage"] == "pull" and {c["check"] for c in doc["checks"]} == {
        "pull:sis_nightly", "pull:tutoring_vendor", "pull:screener_exports"}


def test_server_killed_mid_transfer_leaves_the_inbox_and_publication_alone(district, published, monkeypatch):
    config, sshd, remote = district["config"], district["sshd"], district["remote"]
    att = remote / C1 / "sis" / "attendance.csv"
    att.write_bytes(att.read_bytes() + b"\n")                   # a corrected export: it must be copied again
    before = _snapshot(config)
    monkeypatch.setattr(pull, "CHUNK", 32 * 1024)

    def crash(name, n):
        if name == "attendance.csv" and n >= 64 * 1024:
            sshd.kill()
    feeds = [f for f in pull.pulled_feeds(config) if f.name == "sis_nightly"]
    try:
        with pytest.raises(pull.PullError) as e:
            pull.pull_feed(config, feeds[0], C1, on_chunk=crash)
        assert e.value.problem == "transfer interrupted" and "attendance.csv" in str(e.value)
        assert _snapshot(config) == before and not list(config.inbox.glob(".pull-*"))
        with pytest.raises(pull.PullError) as e:                # still down: the cycle waits
            pull.pull_feed(config, feeds[0], C1)
        assert e.value.problem == "host unreachable" and "the server is running" in e.value.fix
    finally:
        sshd.start()
    # a transfer that breaks off once is retried on a new connection and completes
    state = {"n": 0}

    def blip(name, n):
        if name == "attendance.csv" and n >= 64 * 1024 and state["n"] == 0:
            state["n"] = 1
            sshd.kill()
            sshd.start()
    res = pull.pull_feed(config, feeds[0], C1, on_chunk=blip)
    assert res.pulled == ["attendance.csv"] and res.retries == 1
    assert hashlib.sha256((config.inbox / C1 / "sis" / "attendance.csv").read_bytes()).digest() == \
        hashlib.sha256(att.read_bytes()).digest()


def test_missing_folder_empty_file_and_unknown_host_key(district, published):
    config, remote, sshd = district["config"], district["remote"], district["sshd"]
    before = _snapshot(config)
    feeds = {f.name: f for f in pull.pulled_feeds(config)}
    for name in ("sis_nightly", "screener_exports"):
        with pytest.raises(pull.PullError) as e:
            pull.pull_feed(config, feeds[name], C3)             # the vendor has not exported cycle 3
        assert e.value.problem == "missing remote folder" and C3 in str(e.value) and name in str(e.value)
    empty = remote / C1 / "tutoring" / "invoices.csv"
    saved = empty.read_bytes()
    empty.write_bytes(b"")
    try:
        with pytest.raises(pull.PullError) as e:
            pull.pull_feed(config, feeds["tutoring_vendor"], C1)
        assert e.value.problem == "empty file" and "invoices.csv" in str(e.value)
    finally:
        empty.write_bytes(saved)
    kh = config.secrets / "known_hosts"
    good = kh.read_text()
    impostor = new_key(config.secrets / "impostor_host_key")
    kh.write_text(good.split(" ")[0] + " " + " ".join(impostor.split()[:2]) + "\n")   # same host, another key
    try:
        with pytest.raises(pull.PullError) as e:
            pull.pull_feed(config, feeds["sis_nightly"], C1)
        assert e.value.problem == "host key not trusted" and "has changed" in str(e.value) and "ssh-keyscan" in e.value.fix
        kh.unlink()
        with pytest.raises(pull.PullError) as e:
            pull.pull_feed(config, feeds["sis_nightly"], C1)
        assert e.value.problem == "host key not trusted" and "is not known" in str(e.value)
    finally:
        kh.write_text(good)
    assert _snapshot(config) == before
    assert not (config.inbox / C3).exists()


def _small_config(tmp_path: Path, sources: list) -> "pull.Config":
    cfg = {"data_dir": "./data", "school_year": {"id": "2025-26", "first_day": "2025-08-18", "last_day": "2026-06-05"},
           "sources": sources}
    (tmp_path / "config.yml").write_text(yaml.safe_dump(cfg))
    return load_config(tmp_path / "config.yml")


def test_permission_denied_on_the_server(tmp_path):
    with ThrowawaySSHD(sftp_args="-P open") as sshd:            # this server refuses to open files
        (tmp_path / "drop" / C1).mkdir(parents=True)
        (tmp_path / "drop" / C1 / "sessions.csv").write_text("student_id\n1\n")
        (tmp_path / "data" / "secrets").mkdir(parents=True)
        shutil.copy(sshd.client_key, tmp_path / "data/secrets/key")
        os.chmod(tmp_path / "data/secrets/key", 0o600)
        (tmp_path / "data/secrets/known_hosts").write_text(sshd.known_hosts_line())
        config = _small_config(tmp_path, [{"name": "vendor", "kind": "sftp", "folder": "tutoring",
                                           "location": f"sftp://{sshd.user}@127.0.0.1:{sshd.port}{tmp_path}/drop/{{cycle}}",
                                           "credentials_file": "key"}])
        with pytest.raises(pull.PullError) as e:
            pull.pull_cycle(config, C1)
        assert e.value.problem == "permission denied" and "vendor" in str(e.value)
        assert not (config.inbox / C1).exists()
        os.chmod(tmp_path / "data/secrets/key", 0o644)
        with pytest.raises(pull.PullError) as e:
            pull.pull_cycle(config, C1)
        assert e.value.problem == "wrong credentials" and "chmod 600" in e.value.fix


def test_s3_server_killed_mid_transfer_and_missing_bucket(tmp_path, monkeypatch):
    with ThrowawayS3() as s3:
        c = s3.client()
        c.create_bucket(Bucket="vendor")
        big = b"student_id,session_date\n" + b"".join(b"S%06d,2025-09-%02d\n" % (i, 1 + i % 28) for i in range(20000))
        c.put_object(Bucket="vendor", Key=f"out/{C1}/sessions.csv", Body=big)
        monkeypatch.setenv("VENDOR_S3_ACCESS_KEY_ID", s3.key)
        monkeypatch.setenv("VENDOR_S3_SECRET_ACCESS_KEY", s3.secret)
        feed = {"name": "vendor", "kind": "s3", "folder": "tutoring", "location": "s3://vendor/out/{cycle}",
                "endpoint_url": s3.endpoint, "credentials_env": "VENDOR_S3", "retry_wait_seconds": 0.1,
                "retries": 2, "timeout_seconds": 5}
        config = _small_config(tmp_path, [feed, {**feed, "name": "other", "location": "s3://no-such-bucket/out"}])
        feeds = pull.pulled_feeds(config)
        with pytest.raises(pull.PullError) as e:
            pull.pull_feed(config, feeds[1], C1)
        assert e.value.problem == "missing remote folder"
        monkeypatch.setattr(pull, "CHUNK", 64 * 1024)
        with pytest.raises(pull.PullError) as e:
            pull.pull_feed(config, feeds[0], C1, on_chunk=lambda name, n: s3.kill())
        assert e.value.problem == "transfer interrupted" and "sessions.csv" in str(e.value)
        assert not (config.inbox / C1).exists() and not list(config.inbox.glob(".pull-*"))


def test_s3_wrong_credentials(tmp_path, monkeypatch):
    with ThrowawayS3(auth=True) as s3:                           # this server checks every request's key
        s3.client().create_bucket(Bucket="vendor-exports")
        s3.client().put_object(Bucket="vendor-exports", Key=f"{C1}/sessions.csv", Body=b"student_id\n1\n")
        monkeypatch.setenv("VENDOR_S3_ACCESS_KEY_ID", s3.key)
        monkeypatch.setenv("VENDOR_S3_SECRET_ACCESS_KEY", "an-old-secret")
        config = _small_config(tmp_path, [{"name": "vendor", "kind": "s3", "folder": "tutoring",
                                           "location": "s3://vendor-exports/{cycle}", "endpoint_url": s3.endpoint,
                                           "credentials_env": "VENDOR_S3"}])
        with pytest.raises(pull.PullError) as e:
            pull.pull_cycle(config, C1)
        assert e.value.problem == "wrong credentials" and "VENDOR_S3_ACCESS_KEY_ID" in str(e.value)
        assert "an-old-secret" not in str(e.value) and not (config.inbox / C1).exists()
        monkeypatch.setenv("VENDOR_S3_SECRET_ACCESS_KEY", s3.secret)
        assert [r.pulled for r in pull.pull_cycle(config, C1)] == [["sessions.csv"]]


def test_a_shared_folder_feed_without_cycle_folders_assigns_files_by_date(tmp_path):
    drop = tmp_path / "share" / "tutoring"
    drop.mkdir(parents=True)
    f = drop / "sessions.csv"
    f.write_text("student_id\n1\n")
    config = _small_config(tmp_path, [{"name": "share", "folder": "tutoring", "location": "share/tutoring"}])
    c1, c2 = config.cycles[0], config.cycles[1]
    ts = dt.datetime.combine(c2.end + dt.timedelta(days=1), dt.time(2), config.timezone).timestamp()
    os.utime(f, (ts, ts))                                        # exported after cycle 2 ended
    with pytest.raises(pull.PullError) as e:
        pull.pull_cycle(config, c1.id)
    assert e.value.problem == "not delivered yet"
    assert [r.pulled for r in pull.pull_cycle(config, c2.id)] == [["sessions.csv"]]
    assert (config.inbox / c2.id / "tutoring" / "sessions.csv").read_text() == "student_id\n1\n"
    assert pull.remote_deliveries(config).keys() == {c2.id}
    assert [c.id for c in pull.cycles_to_run(config)] == [c2.id]
    f.unlink()
    (drop / "sessions_v2.csv").write_text("student_id\n2\n")
    os.utime(drop / "sessions_v2.csv", (ts, ts))
    res = pull.pull_cycle(config, c2.id)[0]                     # renamed on the share: the old copy goes
    assert res.pulled == ["sessions_v2.csv"] and res.removed == ["tutoring/sessions.csv"]
    assert sorted(p.name for p in (config.inbox / c2.id / "tutoring").iterdir()) == ["sessions_v2.csv"]


@pytest.mark.parametrize("source, key", [
    ({"name": "x", "kind": "sftp", "folder": "sis", "location": "sftp://u:hunter2@h/p", "credentials_env": "K"},
     "sources[0].location"),
    ({"name": "x", "kind": "sftp", "folder": "sis", "location": "sftp://u@h/p"}, "sources[0].credentials_file"),
    ({"name": "x", "kind": "s3", "folder": "sis", "location": "s3://b/p", "password": "x"}, "sources[0].password"),
    ({"name": "x", "kind": "s3", "folder": "sis", "location": "/mnt/share"}, "sources[0].location"),
    ({"name": "x", "kind": "sftp", "folder": "sis"}, "sources[0].location"),
    ({"kind": "local", "folder": "sis", "location": "/mnt/share"}, "sources[0].name"),
    ({"name": "x", "folder": "sis", "location": "/mnt", "credentials_file": "../etc/shadow"},
     "sources[0].credentials_file"),
])
def test_bad_feed_settings_fail_at_start(tmp_path, source, key):
    with pytest.raises(ConfigError) as e:
        _small_config(tmp_path, [source])
    assert e.value.key == key
    assert "hunter2" not in str(e.value)


def test_the_sensor_and_schedule_watch_the_feeds(tmp_path, monkeypatch):
    import importlib

    import dagster as dg
    share = tmp_path / "share"
    _small_config(tmp_path, [{"name": "vendor_share", "folder": "tutoring", "location": "share/{cycle}"}])
    monkeypatch.setenv("TUTORING_IMPACT_CONFIG", str(tmp_path / "config.yml"))
    import orchestration.definitions as d
    d = importlib.reload(d)
    try:
        assert d.PULL_KEYS == [dg.AssetKey(["pull", "vendor_share"])]
        assert d.PULL_KEYS[0] in d.defs.resolve_asset_graph().get(dg.AssetKey(["landing", "sessions"])).parent_keys
        with dg.instance_for_test() as instance:
            assert isinstance(d.delivery_sensor(dg.build_sensor_context(instance=instance)), dg.SkipReason)
            (share / C1).mkdir(parents=True)
            (share / C1 / "sessions.csv").write_text("student_id\n1\n")
            ctx = dg.build_sensor_context(instance=instance)
            assert [r.partition_key for r in d.delivery_sensor(ctx)] == [C1]
            again = dg.build_sensor_context(instance=instance, cursor=ctx.cursor)
            assert isinstance(d.delivery_sensor(again), dg.SkipReason)          # the same files: not twice
            (share / C1 / "sessions.csv").write_text("student_id\n1\n2\n")
            os.utime(share / C1 / "sessions.csv", (1e10, 1e10))
            fixed = dg.build_sensor_context(instance=instance, cursor=ctx.cursor)
            assert [r.partition_key for r in d.delivery_sensor(fixed)] == [C1]   # a corrected delivery
        tz = d.CONFIG.timezone
        launch = d.CONFIG.launch_date(d.CONFIG.cycles[1])
        sched = dg.build_schedule_context(scheduled_execution_time=dt.datetime.combine(launch, dt.time(6), tz))
        assert isinstance(d.cycle_schedule(sched), dg.SkipReason)              # C2 is due, but not delivered
        (share / C2).mkdir()
        (share / C2 / "sessions.csv").write_text("student_id\n1\n")
        assert [r.partition_key for r in d.cycle_schedule(sched)] == [C2]
    finally:
        monkeypatch.delenv("TUTORING_IMPACT_CONFIG")


def test_two_feeds_cannot_deliver_the_same_file(tmp_path):
    for vendor in ("a", "b"):
        (tmp_path / vendor / C1).mkdir(parents=True)
        (tmp_path / vendor / C1 / "sessions.csv").write_text(f"student_id\n{vendor}\n")
    config = _small_config(tmp_path, [{"name": n, "folder": "tutoring", "location": f"{n}/{{cycle}}"} for n in "ab"])
    a, b = pull.pulled_feeds(config)
    pull.pull_feed(config, a, C1)
    with pytest.raises(pull.PullError) as e:
        pull.pull_feed(config, b, C1)
    assert e.value.problem == "name clash" and "feed 'a'" in str(e.value)
    assert (config.inbox / C1 / "tutoring" / "sessions.csv").read_text() == "student_id\na\n"
