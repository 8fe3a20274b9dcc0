"""Pulling each cycle's deliveries from where districts get them: a shared folder, SFTP, S3 (DESIGN §2).

A ``sources:`` entry with a ``location`` is a *pulled feed*. Before landing, the feed's files for the
cycle are copied into ``<data_dir>/inbox/<cycle>/<folder>/`` — only new or changed ones — and the
copy is recorded in ``inbox/<cycle>/.pull-manifest.json`` (feed, remote path, remote modification
time, size, sha256), which landing carries into its manifest and the publish step into
``cycle_audit.pulled_from``.

Locations (``{cycle}`` is the cycle id, ``{school_year}`` the school-year id):

- ``kind: local``  a path (relative to the config file) or ``file://`` URL — a mounted share;
- ``kind: sftp``   ``sftp://USER@HOST[:PORT]/PATH`` — credentials: ``credentials_file`` (an OpenSSH
  private key under ``<data_dir>/secrets/``) or ``credentials_env`` (a variable holding the key text or
  a password); the server's host key must be in ``known_hosts`` (default
  ``<data_dir>/secrets/known_hosts``, as written by ``ssh-keyscan``);
- ``kind: s3``     ``s3://BUCKET/PREFIX`` (``endpoint_url`` for MinIO and other S3-compatible servers) —
  credentials: ``credentials_env: NAME`` reads ``NAME_ACCESS_KEY_ID`` and ``NAME_SECRET_ACCESS_KEY``,
  ``credentials_file`` an AWS-style credentials file under ``<data_dir>/secrets/``; neither: the
  machine's own AWS identity.

Without ``{cycle}`` the location is one folder the vendor overwrites: a file there belongs to the
cycle in whose window its modification date falls (from the cycle's end to the next cycle's end).

Each file is written under a hidden temporary name, its size checked against the listing (and, on
S3, its MD5 against a single-part ETag), hashed (sha256), and only when every file of the feed has
arrived are they renamed into the inbox — a failed pull leaves the inbox as it was. Transfers that
break off are retried with backoff on a new connection. Errors name the feed, the problem
(``host unreachable``, ``wrong credentials``, ``missing remote folder``, ``permission denied``,
``empty file``, ``host key not trusted``, ``transfer interrupted``, ``not delivered yet``,
``name clash``) and what to check. Only ``fsspec`` (with paramiko for SFTP, s3fs for S3) speaks the protocols.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import fnmatch
import hashlib
import json
import os
import shutil
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable
from urllib.parse import urlsplit

from orchestration.config import Config, ConfigError, Cycle

MANIFEST_NAME = ".pull-manifest.json"
READY = "_READY"
CHUNK = 1 << 20
KINDS = ("local", "sftp", "s3")
SECRET_KEYS = {"password", "passphrase", "secret", "secret_key", "private_key", "key", "token",
               "aws_secret_access_key", "aws_access_key_id", "credentials"}


class PullError(RuntimeError):
    """A feed could not be pulled: names the feed, the problem and what to check."""

    def __init__(self, feed: str, problem: str, detail: str, fix: str, where: str = ""):
        self.feed, self.problem, self.detail, self.fix, self.where = feed, problem, detail, fix, where
        super().__init__(f"feed '{feed}': {problem}: {detail}. Check: {fix}")

    @property
    def summary(self) -> str:
        return f"feed '{self.feed}': {self.problem}: {self.detail}"


class _Transient(Exception):
    """A transfer that broke off: retried on a new connection."""


@dataclass(frozen=True)
class Feed:
    """A pulled ``sources:`` entry."""
    index: int
    name: str
    kind: str
    location: str
    folder: str
    pattern: str
    settings: dict

    @property
    def templated(self) -> bool:
        return "{cycle}" in self.location

    def url(self, cycle_id: str, year_id: str) -> str:
        return self.location.replace("{cycle}", cycle_id).replace("{school_year}", year_id)

    def key(self) -> list[str]:
        return ["pull", "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in self.name)]


@dataclass
class RemoteFile:
    name: str
    path: str            # as the filesystem names it
    size: int
    mtime: float         # seconds since the epoch, UTC
    etag: str | None = None


@dataclass
class FeedPull:
    """What one pull of one feed did (file names only: never a file's content)."""
    feed: str
    cycle_id: str
    remote: str
    pulled: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0
    retries: int = 0


# ------------------------------------------------------------------------------------------ config
def pulled_feeds(config: Config) -> list[Feed]:
    """The ``sources:`` entries that name a location (the others only set per-feed options)."""
    out = []
    for i, s in enumerate(config.raw.get("sources") or []):
        if s.get("location"):
            out.append(Feed(i, str(s["name"]), s.get("kind", "local"), str(s["location"]), s["folder"],
                            str(s.get("pattern") or "*"), dict(s)))
    return out


def check_feeds(sources: list, config: Config) -> None:
    """Config-time checks of pulled feeds (ConfigError names the key, the value, what is allowed)."""
    names = set()
    for i, s in enumerate(sources or []):
        for k in s:
            if str(k).lower() in SECRET_KEYS:
                raise ConfigError(f"sources[{i}].{k}", "(hidden)", "no secret in the config: name an environment "
                                  "variable in credentials_env, or a file under <data_dir>/secrets/ in credentials_file")
        loc, kind = s.get("location"), s.get("kind", "local")
        if not loc and kind != "local":
            raise ConfigError(f"sources[{i}].location", None, f"where the {kind} feed is: " +
                              ("sftp://USER@HOST[:PORT]/PATH" if kind == "sftp" else "s3://BUCKET/PREFIX"))
        if not loc:
            continue
        if not s.get("name"):
            raise ConfigError(f"sources[{i}].name", None, "a name for a feed with a location (it names the pull asset)")
        if s["name"] in names:
            raise ConfigError(f"sources[{i}].name", s["name"], "a name no other feed has")
        names.add(s["name"])
        if s.get("folder") is None:
            raise ConfigError(f"sources[{i}].folder", None, "the inbox folder the feed fills: sis, screener or tutoring")
        scheme = urlsplit(str(loc)).scheme if "://" in str(loc) else ""
        want = {"local": ("", "file"), "sftp": ("sftp",), "s3": ("s3",)}[kind]
        if scheme not in want:
            raise ConfigError(f"sources[{i}].location", loc, {"local": "a folder path or file:// URL for kind local",
                              "sftp": "sftp://USER@HOST[:PORT]/PATH for kind sftp",
                              "s3": "s3://BUCKET/PREFIX for kind s3"}[kind])
        if kind == "sftp":
            u = urlsplit(str(loc))
            if u.password:
                raise ConfigError(f"sources[{i}].location", "sftp://USER:(hidden)@…", "a URL without a password: put "
                                  "it in the environment variable named by credentials_env")
            if not u.hostname or not u.username:
                raise ConfigError(f"sources[{i}].location", loc, "sftp://USER@HOST[:PORT]/PATH (user and host)")
            if not (s.get("credentials_env") or s.get("credentials_file")):
                raise ConfigError(f"sources[{i}].credentials_file", None, "a private key file under <data_dir>/secrets/ "
                                  "(credentials_file) or an environment variable (credentials_env) for an sftp feed")
        ref = s.get("credentials_file")
        if ref is not None and (not isinstance(ref, str) or "/" in ref or ref.startswith(".")):
            raise ConfigError(f"sources[{i}].credentials_file", ref, "the name of a file in <data_dir>/secrets/")
        for k in ("retries", "timeout_seconds"):
            if k in s and (isinstance(s[k], bool) or not isinstance(s[k], int) or not 1 <= s[k] <= 600):
                raise ConfigError(f"sources[{i}].{k}", s[k], "a whole number from 1 to 600")
        w = s.get("retry_wait_seconds", 1)
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w <= 600:
            raise ConfigError(f"sources[{i}].retry_wait_seconds", w, "a number of seconds from 0 to 600")


def _secret_file(config: Config, feed: Feed, name: str) -> Path:
    p = config.secrets / name
    if not p.is_file():
        raise PullError(feed.name, "wrong credentials", f"the credentials file {p} does not exist",
                        f"put the feed's key in {p} (mode 0600), or fix sources[{feed.index}].credentials_file")
    if p.stat().st_mode & 0o077:
        raise PullError(feed.name, "wrong credentials", f"{p} can be read by other users",
                        f"chmod 600 {p} (a secret must be readable by the pipeline's user only)")
    return p


def _env_secret(feed: Feed, name: str) -> str:
    v = os.environ.get(name)
    if not v:
        raise PullError(feed.name, "wrong credentials", f"the environment variable {name} is not set",
                        f"export {name} in the environment that runs the pipeline (sources[{feed.index}].credentials_env)")
    return v


# ------------------------------------------------------------------------------------------ connect
class HostKeyNotTrusted(Exception):
    pass


def _known_hosts_policy(path: Path):
    import paramiko

    class KnownHosts(paramiko.MissingHostKeyPolicy):
        """Accept a server only with the key known_hosts holds for it (OpenSSH's StrictHostKeyChecking)."""

        def missing_host_key(self, client, hostname, key):
            known = paramiko.HostKeys(str(path)) if path.is_file() else paramiko.HostKeys()
            entry = known.lookup(hostname) or {}
            if key.get_name() in entry and entry[key.get_name()] == key:
                return
            import base64
            fp = "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
            what = "has changed" if entry else "is not known"
            raise HostKeyNotTrusted(f"the host key of {hostname} ({key.get_name()} {fp}) {what} in {path}")

    return KnownHosts()


def _load_pkey(text: str | None = None, path: Path | None = None):
    import io
    import paramiko
    if path is not None:
        return paramiko.PKey.from_path(str(path))
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text))
        except paramiko.SSHException:
            continue
    raise ValueError("not a private key")


