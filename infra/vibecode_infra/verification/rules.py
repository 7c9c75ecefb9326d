"""The platform's invariants, each a small named rule over the cluster model.

A rule returns what is wrong, in words that name the object and the fact. `check` runs them
all; `RULES` lists them for the report and for tests that want one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..config import StackConfig
from . import podsecurity
from .model import Cluster
from .paths import get, ident

Rule = Callable[["Context"], list[str]]
RULES: dict[str, Rule] = {}


@dataclass
class Context:
    cluster: Cluster
    cfg: StackConfig
    root: Path

    @property
    def manifests(self) -> list[dict[str, Any]]:
        return self.cluster.manifests

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return self.cluster.of_kind(kind)

    def in_ns(self, kind: str, ns: str) -> list[dict[str, Any]]:
        return [m for m in self.of_kind(kind) if m["metadata"].get("namespace") == ns]


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        return fn

    return register


def check(ctx: Context) -> list[str]:
    return [*ctx.cluster.problems, *(f for fn in RULES.values() for f in fn(ctx))]


WORKSPACE_NS = re.compile(r"^user-.+-ws-.+$")
AUTH_KEYS = (
    "nginx.ingress.kubernetes.io/auth-url",
    "nginx.ingress.kubernetes.io/auth-signin",
    "nginx.ingress.kubernetes.io/auth-response-headers",
)
SNIPPETS = ("configuration-snippet", "server-snippet", "auth-snippet", "stream-snippet")
TAGS = ("tags.datadoghq.com/env", "tags.datadoghq.com/service", "tags.datadoghq.com/version")


# -- one object at a time ------------------------------------------------------------------------
@rule("namespaces are default-deny; workspaces have quotas and are restricted")
def namespaces(ctx: Context) -> list[str]:
    failures = []
    for m in ctx.of_kind("Namespace"):
        ns = m["metadata"]["name"]
        denies = [
            p
            for p in ctx.in_ns("NetworkPolicy", ns)
            if p["spec"].get("podSelector") == {}
            and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress")
            and not p["spec"].get("egress")
        ]
        if not denies:
            failures.append(f"namespace {ns}: no default-deny NetworkPolicy")
        if WORKSPACE_NS.match(ns):
            if not ctx.in_ns("ResourceQuota", ns):
                failures.append(f"workspace namespace {ns}: no ResourceQuota")
            if not ctx.in_ns("LimitRange", ns):
                failures.append(f"workspace namespace {ns}: no LimitRange")
            level = m["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce")
            if level != "restricted":
                failures.append(f"workspace namespace {ns}: not Pod Security restricted")
    return failures


@rule("our workloads are hardened and tagged")
def workloads(ctx: Context) -> list[str]:
    failures = []
    for pod in (p for p in ctx.cluster.pods if p.ours):
        spec, who = pod.spec, f"{pod.source}/{pod.namespace}/{pod.name}"
        pod_ctx = spec.get("securityContext", {})
        containers = spec.get("containers", [])
        for c in containers + spec.get("initContainers", []):
            sc = c.get("securityContext", {})
            name = f"{who} container {c['name']}"
            if not (get(c, "resources.requests") and get(c, "resources.limits")):
                failures.append(f"{name}: requests and limits are required")
            if c in containers and not (c.get("livenessProbe") and c.get("readinessProbe")):
                failures.append(f"{name}: liveness and readiness probes are required")
            if not (sc.get("runAsNonRoot") or pod_ctx.get("runAsNonRoot")):
                failures.append(f"{name}: must run as non-root")
            if sc.get("allowPrivilegeEscalation") is not False:
                failures.append(f"{name}: allowPrivilegeEscalation must be false")
            seccomp = sc.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}
            if seccomp.get("type") != "RuntimeDefault":
                failures.append(f"{name}: seccomp must be RuntimeDefault")
            if sc.get("readOnlyRootFilesystem") is not True:
                failures.append(f"{name}: read-only root filesystem expected")
    for m in ctx.manifests:
        if m["kind"] not in ("Deployment", "StatefulSet", "DaemonSet"):
            continue
        labels = m["metadata"].get("labels", {})
        template = get(m, "spec.template.metadata.labels") or {}
        for tag in TAGS:
            if tag not in labels or tag not in template:
                failures.append(
                    f"{ident(m)}: Datadog tag {tag} missing on the workload or its pods"
                )
    return failures


@rule("ingresses are behind auth, with TLS and no snippets")
def ingresses(ctx: Context) -> list[str]:
    failures = []
    for ing in ctx.of_kind("Ingress"):
        annotations = ing["metadata"].get("annotations", {})
        missing = [k for k in AUTH_KEYS if k not in annotations]
        if missing:
            failures.append(f"{ident(ing)}: not behind Authelia (missing {', '.join(missing)})")
        if any(k.endswith(SNIPPETS) for k in annotations):
            failures.append(f"{ident(ing)}: snippet annotations are not allowed")
        if not get(ing, "spec.tls"):
            failures.append(f"{ident(ing)}: no TLS")
    return failures


@rule("workspace quotas come from the tier, with room for an ACME solver")
def workspace_quotas(ctx: Context) -> list[str]:
    from vibecode_core.tenancy import tier, workspace_namespace

    from ..components.charts import ACME_SOLVER_RESOURCES as SOLVER_RESOURCES
    from ..quantities import bytes_of, millicores

    failures = []
    acme = ctx.cfg.tls.issuer == "acme"
    namespaces = {m["metadata"]["name"] for m in ctx.of_kind("Namespace")}
    for spec in ctx.cfg.all_workspaces(ctx.root):
        ns = workspace_namespace(spec.user, spec.workspace)
        if ns not in namespaces:
            failures.append(f"workspace {spec.user}/{spec.workspace}: namespace {ns} missing")
            continue
        res = tier(spec.tier).workspace
        quotas = ctx.in_ns("ResourceQuota", ns)
        hard = quotas[0]["spec"]["hard"] if quotas else {}
        solver = SOLVER_RESOURCES if acme else {"requests": {}, "limits": {}}
        expected = {
            "requests.cpu": (millicores, res.cpu_request, solver["requests"].get("cpu", "0")),
            "limits.cpu": (millicores, res.cpu_limit, solver["limits"].get("cpu", "0")),
            "requests.memory": (
                bytes_of,
                res.memory_request,
                solver["requests"].get("memory", "0"),
            ),
            "limits.memory": (bytes_of, res.memory_limit, solver["limits"].get("memory", "0")),
        }
        for key, (parse, tier_value, headroom) in expected.items():
            want = parse(tier_value) + parse(headroom)
            if key not in hard or parse(str(hard[key])) != want:
                failures.append(
                    f"{ns}: quota {key} is {hard.get(key)}, the tier says {tier_value}"
                    + (f" plus {headroom} for cert-manager's HTTP-01 solver" if acme else "")
                )
        if str(hard.get("requests.storage")) != res.storage:
            failures.append(
                f"{ns}: quota requests.storage is {hard.get('requests.storage')}, "
                f"the tier says {res.storage}"
            )
    return failures


@rule("blue and green both exist; the active Service selects the configured colour")
def blue_green(ctx: Context) -> list[str]:
    failures = []
    deploys = {m["metadata"]["name"] for m in ctx.of_kind("Deployment")}
    if not {"vibecode-api-blue", "vibecode-api-green"} <= deploys:
        failures.append("api: blue and green Deployments are both required")
    active = [s for s in ctx.of_kind("Service") if s["metadata"]["name"] == "vibecode-api"]
    if (
        not active
        or active[0]["spec"]["selector"].get("vibecode.dev/color") != ctx.cfg.api.active_color
    ):
        failures.append(f"api: the active Service must select {ctx.cfg.api.active_color}")
    return failures


@rule("ingress-nginx keeps WebSockets open and refuses snippets; charts are pinned and named")
def releases(ctx: Context) -> list[str]:
    failures = []
    for rel in ctx.cluster.releases:
        if rel.chart == "ingress-nginx":
            conf = get(rel.values, "controller.config") or {}
            for key in ("proxy-read-timeout", "proxy-send-timeout"):
                if str(conf.get(key)) != "3600":
                    failures.append(f"ingress-nginx: {key} must be 3600")
            if get(rel.values, "controller.allowSnippetAnnotations") is not False:
                failures.append("ingress-nginx: snippet annotations must be disabled")
        if not rel.version:
            failures.append(f"helm release {rel.resource}: chart version must be pinned")
    return failures


# -- across objects --------------------------------------------------------------------------------
def _referenced(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, name) of every Secret and ConfigMap a pod spec needs."""
    found: list[tuple[str, str]] = []
    for c in [*spec.get("initContainers", []), *spec.get("containers", [])]:
        for env in c.get("env", []):
            ref = env.get("valueFrom") or {}
            for key, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                if key in ref and not ref[key].get("optional"):
                    found.append((kind, ref[key]["name"]))
        for source in c.get("envFrom", []):
            for key, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                if key in source and not source[key].get("optional"):
                    found.append((kind, source[key]["name"]))
    for volume in spec.get("volumes", []):
        if "secret" in volume and not volume["secret"].get("optional"):
            found.append(("Secret", volume["secret"]["secretName"]))
        if "configMap" in volume and not volume["configMap"].get("optional"):
            found.append(("ConfigMap", volume["configMap"]["name"]))
        for projected in (volume.get("projected") or {}).get("sources", []):
            for key, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
                if key in projected and not projected[key].get("optional"):
                    found.append((kind, projected[key]["name"]))
    return found


