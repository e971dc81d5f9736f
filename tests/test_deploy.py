"""The deployable parts: the container image, compose.yaml and its proxy, the pinned
installs, and the dashboard and alert rules in deploy/.

Docker has no engine on every machine that runs this suite. What can be checked without
one always runs: the files parse and name files that exist, the proxy configuration
passes `haproxy -c`, the image's health check works against a real server, every metric
the dashboard and the alerts use is one the service defines, and the server's runtime
needs none of the test-only packages. The one test that builds the image and starts
compose.yaml runs when `docker info` works, and is skipped, saying why, when it does not.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bank_adapter.metrics import Metrics
from tests.pg import free_port
from tests.serving import REPO, ServeProcess, bank_adapter_command, clean_environ, http_status

COMPOSE = yaml.safe_load((REPO / "compose.yaml").read_text())
DOCKERFILE = (REPO / "Dockerfile").read_text()
ALERTS = yaml.safe_load((REPO / "deploy" / "prometheus" / "alerts.yml").read_text())
DASHBOARD = json.loads((REPO / "deploy" / "grafana" / "bank-adapter.json").read_text())
PROMETHEUS_BUILTINS = {"up"}  # what Prometheus records itself about each scrape
TEST_ONLY = {"joserfc", "http_message_signatures", "xmlschema", "yaml", "pytest", "hypothesis"}


def expand(value: str) -> str:
    """Compose's `${NAME:-default}` with nothing set: the default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


# --- the image -----------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    joined = DOCKERFILE.replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_image_is_slim_runs_as_a_user_and_copies_only_what_exists():
    instructions = dockerfile_instructions()
    bases = [arg.split()[0] for op, arg in instructions if op == "FROM"]
    copies = [shlex.split(arg) for op, arg in instructions if op == "COPY"]
    users = [arg for op, arg in instructions if op == "USER"]

    assert bases
    assert all(base.startswith("python:3.11-slim") for base in bases)
    assert users == ["10001:10001"]
    from_context = [words for words in copies if not words[0].startswith("--from=")]
    sources = {source.rstrip("/") for words in from_context for source in words[:-1]}
    allowed = {
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }

    assert len(from_context) < len(copies)  # the runtime stage copies the built venv
    for source in sources:
        assert (REPO / source).exists(), source
    assert sources <= allowed  # the build context holds them


def healthcheck_command() -> list[str]:
    (arg,) = [arg for op, arg in dockerfile_instructions() if op == "HEALTHCHECK"]
    command: list[str] = json.loads(arg.split("CMD", 1)[1].strip())
    return command


