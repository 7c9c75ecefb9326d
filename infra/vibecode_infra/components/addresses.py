"""Where things live: our namespaces, and the in-cluster URLs one component gives another.

Every URL here names a Service that is declared (ours) or that a named release renders (its
chart's templates, cited in charts.py); the verification chain checks each one resolves.
"""

from __future__ import annotations

from . import charts

INGRESS_NS = "ingress-nginx"
CERT_NS = "cert-manager"
AUTH_NS = "authelia"
API_NS = "vibecode"
OPERATOR_NS = "cnpg-system"
DB_NS = "vibecode-data"
DATADOG_NS = "datadog"
SCANNER_NS = "vibecode-scanner"

API_SERVICE = "vibecode-api"
API_PORT = 8000
"""The API container's port; its Services listen on 80."""
AUTH_PORT = 9091
"""Authelia's container port (`configMap.port` default); its Service listens on 80."""
DB_CLUSTER = "vibecode-db"
ACME_SOLVER_PORT = 8089
ACME_SOLVER_LABEL = "acme.cert-manager.io/http01-solver"


def svc(name: str, namespace: str, port: int | None = None) -> str:
    return f"http://{name}.{namespace}.svc.cluster.local{f':{port}' if port else ''}"


AUTHELIA_AUTHZ_URL = f"{svc(charts.AUTHELIA.release, AUTH_NS)}/api/authz/auth-request"
"""Authelia's auth-request endpoint (its Service, named after the release, port 80)."""


def workspace_authz_url(owner_namespace: str) -> str:
    """The API's owner check for one workspace (ingress-nginx's auth-url allows only
    `[-._~a-zA-Z0-9/:, ?&=$]`, so the owner goes as its user namespace, a DNS label)."""
    return f"{svc(API_SERVICE, API_NS)}/api/authz/workspace?owner={owner_namespace}"


DB_URI_HOST = f"{DB_CLUSTER}-rw.{DB_NS}.svc.cluster.local"
"""CloudNativePG's read-write Service for the Cluster (`<cluster>-rw`, port 5432)."""


CLAMD_SERVICE = "clamd"
CLAMD_PORT = 3310
"""clamd's TCPSocket in the image's clamd.conf (clamav-docker's Dockerfile sets 3310)."""
CLAMD_URL = f"tcp://{CLAMD_SERVICE}.{SCANNER_NS}.svc.cluster.local:{CLAMD_PORT}"
"""The API's VIBE_CLAMD_URL: the scanner component's Service."""