@rule("every Secret and ConfigMap a pod or database references exists in its own namespace")
def references(ctx: Context) -> list[str]:
    failures = []
    known = {"Secret": ctx.cluster.secrets, "ConfigMap": ctx.cluster.configmaps}
    for pod in ctx.cluster.pods:
        for kind, name in _referenced(pod.spec):
            if (pod.namespace, name) not in known[kind]:
                elsewhere = sorted(ns for ns, n in known[kind] if n == name)
                hint = (
                    f" (it exists in {', '.join(elsewhere)}; a pod reads only its own)"
                    if elsewhere
                    else ""
                )
                failures.append(
                    f"{pod.who}: {kind} {name} does not exist in namespace {pod.namespace}{hint}"
                )
    for m in ctx.of_kind("Cluster"):
        ns, spec = m["metadata"].get("namespace", ""), m.get("spec", {})
        names = [
            get(spec, "bootstrap.initdb.secret.name"),
            get(spec, "backup.barmanObjectStore.s3Credentials.accessKeyId.name"),
            get(spec, "backup.barmanObjectStore.s3Credentials.secretAccessKey.name"),
        ]
        for name in filter(None, names):
            if (ns, name) not in ctx.cluster.secrets:
                failures.append(f"{ident(m)}: Secret {name} does not exist in namespace {ns}")
    return failures