def feed_folder(config: Config, feed: Feed, cycle_id: str) -> str:
    """The feed's folder for the cycle, as its filesystem names it."""
    url = feed.url(cycle_id, config.school_year["id"])
    if feed.kind == "local":
        p = url[len("file://"):] if url.startswith("file://") else url
        path = Path(p) if Path(p).is_absolute() else (config.path.parent if config.path else Path.cwd()) / p
        return str(path.resolve())
    u = urlsplit(url)
    return (u.path or "/") if feed.kind == "sftp" else f"{u.netloc}{u.path}".rstrip("/")


def _close(fs) -> None:
    client = getattr(fs, "client", None)      # SFTP: the SSH connection
    if client is not None:
        try:
            client.close()
        except Exception:
            pass


def open_filesystem(config: Config, feed: Feed):
    """The feed's fsspec filesystem (SFTP connects at once; S3 on first use)."""
    import fsspec
    timeout = int(feed.settings.get("timeout_seconds") or 30)
    if feed.kind == "local":
        return fsspec.filesystem("file", skip_instance_cache=True)
    u = urlsplit(feed.location)
    if feed.kind == "sftp":
        from fsspec.implementations.sftp import SFTPFileSystem
        kw: dict = {"port": u.port or 22, "username": u.username, "look_for_keys": False, "allow_agent": False,
                    "timeout": timeout, "banner_timeout": timeout, "auth_timeout": timeout}
        if feed.settings.get("credentials_file"):
            kp = _secret_file(config, feed, feed.settings["credentials_file"])
            try:
                kw["pkey"] = _load_pkey(path=kp)
            except Exception:
                raise PullError(feed.name, "wrong credentials", f"{kp} is not an OpenSSH private key (or it has a "
                                "passphrase)", "the file holds the unencrypted private key whose public half is in "
                                "the server account's authorized_keys") from None
        else:
            v = _env_secret(feed, feed.settings["credentials_env"])
            if v.lstrip().startswith("-----BEGIN"):
                try:
                    kw["pkey"] = _load_pkey(text=v)
                except Exception:
                    raise PullError(feed.name, "wrong credentials", f"{feed.settings['credentials_env']} holds no "
                                    "readable private key", "the variable holds an unencrypted OpenSSH private key "
                                    "or the account's password") from None
            else:
                kw["password"] = v
        kh = feed.settings.get("known_hosts") or "known_hosts"
        khp = Path(kh) if Path(kh).is_absolute() else config.secrets / kh
        kw["host_key_policy"] = _known_hosts_policy(khp)
        return SFTPFileSystem(u.hostname, skip_instance_cache=True, **kw)
    # s3
    import s3fs
    key = secret = None
    if feed.settings.get("credentials_env"):
        n = feed.settings["credentials_env"]
        key, secret = _env_secret(feed, f"{n}_ACCESS_KEY_ID"), _env_secret(feed, f"{n}_SECRET_ACCESS_KEY")
    elif feed.settings.get("credentials_file"):
        key, secret = _aws_credentials_file(feed, _secret_file(config, feed, feed.settings["credentials_file"]))
    client_kwargs = {"region_name": feed.settings.get("region") or "us-east-1"}
    if feed.settings.get("endpoint_url"):
        client_kwargs["endpoint_url"] = feed.settings["endpoint_url"]
    return s3fs.S3FileSystem(key=key, secret=secret, anon=False, skip_instance_cache=True, use_listings_cache=False,
                           client_kwargs=client_kwargs,
                           config_kwargs={"connect_timeout": timeout, "read_timeout": timeout,
                                          "retries": {"max_attempts": 1, "mode": "standard"}})


