"""Real file servers on loopback for the pull tests: OpenSSH's sshd (from the OS package) and an
S3-compatible server (moto in server mode, from the package index).

``ThrowawaySSHD`` writes its own sshd_config (StrictModes no, a throwaway ed25519 host key, key-only
login for the current user — root in CI — with its own authorized_keys, the internal SFTP server)
into a temporary folder and listens on a free 127.0.0.1 port. ``kill()`` stops it the hard way,
connections included, as a crashed server would; ``start()`` brings it back on the same port.
``ThrowawayS3`` runs ``python -m moto.server`` on a free port. When a server cannot be had, the
helpers skip — or fail when ``CI`` is set, so CI cannot skip these tests silently.
"""
from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SSHD_HINT = ("OpenSSH's server is not installed: run `apt-get update && apt-get install -y "
             "--no-install-recommends openssh-server`")


def unavailable(msg: str):
    if os.environ.get("CI"):
        pytest.fail(msg)
    pytest.skip(msg)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 20.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def _descendants(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for k in kids.get(p, []):
            out.append(k)
            todo.append(k)
    return out


class ThrowawaySSHD:
    def __init__(self, sftp_args: str = ""):
        if not Path(SSHD).is_file() or not shutil.which("ssh-keygen"):
            unavailable(SSHD_HINT)
        self.root = Path(tempfile.mkdtemp(prefix="ti-sshd-"))
        self.user = getpass.getuser()
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.host_key = self.root / "host_ed25519"
        self.client_key = self.root / "client_ed25519"
        for k in (self.host_key, self.client_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tutoring-impact-test", "-f", str(k)],
                           check=True)
        (self.root / "authorized_keys").write_text(Path(str(self.client_key) + ".pub").read_text())
        (self.root / "sshd_config").write_text(f"""\
ListenAddress 127.0.0.1
Port {self.port}
HostKey {self.host_key}
PidFile {self.root / 'sshd.pid'}
AuthorizedKeysFile {self.root / 'authorized_keys'}
AllowUsers {self.user}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
X11Forwarding no
AllowTcpForwarding no
LogLevel ERROR
Subsystem sftp internal-sftp {sftp_args}
""")
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)      # sshd's privilege-separation folder

    def start(self) -> "ThrowawaySSHD":
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.root / "sshd_config")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait_port(self.port, self.proc, "sshd")
        return self

    def kill(self) -> None:
        """As a crash would: the listener and every connection it serves, at once."""
        if self.proc and self.proc.poll() is None:
            for pid in [self.proc.pid, *_descendants(self.proc.pid)]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait(10)

    def known_hosts_line(self) -> str:
        r = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-p", str(self.port), "127.0.0.1"], capture_output=True,
                           text=True, timeout=20)
        line = next((ln for ln in r.stdout.splitlines() if ln and not ln.startswith("#")), None)
        assert line, r.stderr
        return line + "\n"

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class ThrowawayS3:
    """moto's S3 server; ``client()`` is a boto3 client for putting a vendor's files in a bucket."""

    key, secret = "AKIATESTTUTORING0001", "test-secret-not-a-real-one"

    def __init__(self, auth: bool = False):
        """``auth``: the server checks credentials (moto's IAM): ``key`` / ``secret`` are then those of
        an IAM user allowed s3:*, and any other key is refused."""
        self.auth = auth
        try:
            import moto.server  # noqa: F401
        except ImportError:
            unavailable("moto[server] is not installed: pip install -e '.[test]'")
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ThrowawayS3":
        env = {**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
        if self.auth:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"      # the three IAM calls below; then every request is checked
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        _wait_port(self.port, self.proc, "moto server", timeout=60)
        if self.auth:
            import json

            import boto3
            iam = boto3.client("iam", endpoint_url=self.endpoint, aws_access_key_id="bootstrap",
                               aws_secret_access_key="bootstrap", region_name="us-east-1")
            iam.create_user(UserName="vendor-export")
            k = iam.create_access_key(UserName="vendor-export")["AccessKey"]
            iam.put_user_policy(UserName="vendor-export", PolicyName="s3", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
            self.key, self.secret = k["AccessKeyId"], k["SecretAccessKey"]
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.key,
                            aws_secret_access_key=self.secret, region_name="us-east-1")

    def close(self) -> None:
        self.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