URL = re.compile(
    r"\b(?P<scheme>https?|tcp)://(?P<svc>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)"
    r"\.svc(\.cluster\.local)?(:(?P<port>\d+))?"
)


def _urls(ctx: Context) -> list[tuple[str, str]]:
    """(where, text) of every annotation, env value and ConfigMap value of ours."""
    found: list[tuple[str, str]] = []
    for m in ctx.manifests:
        for key, value in (m["metadata"].get("annotations") or {}).items():
            found.append((f"{ident(m)} annotation {key}", str(value)))
        if m["kind"] == "ConfigMap":
            for key, value in (m.get("data") or {}).items():
                found.append((f"{ident(m)} {key}", str(value)))
    for pod in ctx.cluster.pods:
        if not pod.ours:
            continue
        for c in pod.spec.get("containers", []) + pod.spec.get("initContainers", []):
            for env in c.get("env", []):
                if "value" in env:
                    found.append((f"{pod.who} env {env['name']}", str(env["value"])))
    return found


@rule("every in-cluster URL names a Service that will exist, on a port it serves")
def service_urls(ctx: Context) -> list[str]:
    failures = []
    for where, text in _urls(ctx):
        for match in URL.finditer(text):
            ns, name = match["ns"], match["svc"]
            port = int(match["port"] or {"https": 443, "http": 80}.get(match["scheme"], 0))
            service = ctx.cluster.service(ns, name)
            if service is None:
                near = sorted(s.name for s in ctx.cluster.services if s.namespace == ns)
                failures.append(
                    f"{where}: {match.group(0)} names Service {ns}/{name}, which nothing "
                    f"creates (Services in {ns}: {', '.join(near) or 'none'})"
                )
            elif port not in service.ports:
                failures.append(
                    f"{where}: {match.group(0)}: Service {ns}/{name} serves "
                    f"{sorted(service.ports)}, not {port}"
                )
    return failures