def _aws_credentials_file(feed: Feed, path: Path) -> tuple[str, str]:
    vals = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            vals[k.strip().lower()] = v.strip()
    if "aws_access_key_id" not in vals or "aws_secret_access_key" not in vals:
        raise PullError(feed.name, "wrong credentials", f"{path} has no aws_access_key_id / aws_secret_access_key",
                        "the file is in the AWS credentials format: aws_access_key_id = … and aws_secret_access_key = …")
    return vals["aws_access_key_id"], vals["aws_secret_access_key"]


# ------------------------------------------------------------------------------------------ errors
def _where(config: Config, feed: Feed, cycle_id: str) -> str:
    u = feed.url(cycle_id, config.school_year["id"])
    return u


def classify(config: Config, feed: Feed, cycle_id: str, exc: BaseException) -> PullError | None:
    """Turn a library's exception into the documented problem, naming the feed and what to check
    (None: not a transfer problem at all, but a defect to surface as it is)."""
    if isinstance(exc, PullError):
        return exc
    where = _where(config, feed, cycle_id)
    loc = f"sources[{feed.index}].location"
    u = urlsplit(where) if "://" in where else None
    host = f"{u.hostname}:{u.port or 22}" if u and feed.kind == "sftp" else \
        (feed.settings.get("endpoint_url") or "the S3 endpoint") if feed.kind == "s3" else None
    cause = exc.__cause__ or exc.__context__
    code = ""
    for e in (exc, cause):
        resp = getattr(e, "response", None)
        if isinstance(resp, dict):
            code = resp.get("Error", {}).get("Code", "")
    name = type(exc).__name__
    try:
        import paramiko
        auth_types: tuple = (paramiko.AuthenticationException,)
        badkey: tuple = (paramiko.BadHostKeyException,)
    except ImportError:
        auth_types = badkey = ()
    if isinstance(exc, HostKeyNotTrusted) or (badkey and isinstance(exc, badkey)):
        return PullError(feed.name, "host key not trusted", str(exc),
                         f"that {host} is the district's server, then record its key: ssh-keyscan -p {u.port or 22} "
                         f"{u.hostname} >> {config.secrets / (feed.settings.get('known_hosts') or 'known_hosts')}",
                         where)
    if (auth_types and isinstance(exc, auth_types)) or code in ("InvalidAccessKeyId", "SignatureDoesNotMatch",
                                                                "ExpiredToken", "InvalidToken"):
        if feed.settings.get("credentials_file"):
            ref = str(config.secrets / feed.settings["credentials_file"])
        elif feed.settings.get("credentials_env"):
            ref = "$" + feed.settings["credentials_env"] + ("_ACCESS_KEY_ID / _SECRET_ACCESS_KEY" if feed.kind == "s3" else "")
        else:
            ref = "the machine's AWS identity"
        fix = (f"that the public half of the key in {ref} is in the authorized_keys of the account '{u.username}' "
               f"on {host} (or that the password is current)" if feed.kind == "sftp" else
               f"that {ref} holds an active access key of an account allowed to read the bucket")
        return PullError(feed.name, "wrong credentials", f"{host or where} refused the credentials in {ref}"
                         f"{' (' + code + ')' if code else ''}", fix, where)
    if isinstance(exc, socket.gaierror) or "NoValidConnectionsError" in name or isinstance(
            exc, (ConnectionRefusedError, TimeoutError, socket.timeout)) or "EndpointConnectionError" in name \
            or "ConnectTimeout" in name:
        if feed.kind == "s3" and feed.settings.get("endpoint_url"):
            loc = f"sources[{feed.index}].endpoint_url"
        return PullError(feed.name, "host unreachable", f"could not connect to {host or where} ({exc})",
                         f"the host name and port in {loc}, that the server is running, and that a firewall lets "
                         "this machine through; the cycle waits until the feed can be pulled", where)
    if isinstance(exc, FileNotFoundError) or code in ("NoSuchBucket", "NoSuchKey"):
        return PullError(feed.name, "missing remote folder", f"{where} does not exist ({exc})",
                         f"the path in {loc} (and that the vendor's export for cycle {cycle_id} has run: "
                         "the cycle waits for it)", where)
    if isinstance(exc, PermissionError) or code in ("AccessDenied", "AllAccessDisabled"):
        return PullError(feed.name, "permission denied", f"the server refused to list or read {where} ({exc})",
                         "that the feed's account may list and read that folder (SFTP: file permissions on "
                         "the server; S3: s3:ListBucket and s3:GetObject in the bucket policy)", where)
    lib = type(exc).__module__.split(".")[0]
    if not isinstance(exc, (OSError, EOFError)) and lib not in ("paramiko", "botocore", "aiobotocore", "aiohttp",
                                                                 "s3fs", "fsspec", "urllib3"):
        return None
    return PullError(feed.name, "transfer interrupted", f"{where}: {name}: {exc}",
                     "the server and the network; nothing in the inbox changed, so the run can be repeated", where)


