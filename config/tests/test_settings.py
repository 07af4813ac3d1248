"""Production settings refuse to start without their secrets and turn on transport security."""

import os
import subprocess
import sys

from django.conf import settings

PROBE = "import django; django.setup(); from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, " \
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.DEBUG)"


def _run(extra_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", **extra_env})
    return subprocess.run([sys.executable, "-c", PROBE], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=60)


REQUIRED = {"DJANGO_SECRET_KEY": "x" * 50, "DJANGO_ALLOWED_HOSTS": "live.example.com",
            "MEDIA_SERVER_CALLBACK_SECRET": "y" * 40}


def test_production_refuses_to_start_without_a_secret_key():
    result = _run({"DJANGO_ALLOWED_HOSTS": "live.example.com", "MEDIA_SERVER_CALLBACK_SECRET": "y" * 40})
    assert result.returncode != 0 and "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = _run({"DJANGO_SECRET_KEY": "x" * 50, "MEDIA_SERVER_CALLBACK_SECRET": "y" * 40})
    assert result.returncode != 0 and "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_production_refuses_to_start_without_a_callback_secret():
    result = _run({k: v for k, v in REQUIRED.items() if k != "MEDIA_SERVER_CALLBACK_SECRET"})
    assert result.returncode != 0 and "MEDIA_SERVER_CALLBACK_SECRET" in result.stderr


def test_production_turns_on_secure_transport():
    result = _run(REQUIRED)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["31536000", "True", "True", "True", "False"]


def test_every_variable_the_settings_read_is_documented():
    """Each env("NAME") in the settings has a line in .env.example, with a comment above it."""
    import re
    from pathlib import Path

    base = Path(settings.BASE_DIR)
    read = set()
    for path in (base / "config" / "settings").glob("*.py"):
        read |= set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z0-9_]+)\"", path.read_text()))
    lines = (base / ".env.example").read_text().splitlines()
    documented = {}
    for i, line in enumerate(lines):
        match = re.match(r"^([A-Z0-9_]+)=", line)
        if match:
            documented[match.group(1)] = i > 0 and lines[i - 1].startswith("#")
    missing = sorted(read - set(documented))
    assert not missing, f"not in .env.example: {missing}"
    assert all(documented[name] for name in read), "every variable needs a comment line above it"