@rule("each namespace's Pod Security level admits the pods that will run there")
def pod_security(ctx: Context) -> list[str]:
    failures = []
    for pod in ctx.cluster.pods:
        labels = ctx.cluster.namespaces.get(pod.namespace, {})
        level = labels.get("pod-security.kubernetes.io/enforce", "privileged")
        for problem in podsecurity.violations(level, pod.spec):
            failures.append(
                f"{pod.who}: Pod Security {level} of {pod.namespace} refuses it: {problem}"
            )
    return failures


@rule("image pull policies fit the stack")
def image_pull(ctx: Context) -> list[str]:
    failures = []
    for pod in (p for p in ctx.cluster.pods if p.ours):
        for c in pod.spec.get("containers", []) + pod.spec.get("initContainers", []):
            policy = c.get(
                "imagePullPolicy", "IfNotPresent" if ":" in c.get("image", ":") else "Always"
            )
            if ctx.cfg.kind and policy == "Always":
                failures.append(
                    f"{pod.who} container {c['name']}: imagePullPolicy Always on KIND ignores "
                    "images loaded with kind load (ErrImagePull, or a stranger's image)"
                )
            if not ctx.cfg.kind and policy != "Always":
                failures.append(f"{pod.who} container {c['name']}: imagePullPolicy must be Always")
    return failures


@rule("a workspace is reachable by its owner only: its ingress asks the owner check")
def workspace_ownership(ctx: Context) -> list[str]:
    from vibecode_core.tenancy import user_namespace, workspace_namespace

    from ..components.addresses import workspace_authz_url

    failures = []
    for spec in ctx.cfg.all_workspaces(ctx.root):
        ns = workspace_namespace(spec.user, spec.workspace)
        wanted = workspace_authz_url(user_namespace(spec.user))
        for ing in ctx.in_ns("Ingress", ns):
            url = (ing["metadata"].get("annotations") or {}).get(
                "nginx.ingress.kubernetes.io/auth-url"
            )
            if url != wanted:
                failures.append(
                    f"{ident(ing)}: auth-url {url} does not check that the caller owns the "
                    f"workspace (expected {wanted}); any signed-in user would get its shell"
                )
    for pod in (p for p in ctx.cluster.pods if p.ours and WORKSPACE_NS.match(p.namespace)):
        for c in pod.spec.get("containers", []):
            args = c.get("args", [])
            if "--auth" in args and args[args.index("--auth") + 1] == "none":
                # Safe only behind the owner check, with nothing but ingress-nginx admitted.
                ingress_rules = [
                    r
                    for p in ctx.in_ns("NetworkPolicy", pod.namespace)
                    for r in p["spec"].get("ingress", []) or []
                ]
                if any(not r.get("from") for r in ingress_rules):
                    failures.append(
                        f"{pod.who}: code-server without auth admits traffic from anywhere"
                    )
    return failures