def test_the_image_s_health_check_asks_healthz_of_the_server(tmp_path):
    program, flag, code = healthcheck_command()
    assert (program, flag) == ("python", "-c")
    assert "/healthz" in code
    server = ServeProcess(tmp_path)
    server.start()
    try:
        up = subprocess.run(
            [sys.executable, "-c", code],
            env=clean_environ() | {"BANK_ADAPTER_PORT": str(server.port)},
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        server.stop()
    down = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_environ() | {"BANK_ADAPTER_PORT": str(free_port())},
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip

    assert up.returncode == 0, up.stderr
    assert down.returncode != 0


def test_the_image_s_command_is_the_package_s_console_script():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    entrypoint = [json.loads(arg) for op, arg in dockerfile_instructions() if op == "ENTRYPOINT"]

    assert entrypoint == [["bank-adapter"]]
    assert scripts["bank-adapter"] == "bank_adapter.cli:main"


# --- compose.yaml and its proxy ------------------------------------------------------


def test_compose_runs_two_instances_behind_a_proxy_on_one_postgresql():
    services = COMPOSE["services"]

    assert set(services) == {"adapter-1", "adapter-2", "proxy", "postgres"}
    for name in ("adapter-1", "adapter-2"):
        adapter = services[name]
        assert adapter["build"] == "."
        assert (REPO / "Dockerfile").is_file()
        assert adapter["read_only"] is True
        assert adapter["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert adapter["environment"]["BANK_ADAPTER_DATABASE_URL_FILE"] == (
            "/run/secrets/database_url"
        )
        (partners,) = adapter["volumes"]
        source, target, mode = expand(partners).split(":")
        assert (REPO / source).is_dir()
        assert target == "/etc/bank-adapter/partners"
        assert mode == "ro"
        for secret in adapter["secrets"]:
            assert secret in COMPOSE["secrets"]
        assert adapter["environment"]["BANK_ADAPTER_SIGNING_KEY"].startswith("/run/secrets/")


def test_compose_mounts_the_proxy_config_that_exists_read_only():
    proxy = COMPOSE["services"]["proxy"]
    (mount,) = proxy["volumes"]
    source, target, mode = mount.split(":")

    assert (REPO / source).is_file()
    assert target == "/usr/local/etc/haproxy/haproxy.cfg"
    assert mode == "ro"
    assert any(port.startswith("127.0.0.1:") for port in proxy["ports"])  # operators' port


def test_operators_reach_the_admin_listeners_and_banks_the_public_ones():
    config = (REPO / "deploy" / "haproxy.cfg").read_text()
    sections = dict(
        (block.split("\n", 1)[0].strip(), block)
        for block in re.split(r"^(?=\S)", config, flags=re.M)
    )
    admin_port = COMPOSE["x-adapter"]["environment"]["BANK_ADAPTER_ADMIN_PORT"]

    assert "default_backend admin" in sections["frontend operators"]
    assert "default_backend adapters" in sections["frontend partners"]
    for name in ("adapter-1", "adapter-2"):
        assert f"server {name} {name}:{admin_port}\n" in sections["backend admin"]
        assert f"server {name} {name}:8080\n" in sections["backend adapters"]


def test_compose_secrets_writes_every_secret_compose_reads(tmp_path):
    directory = tmp_path / "secrets"
    for _ in range(2):  # the second run keeps what the first wrote
        subprocess.run(
            [str(REPO / "scripts" / "compose-secrets"), str(directory)],
            capture_output=True, timeout=60, check=True,
        )  # fmt: skip
    files = {
        name: Path(expand(secret["file"]).replace("./var/compose", str(directory)))
        for name, secret in COMPOSE["secrets"].items()
    }

    for name, path in files.items():
        assert path.read_text().strip(), name
    url = files["database_url"].read_text().strip()
    assert url == (
        f"postgresql://bank_adapter:{files['postgres_password'].read_text().strip()}"
        "@postgres:5432/bank_adapter"
    )
    assert files["signing_key"].read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert oct(directory.stat().st_mode & 0o777) == "0o700"


def test_the_proxy_config_is_valid_for_haproxy():
    haproxy = shutil.which("haproxy")
    assert haproxy, "haproxy is missing: scripts/setup --dev installs it (Debian: haproxy)"
    result = subprocess.run(
        [haproxy, "-c", "-f", str(REPO / "deploy" / "haproxy.cfg")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "[WARNING]" in line]
    # The instances' names resolve inside compose's network only.
    assert all("could not resolve address 'adapter-" in line for line in warnings), warnings


# --- pinned installs ------------------------------------------------------------------


def pins() -> dict[str, str]:
    lines = (REPO / "constraints.txt").read_text().splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    return {canonical(name): version for name, version in pairs}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_installed_distribution_is_pinned_at_the_version_installed():
    installed = {
        canonical(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
        if canonical(dist.metadata["Name"]) not in {"pip", "setuptools", "wheel"}
        and not canonical(dist.metadata["Name"]).startswith("bank-adapter")
    }

    assert installed == pins()


def test_lxml_and_xmlsec_are_pinned_as_the_pair_the_suite_runs_on():
    import lxml.etree
    import xmlsec

    assert {"lxml", "xmlsec"} <= set(pins())
    assert xmlsec.get_libxml_version() == lxml.etree.LIBXML_VERSION


def imported_modules(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_the_server_imports_no_test_only_package():
    modules = {
        (str(path.relative_to(REPO)), module)
        for path in (REPO / "bank_adapter").rglob("*.py")
        for module in imported_modules(path)
    }

    assert {(path, module) for path, module in modules if module in TEST_ONLY} == set()
    assert ("bank_adapter/core/xmldsig.py", "xmlsec") in modules  # the walk sees imports


def test_test_only_packages_are_not_runtime_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = {canonical(re.split(r"[<>=\[ ]", dep)[0]) for dep in project["dependencies"]}
    dev = {
        canonical(re.split(r"[<>=\[ ]", dep)[0]) for dep in project["optional-dependencies"]["dev"]
    }

    for package in ("joserfc", "http-message-signatures", "xmlschema", "pyyaml"):
        assert package not in runtime
        assert package in dev


# --- metrics, dashboard, alerts --------------------------------------------------------

_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAMES = re.compile(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")
_KEYWORDS = {"and", "or", "unless", "offset", "bool", "by", "without", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metrics a PromQL expression reads: what remains once strings, label matchers,
    ranges, label lists, function names and keywords are taken out."""
    for pattern in (_STRINGS, _MATCHERS, _RANGES, _LABEL_LISTS):
        expr = pattern.sub(" ", expr)
    return {name for name in _NAMES.findall(expr) if name not in _KEYWORDS}


def test_metric_names_are_read_from_promql():
    expr = (
        'histogram_quantile(0.99, sum by (le, operation) (rate(a_bucket{code=~"X|Y"}[5m])))'
        " > 1e9 and on (instance) b_total / ignoring(x) c offset 5m"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "c"}


def defined_series() -> set[str]:
    """Every series name the service's registry can expose, by metric type."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "gauge": ("",),
        "info": ("_info",),
        "summary": ("", "_count", "_sum", "_created"),
    }
    return {
        family.name + suffix for family in service_families() for suffix in suffixes[family.type]
    }


def service_families() -> list[Any]:
    """Every metric family the service exports: counted ones and those read at scrape."""
    metrics = Metrics()
    return [*metrics.registry.collect(), *metrics.computed.collect()]


def alert_expressions() -> list[str]:
    return [rule["expr"] for group in ALERTS["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    targets = [target["expr"] for panel in DASHBOARD["panels"] for target in panel["targets"]]
    variables = [
        re.sub(r"^label_values\((\w+),.*\)$", r"\1", variable["definition"])
        for variable in DASHBOARD["templating"]["list"]
        if variable["type"] == "query"
    ]
    return targets + variables


@pytest.mark.parametrize("source", ["alerts", "dashboard"])
def test_every_metric_the_alerts_and_the_dashboard_use_exists(source):
    expressions = alert_expressions() if source == "alerts" else dashboard_expressions()
    used = set().union(*(metric_names(expr) for expr in expressions))

    assert used, source
    assert used - defined_series() - PROMETHEUS_BUILTINS == set()


def test_the_dashboard_shows_every_metric_of_the_service():
    used = set().union(*(metric_names(expr) for expr in dashboard_expressions()))
    shown = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in used}
    ours = {family.name for family in service_families()}

    assert {name for name in ours if name.startswith("bank_adapter_")} <= shown


def test_every_alert_says_how_bad_and_what():
    for group in ALERTS["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]
            assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]


def test_the_service_exposes_process_metrics_beside_its_own():
    exposition = Metrics().exposition().decode()

    for name in ("process_resident_memory_bytes", "process_cpu_seconds_total", "python_info"):
        assert f"\n{name}" in exposition


# --- the real thing, where Docker runs -----------------------------------------------


def docker_runs() -> bool:
    if shutil.which("docker") is None:
        return False
    info = subprocess.run(["docker", "info"], capture_output=True, timeout=60, check=False)
    return info.returncode == 0


@pytest.mark.skipif(
    not docker_runs(),
    reason="no Docker engine here (`docker info` fails): the image is not built and "
    "compose.yaml is not started; the checks above ran without it",
)
def test_the_image_builds_and_two_instances_serve_behind_the_proxy(tmp_path):
    secrets_dir = tmp_path / "secrets"
    subprocess.run([str(REPO / "scripts" / "compose-secrets"), str(secrets_dir)], check=True)
    partners_port, operators_port = free_port(), free_port()
    env = clean_environ() | {
        "BANK_ADAPTER_SECRETS": str(secrets_dir),
        "BANK_ADAPTER_PUBLISHED_PORT": str(partners_port),
        "BANK_ADAPTER_OPERATOR_PORT": str(operators_port),
    }
    compose = ["docker", "compose", "-p", f"bank-adapter-test-{secrets.token_hex(4)}"]

    def docker(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*compose, *args], cwd=REPO, env=env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip

    try:
        up = docker("up", "-d", "--build", "--wait")
        assert up.returncode == 0, up.stderr
        check_the_deployment(docker, partners_port, operators_port, secrets_dir)
    finally:
        docker("down", "-v", "--remove-orphans", timeout=300)


def check_the_deployment(
    docker: Any, partners_port: int, operators_port: int, secrets_dir: Path
) -> None:
    partners, operators = f"http://127.0.0.1:{partners_port}", f"http://127.0.0.1:{operators_port}"
    for path in ("/healthz", "/readyz", "/v1/keys"):
        assert http_status(partners + path) == 200, path
    with urllib.request.urlopen(partners + "/healthz", timeout=5) as response:  # noqa: S310
        assert response.headers.get_all("Server") == ["bank-adapter"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        http_status(partners + "/metrics")
    assert refused.value.code == 404
    assert http_status(operators + "/metrics") == 200
    for service in ("adapter-1", "adapter-2"):
        uid = docker("exec", "-T", service, "id", "-u")
        assert uid.stdout.strip() == "10001", uid.stderr
    token = (secrets_dir / "admin_token").read_text().strip()
    demo = subprocess.run(
        bank_adapter_command(
            "demo", "--url", partners, "--admin-url", operators, "--admin-token", token
        ),
        cwd=REPO, env=clean_environ(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout + demo.stderr