# ------------------------------------------------------------------------------------------ listing
def _mtime(info: dict) -> float:
    for k in ("mtime", "LastModified", "last_modified", "modified"):
        v = info.get(k)
        if isinstance(v, dt.datetime):
            return (v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)).timestamp()
        if isinstance(v, (int, float)):
            return float(v)
    return 0.0


def list_remote(fs, folder: str) -> list[RemoteFile]:
    """The regular files directly in ``folder`` (FileNotFoundError when it is not there)."""
    if not fs.isdir(folder):
        raise FileNotFoundError(folder)
    out = []
    for info in fs.ls(folder, detail=True):
        if info.get("type") != "file":
            continue
        name = PurePosixPath(info["name"]).name
        etag = str(info.get("ETag") or "").strip('"') or None
        out.append(RemoteFile(name, info["name"], int(info.get("size") or 0), _mtime(info), etag))
    return sorted(out, key=lambda r: r.name)


def cycle_of(config: Config, when: float) -> Cycle | None:
    """For a location without ``{cycle}``: the cycle whose window — its end date up to the next
    cycle's end — holds this modification time (district dates); None when older than every cycle's end."""
    day = dt.datetime.fromtimestamp(when, config.timezone).date()
    found = None
    for c in config.cycles:
        if day >= c.end:
            found = c
    return found


