import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_openapi_schema_is_valid_and_has_no_warnings(tmp_path):
    """A warning means a wrong or missing type in the published schema: clients are generated from it."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/v1/livestreams/{stream_id}/rotate-key/" in (tmp_path / "schema.yml").read_text()
