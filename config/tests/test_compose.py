"""No Docker engine runs here, so docker-compose.yml is checked by reading it: every service,
image, port, file and variable it names must exist."""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

BASE = Path(settings.BASE_DIR)


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((BASE / "docker-compose.yml").read_text())


def _settings_variables() -> set[str]:
    names = set()
    for path in (BASE / "config" / "settings").glob("*.py"):
        names |= set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z0-9_]+)\"", path.read_text()))
    return names


def test_the_production_services_are_all_there(compose):
    assert set(compose["services"]) == {"postgres", "redis", "srs", "web", "worker", "beat"}
    for name, service in compose["services"].items():
        assert "healthcheck" in service, f"{name} has no health check"
        for dependency in service.get("depends_on", {}):
            assert dependency in compose["services"], f"{name} depends on unknown {dependency}"


def test_images(compose):
    services = compose["services"]
    assert services["srs"]["image"].startswith("ossrs/srs:5")
    assert re.match(r"postgres:\d+", services["postgres"]["image"])
    assert re.match(r"redis:\d+", services["redis"]["image"])
    for name in ("web", "worker", "beat"):  # one image for the three Django processes
        assert services[name]["build"] == "." and services[name]["image"] == "backline:latest"
    assert (BASE / "Dockerfile").exists()


def test_commands_point_at_real_modules(compose):
    services = compose["services"]
    assert "config.asgi:application" in " ".join(services["web"]["command"])
    assert (BASE / "config" / "asgi.py").exists() and (BASE / "config" / "celery.py").exists()
    for name in ("worker", "beat"):
        assert services[name]["command"][:3] == ["celery", "-A", "config"]


def test_mounted_files_exist(compose):
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (BASE / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"


def test_srs_ports_match_its_config(compose):
    conf = (BASE / "deploy" / "srs" / "srs.conf").read_text()
    published = {p.split(":")[-1].strip('"') for p in compose["services"]["srs"]["ports"]}
    assert published == {"1935", "8080"}
    assert re.search(r"^\s*listen\s+1935;", conf, re.M)
    assert re.search(r"http_server\s*{[^}]*listen\s+8080;", conf, re.S)
    assert re.search(r"http_api\s*{[^}]*listen\s+1985;", conf, re.S)
    assert "1985" in compose["x-app"]["environment"]["SRS_API_URL"]


def test_every_variable_is_known(compose):
    text = (BASE / "docker-compose.yml").read_text()
    example = set(re.findall(r"^([A-Z0-9_]+)=", (BASE / ".env.example").read_text(), re.M))
    for name in re.findall(r"\$\{([A-Z0-9_]+)", text):
        assert name in example, f"${{{name}}} is not in .env.example"
    read = _settings_variables() | {"DJANGO_SETTINGS_MODULE"}  # read by Django itself
    for variable in compose["x-app"]["environment"]:
        assert variable in read, f"the app never reads {variable}"


def test_srs_calls_back_the_web_service_with_the_secret(compose):
    hooks = compose["services"]["srs"]["environment"]
    for action in ("PUBLISH", "UNPUBLISH", "PLAY", "STOP", "HLS"):
        url = hooks[f"SRS_VHOST_HTTP_HOOKS_ON_{action}"]
        assert url.startswith("http://web:8000/hooks/srs/${MEDIA_SERVER_CALLBACK_SECRET"), action
    conf = (BASE / "deploy" / "srs" / "srs.conf").read_text()
    assert re.search(r"http_hooks\s*{[^}]*enabled\s+on;", conf, re.S)