def _wanted(config: Config, feed: Feed, cycle_id: str, files: list[RemoteFile]) -> list[RemoteFile]:
    keep = [r for r in files if not r.name.startswith((".", "_")) and fnmatch.fnmatch(r.name, feed.pattern)]
    if not feed.templated:
        keep = [r for r in keep if (c := cycle_of(config, r.mtime)) is not None and c.id == cycle_id]
    return keep


# ------------------------------------------------------------------------------------------ manifest
def manifest_path(config: Config, cycle_id: str) -> Path:
    return config.inbox / cycle_id / MANIFEST_NAME


def read_pull_manifest(config: Config, cycle_id: str) -> dict:
    """``{"files": {inbox-relative path: {feed, remote, remote_mtime, size, sha256, pulled_at}}}``."""
    p = manifest_path(config, cycle_id)
    if not p.is_file():
        return {"files": {}}
    return json.loads(p.read_text())


@contextmanager
def _manifest_lock(config: Config, cycle_id: str):
    d = config.data_dir / ".locks"
    d.mkdir(parents=True, exist_ok=True)
    with open(d / f"pull-{cycle_id}.lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(CHUNK):
            h.update(b)
    return h.hexdigest()


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds")


# ------------------------------------------------------------------------------------------ pull
def _download(fs, r: RemoteFile, dest: Path, on_chunk) -> tuple[str, int]:
    """Copy one file to ``dest``, hashing as it streams; a short or corrupt copy is _Transient."""
    h, md5, n = hashlib.sha256(), hashlib.md5(), 0
    try:
        with fs.open(r.path, "rb", block_size=CHUNK) as src, open(dest, "wb") as dst:
            while True:
                b = src.read(CHUNK)
                if not b:
                    break
                h.update(b)
                md5.update(b)
                dst.write(b)
                n += len(b)
                if on_chunk:
                    on_chunk(r.name, n)
            dst.flush()
            os.fsync(dst.fileno())
    except (FileNotFoundError, PermissionError):
        raise
    except Exception as e:      # a dropped connection surfaces as many types (EOFError, SSHException, OSError…)
        if type(e).__name__ in ("AuthenticationException", "BadHostKeyException"):
            raise
        raise _Transient(f"{type(e).__name__}: {e}") from e
    if n != r.size:
        raise _Transient(f"{r.name}: received {n} of {r.size} bytes")
    if r.etag and len(r.etag) == 32 and "-" not in r.etag and md5.hexdigest() != r.etag:
        raise _Transient(f"{r.name}: content does not match the server's checksum (ETag)")
    return h.hexdigest(), n


def pull_feed(config: Config, feed: Feed, cycle_id: str, *, on_chunk: Callable[[str, int], None] | None = None,
              log: Callable[[str], None] | None = None, sleep=time.sleep) -> FeedPull:
    """Copy the feed's new or changed files for the cycle into the inbox; all or nothing."""
    t0 = time.time()
    config.cycle(cycle_id)
    retries = int(feed.settings.get("retries") or 3)
    remote = _where(config, feed, cycle_id)
    res = FeedPull(feed.name, cycle_id, remote)
    target = config.inbox / cycle_id / feed.folder
    stage = config.inbox / f".pull-{cycle_id}-{feed.key()[1]}-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)

    def attempt(fn, what: str):
        """Run ``fn``; a broken transfer or an unreachable host is retried with backoff on a new
        connection, any other problem (credentials, missing folder, permissions) fails at once."""
        broke_off, last = False, None
        for i in range(retries):
            try:
                return fn()
            except _Transient as e:
                broke_off, last = True, e
            except Exception as e:
                err = classify(config, feed, cycle_id, e)
                if err is None:
                    raise
                if err.problem not in ("host unreachable", "transfer interrupted"):
                    raise err from None
                last = err
            res.retries += 1
            _close(state.pop("fs", None))
            if i + 1 < retries:
                wait = min(30.0, float(feed.settings.get("retry_wait_seconds", 1.0)) * 2 ** i)
                if log:
                    log(f"feed {feed.name}: {what} failed ({last}); retrying in {wait:.0f} s")
                sleep(wait)
        if isinstance(last, PullError) and not broke_off:
            raise last
        raise PullError(feed.name, "transfer interrupted", f"{what} from {remote} broke off and {retries} tries "
                        f"failed (last: {last})", "the server and the network; nothing in the inbox changed, "
                        "so the run can simply be repeated", remote) from None

    state: dict = {}

    def connected():
        if state.get("fs") is None:
            state["fs"] = open_filesystem(config, feed)
        return state["fs"]

    folder = feed_folder(config, feed, cycle_id)
    listing = attempt(lambda: list_remote(connected(), folder), "listing")
    ready = next((r for r in listing if r.name == READY), None)
    files = _wanted(config, feed, cycle_id, listing)
    if not files:
        newest = max((r.mtime for r in listing), default=None)
        detail = (f"{remote} holds no file matching '{feed.pattern}'" if feed.templated or newest is None else
                  f"{remote} has no file modified on or after the end of {cycle_id} "
                  f"({config.cycle(cycle_id).end}); its newest file is from "
                  f"{dt.datetime.fromtimestamp(newest, config.timezone).date()}")
        raise PullError(feed.name, "not delivered yet", detail, f"the pattern in sources[{feed.index}].pattern, and "
                        "that the vendor's export has run; the cycle waits for the delivery", remote)
    empty = [r.name for r in files if r.size == 0]
    if empty:
        raise PullError(feed.name, "empty file", f"{', '.join(empty)} in {remote} is 0 bytes",
                        "that the export finished (an empty file is usually a failed export); ask the sender to "
                        "re-run it — the earlier copy in the inbox is kept", remote)
    manifest = read_pull_manifest(config, cycle_id)["files"]
    staged: list[tuple[RemoteFile, str, int]] = []
    entries: dict[str, dict] = {}
    try:
        for r in files:
            rel = f"{feed.folder}/{r.name}"
            prev, local = manifest.get(rel), target / r.name
            same_remote = prev and prev.get("feed") == feed.name and prev.get("remote") == r.path and \
                prev.get("size") == r.size and prev.get("remote_mtime") == _iso(r.mtime) and prev.get("etag") == r.etag
            if same_remote and local.is_file() and local.stat().st_size == r.size and _sha256(local) == prev["sha256"]:
                res.unchanged.append(r.name)
                continue
            stage.mkdir(parents=True, exist_ok=True)
            digest, n = attempt(lambda r=r: _download(connected(), r, stage / r.name, on_chunk), f"copying {r.name}")
            entries[rel] = {"feed": feed.name, "remote": r.path, "url": remote.rstrip("/") + "/" + r.name,
                            "remote_mtime": _iso(r.mtime), "size": n, "sha256": digest, "etag": r.etag,
                            "pulled_at": _iso(time.time())}
            if local.is_file() and local.stat().st_size == n and _sha256(local) == digest:
                res.unchanged.append(r.name)         # touched on the server, same bytes: keep the inbox copy
                (stage / r.name).unlink()
                os.utime(local, (r.mtime, r.mtime))
            else:
                staged.append((r, digest, n))
        ready_text = None
        if ready is not None and ready.size <= 1024:
            ready_text = attempt(lambda: connected().cat_file(ready.path).decode("utf-8", "replace").strip(), "_READY")
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        _close(state.get("fs"))
    # every file arrived: rename them into the inbox, then record them
    current = {f"{feed.folder}/{r.name}" for r in files}
    with _manifest_lock(config, cycle_id):
        owners = read_pull_manifest(config, cycle_id)["files"]
        clash = sorted(rel for rel in current if owners.get(rel, {}).get("feed", feed.name) != feed.name)
        if clash:
            shutil.rmtree(stage, ignore_errors=True)
            raise PullError(feed.name, "name clash", f"{', '.join(clash)} also comes from feed "
                            f"'{owners[clash[0]]['feed']}'", f"sources[{feed.index}].pattern, so that each file "
                            "comes from one feed (or give the feeds different folders)", remote)
        target.mkdir(parents=True, exist_ok=True)
        for r, digest, n in staged:
            os.replace(stage / r.name, target / r.name)
            os.utime(target / r.name, (r.mtime, r.mtime))
            res.pulled.append(r.name)
            res.bytes += n
        doc = read_pull_manifest(config, cycle_id)
        for rel, e in list(doc["files"].items()):
            if e.get("feed") == feed.name and rel not in current:
                (config.inbox / cycle_id / rel).unlink(missing_ok=True)   # gone from the server: gone here
                res.removed.append(rel)
                del doc["files"][rel]
        doc["files"].update(entries)
        if ready_text is not None:
            _merge_ready(config.inbox / cycle_id / READY, ready_text)
        if entries or res.removed or feed.name not in doc.get("feeds", {}):    # nothing new: the inbox stays as it is
            doc.setdefault("feeds", {})[feed.name] = {"remote": remote, "kind": feed.kind,
                                                     "pulled_at": _iso(time.time()), "files": len(files)}
            tmp = manifest_path(config, cycle_id).with_suffix(".tmp")
            tmp.write_text(json.dumps(doc, indent=1, sort_keys=True))
            os.replace(tmp, manifest_path(config, cycle_id))
    shutil.rmtree(stage, ignore_errors=True)
    res.seconds = round(time.time() - t0, 3)
    if log:
        log(f"feed {feed.name}: {len(res.pulled)} pulled, {len(res.unchanged)} unchanged, {len(res.removed)} removed "
            f"from {remote}")
    return res


def _merge_ready(path: Path, text: str) -> None:
    """Each feed may send a `_READY` marker with its delivery date; the cycle's marker keeps the latest."""
    old = path.read_text().strip() if path.is_file() else None
    dates = [d for d in (old, text) if d]
    new = max(dates) if dates else ""
    if old is None or new != old:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(new + ("\n" if new else ""))
        os.replace(tmp, path)


def pull_cycle(config: Config, cycle_id: str, **kw) -> list[FeedPull]:
    """Pull every feed for the cycle (the CLI and tests; Dagster runs one asset per feed)."""
    return [pull_feed(config, f, cycle_id, **kw) for f in pulled_feeds(config)]


def cleanup_stages(config: Config) -> None:
    """Temporary folders of pulls whose process is gone (a killed run)."""
    if not config.inbox.is_dir():
        return
    for p in config.inbox.glob(".pull-*"):
        try:
            pid = int(p.name.rsplit("-", 1)[1])
            os.kill(pid, 0)
            continue
        except (ValueError, ProcessLookupError):
            shutil.rmtree(p, ignore_errors=True)
        except PermissionError:
            continue


# ------------------------------------------------------------------------------------------ watching
def remote_deliveries(config: Config, cycles: list[Cycle] | None = None) -> dict[str, str]:
    """cycle id → fingerprint of what the feeds hold for it (names, sizes, modification times), for the
    cycles every pulled feed has at least one file for. One connection per feed; PullError on failure."""
    feeds = pulled_feeds(config)
    cycles = config.cycles if cycles is None else cycles
    if not feeds or not cycles:
        return {}
    per_cycle: dict[str, list[str]] = {c.id: [] for c in cycles}
    have: dict[str, set[str]] = {c.id: set() for c in cycles}
    for f in feeds:
        fs = None
        try:
            fs = open_filesystem(config, f)
            if f.templated:
                for c in cycles:
                    try:
                        listing = list_remote(fs, feed_folder(config, f, c.id))
                    except FileNotFoundError:
                        continue
                    _note(config, f, c.id, listing, per_cycle, have)
            else:
                listing = list_remote(fs, feed_folder(config, f, cycles[0].id))
                for c in cycles:
                    _note(config, f, c.id, listing, per_cycle, have)
        except PullError:
            raise
        except Exception as e:
            err = classify(config, f, cycles[0].id, e)
            if err is None:
                raise
            raise err from None
        finally:
            _close(fs)
    return {cid: hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:16]
            for cid, lines in per_cycle.items() if len(have[cid]) == len(feeds)}