@rule("Authelia has real users and no template account")
def authelia_users(ctx: Context) -> list[str]:
    from ..components.auth import ADMIN_GROUP, USERS_SECRET, users_file

    failures = []
    rel = next((r for r in ctx.cluster.releases if r.chart == "authelia"), None)
    if rel is None:
        return ["authelia: no release"]
    backend = get(rel.values, "configMap.authentication_backend.file") or {}
    mounted = set(get(rel.values, "secret.additionalSecrets") or {})
    path = str(backend.get("path", "/config/users_database.yml"))
    if USERS_SECRET not in mounted or not path.startswith(f"/secrets/{USERS_SECRET}/"):
        failures.append(
            f"authelia: the users file {path} is not a provisioned Secret, so Authelia writes its "
            "template users file on first start (user authelia, password authelia) and nobody "
            "else can sign in"
        )
        return failures
    secret = next(
        (m for m in ctx.in_ns("Secret", rel.namespace) if m["metadata"]["name"] == USERS_SECRET),
        None,
    )
    if secret is None:
        return [f"authelia: Secret {USERS_SECRET} is mounted but not declared"]
    # The Secret's contents are masked in the render (they hold the admin's hash): read what
    # the program writes there, from the stack's config.
    users = yaml.safe_load(users_file(ctx.cfg, "(hash)"))["users"]
    if "authelia" in users:
        failures.append("authelia: the template account 'authelia' is provisioned")
    if not any(ADMIN_GROUP in (u.get("groups") or []) for u in users.values()):
        failures.append(f"authelia: no user is in {ADMIN_GROUP}")
    return failures


@rule("identity headers need the ingress's proxy secret")
def proxy_secret(ctx: Context) -> list[str]:
    from vibecode_core.proxy_headers import PROXY_SECRET_HEADER

    failures = []
    ingress = next((r for r in ctx.cluster.releases if r.chart == "ingress-nginx"), None)
    headers = get(ingress.values, "controller.proxySetHeaders") if ingress else None
    if not headers or PROXY_SECRET_HEADER not in headers:
        failures.append(
            f"ingress-nginx: controller.proxySetHeaders does not set {PROXY_SECRET_HEADER}: the "
            "API would trust Remote-User from any pod of a trusted range (on a CNI that ignores "
            "NetworkPolicy, any pod is any user)"
        )
    for pod in (
        p for p in ctx.cluster.pods if p.ours and p.labels.get("app.kubernetes.io/name") == "api"
    ):
        env = {e["name"]: e for c in pod.spec.get("containers", []) for e in c.get("env", [])}
        if "secretKeyRef" not in (env.get("VIBE_PROXY_SECRET", {}).get("valueFrom") or {}):
            failures.append(f"{pod.who}: VIBE_PROXY_SECRET does not come from a Secret")
    return failures


@rule("a disruption budget never blocks a drain")
def disruption_budgets(ctx: Context) -> list[str]:
    failures = []
    for pdb in ctx.of_kind("PodDisruptionBudget"):
        ns = pdb["metadata"].get("namespace")
        selector = get(pdb, "spec.selector") or {}
        minimum = get(pdb, "spec.minAvailable")
        if minimum is None:
            continue
        for d in ctx.in_ns("Deployment", ns):
            labels = get(d, "spec.template.metadata.labels") or {}
            if all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()):
                replicas = int(get(d, "spec.replicas") or 1)
                if isinstance(minimum, int) and minimum >= replicas:
                    failures.append(
                        f"{ident(pdb)}: minAvailable {minimum} with {replicas} replica(s) of "
                        f"{d['metadata']['name']} refuses every eviction (node drains hang)"
                    )
    return failures


@rule("Authelia's rules name hosts we serve")
def authelia_rules(ctx: Context) -> list[str]:
    failures = []
    rel = next((r for r in ctx.cluster.releases if r.chart == "authelia"), None)
    hosts = {
        rule["host"]
        for ing in ctx.of_kind("Ingress")
        for rule in (ing.get("spec") or {}).get("rules", [])
    }
    for entry in (get(rel.values, "configMap.access_control.rules") or []) if rel else []:
        for domain in entry.get("domain", []):
            if domain.startswith("*."):
                continue
            if domain not in hosts:
                failures.append(
                    f"authelia: an access rule ({entry.get('policy')}) names {domain}, which no "
                    f"Ingress serves (hosts: {', '.join(sorted(hosts))})"
                )
    return failures


