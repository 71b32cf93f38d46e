"""deploy/ says what it means (issue 16, "Several servers, one database"): compose.yaml, nginx.conf and
the Dockerfile parsed and checked, no container run. Two app servers from one build on the one
PostgreSQL service, one shared secret, health checks, a proxy with sticky sessions and the
websocket upgrade, nothing secret committed."""

from __future__ import annotations

import re
import shlex
import string
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# The one placeholder value allowed where a secret goes; env.example says it is for a local try-out only.
PLACEHOLDER = "change-me-dev-only"
SECRET_VARS = ("POSTGRES_PASSWORD", "STARBOARD_SECRET_KEY", "STREAMLIT_COOKIE_SECRET")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def nginx() -> str:
    # Comments dropped: only the directives count.
    return "\n".join(line.split("#", 1)[0] for line in (DEPLOY / "nginx.conf").read_text().splitlines())


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _apps(compose: dict) -> dict[str, dict]:
    """The services that run Starboard (their image is built from this repository)."""
    return {name: s for name, s in compose["services"].items() if "build" in s}


def _interpolated(value: str) -> str:
    """A compose value with each ${NAME…} replaced by NAME, as compose would with NAME's value."""
    return re.sub(r"\$\{([A-Z0-9_]+)[^}]*\}", r"\1", value)


def _location(nginx: str, path: str) -> str:
    match = re.search(r"location\s+" + re.escape(path) + r"\s*\{(.*?)\n\s*\}", nginx, re.S)
    assert match, f"nginx.conf has no `location {path}` block"
    return match.group(1)


