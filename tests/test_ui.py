"""The data team's window: the Dagster webserver on the project's workspace, a cycle launched
through its GraphQL API, checks and metadata read back, and the pages rendered in a real headless
Chromium (screenshots kept in tests/artifacts/)."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, cli

pytestmark = pytest.mark.slow
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gql(port: int, query: str, variables: dict | None = None) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", method="POST",
                                 data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        doc = json.loads(r.read())
    assert "errors" not in doc, doc
    return doc["data"]


def chromium(url: str, png: Path, dom: bool = False) -> str:
    if not CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: apt-get install -y --no-install-recommends chromium")
        pytest.skip("chromium is not installed")
    profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"chromium-{os.getpid()}-{time.time_ns()}"
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--window-size=1400,1000", "--virtual-time-budget=15000"]
    png.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(args + [f"--screenshot={png}", url], capture_output=True, timeout=120)
    out = ""
    if dom:
        out = subprocess.run(args + ["--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    shutil.rmtree(profile, ignore_errors=True)
    return out


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    out = tmp_path_factory.mktemp("ui")
    r = cli("generate", "--students", "300", "--schools", "2", "--seed", "11", "--out", str(out),
            "--school-year", "2025-26")
    assert r.returncode == 0, r.stderr
    from orchestration.config import load_config
    config = load_config(out / "config.yml")
    for c in config.cycles[1:]:
        shutil.rmtree(config.inbox / c.id)
    from orchestration.cli import prepare_dagster_home
    env = dict(os.environ, TUTORING_IMPACT_CONFIG=str(config.path))
    old_home = os.environ.get("DAGSTER_HOME")
    env["DAGSTER_HOME"] = str(prepare_dagster_home(config))
    if old_home is not None:
        os.environ["DAGSTER_HOME"] = old_home
    port = free_port()
    # `dagster dev` is what `make ui` runs: the webserver plus the daemon that dequeues runs
    proc = subprocess.Popen([str(Path(sys.executable).parent / "dagster"), "dev", "-w", str(ROOT / "workspace.yaml"),
                             "-h", "127.0.0.1", "-p", str(port)], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=open(out / "webserver.log", "w"))
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
            break
        except OSError:
            time.sleep(1)
    else:
        proc.kill()
        pytest.fail("dagster-webserver did not start: " + (out / "webserver.log").read_text()[-2000:])
    yield config, port
    import signal
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


LAUNCH = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
RUN = """query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"""
CHECKS = """query { assetNodes { assetKey { path } } }"""
CHECK_EVAL = """query($k: AssetKeyInput!, $c: String!) { assetCheckExecutions(assetKey: $k, checkName: $c, limit: 1) {
  status evaluation { success metadataEntries { label ... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text } } } } }"""


def test_launch_a_cycle_through_graphql_and_read_checks_back(webserver):
    config, port = webserver
    cycle = config.cycles[0].id
    params = {"selector": {"repositoryLocationName": "tutoring_impact", "repositoryName": "__repository__",
                           "jobName": "cycle"},
              "executionMetadata": {"tags": [{"key": "dagster/partition", "value": cycle}]}}
    res = gql(port, LAUNCH, {"p": params})["launchRun"]
    assert res["__typename"] == "LaunchRunSuccess", res
    run_id = res["run"]["runId"]
    deadline, status = time.time() + 300, None
    while time.time() < deadline:
        status = gql(port, RUN, {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(3)
    assert status == "SUCCESS"
    keys = {"/".join(n["assetKey"]["path"]) for n in gql(port, CHECKS)["assetNodes"]}
    assert {"landing/sessions", "student_dosage", "publication"} <= keys
    g1 = gql(port, CHECK_EVAL, {"k": {"path": ["landing", "sessions"]}, "c": "gate1_sources"})["assetCheckExecutions"][0]
    g2 = gql(port, CHECK_EVAL, {"k": {"path": ["publication"]}, "c": "gate2_marts"})["assetCheckExecutions"][0]
    assert g1["evaluation"]["success"] and g2["evaluation"]["success"]
    labels = {e["label"] for e in g1["evaluation"]["metadataEntries"]}
    assert {"status", "checks", "errors", "warnings"} <= labels
    assert (config.published / "current" / "report.html").is_file()
    # the pages, in a real browser
    dom = chromium(f"http://127.0.0.1:{port}/asset-groups", ARTIFACTS / "dagster_assets.png", dom=True)
    chromium(f"http://127.0.0.1:{port}/runs/{run_id}", ARTIFACTS / "dagster_run.png")
    assert (ARTIFACTS / "dagster_assets.png").stat().st_size > 10_000
    assert (ARTIFACTS / "dagster_run.png").stat().st_size > 10_000
    assert "publication" in dom or "land_delivery" in dom or "landing" in dom