CNPG_TAG = re.compile(r"^\d+\.\d+-(?P<type>minimal|standard|system)-(bookworm|trixie)$")


@rule("the database image is a maintained CloudNativePG tag with pgvector (and Barman for backups)")
def database_image(ctx: Context) -> list[str]:
    failures = []
    for m in ctx.of_kind("Cluster"):
        image = str(get(m, "spec.imageName") or "")
        tag = image.rsplit(":", 1)[-1]
        found = CNPG_TAG.match(tag)
        if not image.startswith("ghcr.io/cloudnative-pg/postgresql:") or not found:
            failures.append(
                f"{ident(m)}: {image} is not a MM.mm-TYPE-OS tag of cloudnative-pg/postgres-"
                "containers (bare `17-bookworm` tags came from the discontinued pipeline)"
            )
            continue
        if found["type"] == "minimal":
            failures.append(f"{ident(m)}: {image} is a minimal image, without pgvector")
        if get(m, "spec.backup.barmanObjectStore") and found["type"] != "system":
            failures.append(
                f"{ident(m)}: in-core barmanObjectStore backups need the Barman Cloud binaries "
                f"of a `system` image, not {found['type']}"
            )
    return failures


@rule("every custom resource's kind is installed by a release")
def custom_resources(ctx: Context) -> list[str]:
    builtin = {"v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "policy/v1",
               "rbac.authorization.k8s.io/v1", "autoscaling/v2"}  # fmt: skip
    failures = []
    for m in ctx.manifests:
        if m["apiVersion"] in builtin:
            continue
        if (m["apiVersion"], m["kind"]) not in ctx.cluster.crds:
            failures.append(
                f"{ident(m)}: no release installs the CRD for {m['apiVersion']} {m['kind']}"
            )
    return failures


DEFAULT_EXTENSIONS = "/home/coder/.local/share/code-server/extensions"
"""Where code-server keeps extensions without `--extensions-dir`."""
TMP = "/tmp"  # noqa: S108 - a mount path in the pod, not ours


@rule("the workspace volume hides nothing the image needs")
def workspace_home(ctx: Context) -> list[str]:
    failures = []
    for pod in (p for p in ctx.cluster.pods if p.ours and WORKSPACE_NS.match(p.namespace)):
        for c in pod.spec.get("containers", []):
            if c.get("name") != "code-server":
                continue
            mounts = [v["mountPath"] for v in c.get("volumeMounts", [])]
            args = c.get("args", [])
            extensions = (
                args[args.index("--extensions-dir") + 1]
                if "--extensions-dir" in args
                else DEFAULT_EXTENSIONS
            )
            if any(extensions.startswith(m.rstrip("/") + "/") for m in mounts if m != TMP):
                failures.append(
                    f"{pod.who}: the extensions dir {extensions} is under a volume mount, which "
                    "hides the extensions installed in the image"
                )
            seeded = any(
                "/home/coder" in " ".join(i.get("command", []) + i.get("args", []))
                for i in pod.spec.get("initContainers", [])
            )
            if "/home/coder" in mounts and not seeded:
                failures.append(
                    f"{pod.who}: /home/coder is a volume but nothing seeds it from the image "
                    "(the project folder the image made is hidden)"
                )
    return failures


@rule("the network allows what the platform needs and denies what it forbids")
def connectivity(ctx: Context) -> list[str]:
    from . import flows

    return [
        f"network: {row['flow']} on {row['port']} is {row['actual']}, must be "
        f"{row['expected']} ({row['why']})"
        for row in flows.judge(ctx.cluster, ctx.cfg)
        if not row["ok"]
    ]