def _note(config, f: Feed, cycle_id: str, listing, per_cycle, have) -> None:
    files = _wanted(config, f, cycle_id, listing)
    if files:
        have[cycle_id].add(f.name)
    per_cycle[cycle_id] += [f"{f.name}|{r.name}|{r.size}|{int(r.mtime)}|{r.etag}" for r in files]
    per_cycle[cycle_id] += [f"{f.name}|{r.name}|{r.size}|{int(r.mtime)}" for r in listing if r.name == READY]


def cycles_to_run(config: Config) -> list[Cycle]:
    """``run --all``: every cycle with a delivery in the inbox or on every pulled feed, in calendar order."""
    remote = remote_deliveries(config) if pulled_feeds(config) else {}
    return [c for c in config.cycles if (config.inbox / c.id).is_dir() or c.id in remote]


def watched_deliveries(config: Config, cycles: list[Cycle] | None = None) -> dict[str, str]:
    """What the delivery sensor and the schedule watch when feeds are pulled: the feeds themselves
    (the inbox then fills from them), cycle id → fingerprint of a complete delivery."""
    return remote_deliveries(config, cycles)


# ------------------------------------------------------------------------------------------ Dagster
def pull_assets(config: Config, partitions) -> list:
    """One asset per pulled feed, partitioned by cycle (``pull/<feed>``): landing depends on them all."""
    return [_pull_asset(config, f, partitions) for f in pulled_feeds(config)]


