"""Superset settings for the district dashboards (read by Superset through SUPERSET_CONFIG_PATH).

Each built output (``<data_dir>/dashboards/public`` or ``.../restricted``) is its own Superset
instance: its own metadata database, secret key and access rules, named by the environment variable
``TUTORING_IMPACT_DASHBOARDS`` (the output folder). Nothing here reaches outside the machine:
telemetry is off and the pages load only what Superset serves itself.
"""
import json
import os
from pathlib import Path

_OUT = Path(os.environ.get("TUTORING_IMPACT_DASHBOARDS", Path(__file__).resolve().parent / ".venv" / "template"))
_INSTANCE = json.loads((_OUT / "instance.json").read_text()) if (_OUT / "instance.json").is_file() else {}

SQLALCHEMY_DATABASE_URI = f"sqlite:///{_OUT / 'superset.db'}"
SECRET_KEY = (_OUT / "secret_key").read_text().strip() if (_OUT / "secret_key").is_file() else "template-only"
DATA_DIR = str(_OUT / "superset_home")

# No usage pings (the Scarf pixel) and no version checks; no example data.
SCARF_ANALYTICS = False
os.environ.setdefault("SCARF_ANALYTICS", "false")
# The dashboards are read-only views of published files: no uploads, no SQL Lab writes.
PREVENT_UNSAFE_DB_CONNECTIONS = False        # DuckDB is a local file
ALLOW_FILE_UPLOAD = False
# Charts render as soon as a page opens (not when scrolled to), so a printed or captured page is whole.
FEATURE_FLAGS = {"DASHBOARD_RBAC": True, "EMBEDDED_SUPERSET": False, "ALERT_REPORTS": False,
                 "ENABLE_TEMPLATE_PROCESSING": False, "DASHBOARD_VIRTUALIZATION": False}
# The public instance shows its dashboards without a login; the restricted one asks for one.
if _INSTANCE.get("access") == "public":
    AUTH_ROLE_PUBLIC = "Public"
    PUBLIC_ROLE_LIKE = "Gamma"
WTF_CSRF_ENABLED = True
# Cookies do not tell ports apart: each output keeps its own session cookie, so opening the public
# pages does not log a user out of the restricted ones on the same host.
SESSION_COOKIE_NAME = f"tutoring_impact_{_INSTANCE.get('access', 'template')}_session"
# Superset 6.1's navigation bar always renders a usage pixel (an <img> on a scarf.sh host) whatever
# SCARF_ANALYTICS says in the pip wheel. This policy lets pages load only from the Superset server
# itself, so the browser never sends it; the role pages are opened with ?standalone=1, which leaves
# the navigation bar (and the pixel) out altogether.
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"], "default-src": ["'self'"], "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"], "connect-src": ["'self'"], "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"], "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
TALISMAN_DEV_CONFIG = TALISMAN_CONFIG
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300}
DATA_CACHE_CONFIG = CACHE_CONFIG
RESULTS_BACKEND = None
ROW_LIMIT = 50000
SUPERSET_WEBSERVER_TIMEOUT = 120
LOG_LEVEL = "WARNING"
CONTENT_SECURITY_POLICY_WARNING = False