def test_two_app_servers_from_the_same_build(compose):
    apps = _apps(compose)
    assert len(apps) >= 2, f"expected two app services with a build, found {sorted(apps)}"
    builds = [s["build"] for s in apps.values()]
    images = {s.get("image") for s in apps.values()}
    assert all(b == builds[0] for b in builds), builds
    assert len(images) == 1 and None not in images, f"one image tag for every app server: {images}"
    context = (DEPLOY / builds[0]["context"]).resolve()
    assert context == ROOT, f"the build context is the repository root, not {context}"
    assert (context / builds[0]["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    # Same settings on every server.
    envs = [_env(s) for s in apps.values()]
    assert all(e == envs[0] for e in envs)


def test_every_app_server_uses_the_postgres_service(compose):
    services = compose["services"]
    postgres = [name for name, s in services.items() if str(s.get("image", "")).startswith("postgres:15")]
    assert postgres == ["postgres"], postgres
    for name, service in _apps(compose).items():
        url = _env(service)["DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://"), url
        parts = urlsplit(_interpolated(url))
        assert parts.hostname == "postgres" and (parts.port or 5432) == 5432, f"{name}: {url}"
        assert parts.path == "/" + _env(services["postgres"])["POSTGRES_DB"]
        assert parts.password == "POSTGRES_PASSWORD", f"{name}: the password comes from the environment"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert _env(service)["STARBOARD_AUTO_SEED"] == "0"
        assert _env(service)["STARBOARD_PUBLIC_URL"]


def test_the_servers_share_one_secret_from_the_environment(compose):
    for name, service in _apps(compose).items():
        env = _env(service)
        # A reference that must be set (${NAME:?message}), never a value written here.
        assert re.fullmatch(r"\$\{STARBOARD_SECRET_KEY:\?[^}]*\}", env["STARBOARD_SECRET_KEY"]), name
        assert re.fullmatch(r"\$\{STREAMLIT_COOKIE_SECRET:\?[^}]*\}", env["STREAMLIT_SERVER_COOKIE_SECRET"]), name


def test_healthchecks(compose):
    services = compose["services"]
    for name, service in _apps(compose).items():
        check = " ".join(service["healthcheck"]["test"])
        assert "/api/v1/health" in check and ":8501" in check, f"{name}: {check}"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    proxy = services["proxy"]
    assert "healthcheck" in proxy
    # The proxy starts once every app server is healthy.
    assert {n: d["condition"] for n, d in proxy["depends_on"].items()} == {n: "service_healthy" for n in _apps(compose)}


def test_only_the_proxy_is_published(compose):
    published = {name for name, s in compose["services"].items() if s.get("ports")}
    assert published == {"proxy"}
    (port,) = compose["services"]["proxy"]["ports"]
    assert port.endswith(":80")
    mounts = compose["services"]["proxy"]["volumes"]
    assert "./nginx.conf:/etc/nginx/conf.d/default.conf:ro" in mounts


def test_the_proxy_routes_to_every_app_server_with_sticky_sessions(compose, nginx):
    upstream = re.search(r"upstream\s+(\w+)\s*\{(.*?)\}", nginx, re.S)
    assert upstream, "nginx.conf has no upstream block"
    name, body = upstream.groups()
    servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", body, re.M)
    assert sorted(servers) == sorted((app, "8501") for app in _apps(compose)), servers
    # Sticky: by a consistent hash of the route cookie (or the client address).
    sticky = re.search(r"^\s*hash\s+\$(\w+)\s+consistent\s*;", body, re.M)
    assert sticky or re.search(r"^\s*ip_hash\s*;", body, re.M), "the upstream is not sticky"
    if sticky:
        # The hashed key is the route cookie, or a new random key that the response sets as that cookie.
        key = sticky.group(1)
        assert re.search(r"map\s+\$cookie_starboard_route\s+\$" + key + r"\s*\{[^}]*default\s+\$cookie_starboard_route;"
                         r"[^}]*\"\"\s+\$request_id;", nginx.replace("\n", " ")) or \
            re.search(r"map\s+\$cookie_starboard_route\s+\$" + key + r"\s*\{[^}]*\"\"\s+\$request_id;[^}]*"
                      r"default\s+\$cookie_starboard_route;", nginx.replace("\n", " ")), nginx
        cookie_map = re.search(r"map\s+\$cookie_starboard_route\s+\$(\w+)\s*\{[^}]*starboard_route=\$request_id", nginx)
        assert cookie_map, "no cookie is set with the random key"
        assert re.search(r"add_header\s+Set-Cookie\s+\$" + cookie_map.group(1) + r"\s*;", nginx)
    for path in ("/_stcore/stream", "/"):
        assert re.search(r"proxy_pass\s+http://" + name + r"\s*;", _location(nginx, path)), path


def test_the_proxy_upgrades_streamlits_websocket_and_forwards_the_scheme(nginx):
    stream = _location(nginx, "/_stcore/stream")
    assert re.search(r"proxy_http_version\s+1\.1\s*;", stream)
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade\s*;", stream)
    connection = re.search(r"proxy_set_header\s+Connection\s+(\S+?)\s*;", stream).group(1)
    if connection.startswith("$"):  # the usual map: "upgrade" when the client asked for it
        assert re.search(r"map\s+\$http_upgrade\s+" + re.escape(connection) + r"\s*\{[^}]*default\s+upgrade;", nginx)
    else:
        assert connection.strip('"').lower() == "upgrade"
    assert re.search(r"proxy_read_timeout\s+(1d|\d{4,}s?)\s*;", stream), "a wall's websocket stays open for days"
    for path in ("/_stcore/stream", "/"):
        block = _location(nginx, path)
        proto = re.search(r"proxy_set_header\s+X-Forwarded-Proto\s+(\S+?)\s*;", block)
        assert proto, f"{path}: X-Forwarded-Proto is not passed (the session cookie's Secure flag needs it)"
        assert proto.group(1) == "$scheme" or re.search(
            r"map\s+\$http_x_forwarded_proto\s+" + re.escape(proto.group(1)) + r"\s*\{[^}]*\$scheme;", nginx)
        assert re.search(r"proxy_set_header\s+Host\s+\$(http_)?host\s*;", block)
    # Uploads (CSV imports) up to the app's limit pass the proxy.
    size = re.search(r"client_max_body_size\s+(\d+)m\s*;", nginx)
    assert size and int(size.group(1)) >= 50


def test_the_dockerfile_runs_streamlit_on_all_addresses_with_a_healthcheck():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    instructions = [line for line in dockerfile.replace("\\\n", " ").splitlines() if line.strip() and not line.startswith("#")]
    assert instructions[0].split() == ["FROM", "python:3.11-slim"]
    assert any(re.fullmatch(r"RUN pip install( --no-cache-dir)? -r requirements.txt", i.strip()) for i in instructions)
    (cmd,) = [i for i in instructions if i.startswith("CMD ")]
    args = yaml.safe_load(cmd[4:])  # the exec form is a JSON array
    assert args == ["streamlit", "run", "app.py", "--server.port", "8501", "--server.address", "0.0.0.0"]
    (health,) = [i for i in instructions if i.startswith("HEALTHCHECK ")]
    assert "/api/v1/health" in health and "8501" in health
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".git", "*.db", "deploy/.env"} <= set(ignore)


def test_nothing_secret_is_committed(compose):
    # Every value of a secret variable in compose.yaml is a required reference, never a literal.
    text = (DEPLOY / "compose.yaml").read_text()
    for var in SECRET_VARS:
        for match in re.finditer(r"\$\{" + var + r"([^}]*)\}", text):
            assert match.group(1).startswith(":?"), f"{var} must be required (${{{var}:?…}}), not defaulted"
    for service in compose["services"].values():
        for key, value in _env(service).items():
            if re.search(r"PASSWORD|SECRET|KEY|TOKEN", key):
                assert value.startswith("${") and value.endswith("}"), f"{key} holds a literal value"
        url = _env(service).get("DATABASE_URL")
        if url:
            userinfo = url.split("://", 1)[1].split("@postgres:", 1)[0]
            assert re.fullmatch(r"\w+:\$\{POSTGRES_PASSWORD:\?[^}]*\}", userinfo), "a literal password in DATABASE_URL"
    # The example env file holds only the documented placeholder for each secret.
    example = (DEPLOY / "env.example").read_text()
    assert "placeholder" in example.lower() and "dev" in example.lower()
    values = dict(line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#"))
    for var in SECRET_VARS:
        assert values[var] == PLACEHOLDER, f"{var} in env.example is not the placeholder"
    # No literal secret-looking assignment anywhere in deploy/ besides the placeholder.
    for path in DEPLOY.iterdir():
        if path.name == ".env":
            continue
        for line in path.read_text().splitlines():
            found = re.search(r"(?<![\w{])[A-Z_]*(PASSWORD|SECRET)[A-Z_]*\s*[=:]\s*([^\s$#][^\s#]*)", line.split("#", 1)[0])
            if found:
                assert found.group(2).strip("'\"") in (PLACEHOLDER, ""), f"{path.name}: {line.strip()}"
    # deploy/.env is ignored by git.
    assert "/deploy/.env" in (ROOT / ".gitignore").read_text().split()


def test_the_docs_say_how_to_run_it():
    readme = (DEPLOY / "README.md").read_text()
    for words in ("docker compose -f deploy/compose.yaml up", "sticky", "Scaling to N servers", "Backups",
                  "Upgrading", "advisory lock", "STARBOARD_SECRET_KEY"):
        assert words in readme, words
    top = (ROOT / "README.md").read_text()
    assert "### Deploy N servers" in top and "deploy/README.md" in top


def test_shell_quoting_in_compose_healthchecks_is_sound(compose):
    """The CMD-SHELL checks parse as shell; the CMD ones are argument lists."""
    for name, service in compose["services"].items():
        test = service["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL"), name
        if test[0] == "CMD-SHELL":
            shlex.split(test[1])
        else:
            assert all(isinstance(a, str) and not set(a) - set(string.printable) for a in test[1:])