def _pull_asset(config: Config, feed: Feed, partitions):
    import dagster as dg

    @dg.asset(key=feed.key(), partitions_def=partitions, group_name="pull", kinds={"file" if feed.kind == "local"
              else feed.kind}, description=f"Pull the {feed.folder} feed '{feed.name}' ({feed.kind}: {feed.location}, "
              f"files '{feed.pattern}') into inbox/<cycle>/{feed.folder}/: new or changed files only, verified.")
    def _pull(context):
        cycle_id = context.partition_key
        cleanup_stages(config)
        try:
            res = pull_feed(config, feed, cycle_id, log=context.log.info)
        except PullError as e:
            report = _failure_report(config, cycle_id, context.run_id, e)
            raise dg.Failure(description=str(e), metadata={
                "feed": feed.name, "problem": e.problem, "check": e.fix, "remote": e.where,
                "failure_report": dg.MetadataValue.path(str(report.with_suffix(".html")))}) from None
        return dg.MaterializeResult(metadata={
            "remote": res.remote, "files_pulled": len(res.pulled), "files_unchanged": len(res.unchanged),
            "files_removed": len(res.removed), "bytes": res.bytes, "seconds": res.seconds, "retries": res.retries,
            "pulled": dg.MetadataValue.json(res.pulled)})

    return _pull


def _failure_report(config: Config, cycle_id: str, run_id: str, e: PullError) -> Path:
    """The run's failure report (several feeds may fail in one run: each adds its check)."""
    from expectations.results import CheckResult, GateOutcome
    from orchestration.publish import write_failure_report
    mine = CheckResult(f"pull:{e.feed}", "pull", "error", False, source_file=e.where or None, failed_count=1,
                       message=e.summary, fix=e.fix, engine="pull", extra={"problem": e.problem})
    path = config.published / "failures" / cycle_id / f"{run_id}.json"
    earlier = []
    if path.is_file():
        import dataclasses
        known = {f.name for f in dataclasses.fields(CheckResult)}
        earlier = [CheckResult(**{k: v for k, v in c.items() if k in known})
                   for c in json.loads(path.read_text()).get("checks", []) if c.get("gate") == "pull"]
    with _manifest_lock(config, cycle_id):
        return write_failure_report(config, cycle_id, run_id, [GateOutcome("pull", [*earlier, mine])], "pull")
