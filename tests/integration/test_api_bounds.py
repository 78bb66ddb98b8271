"""Values PostgreSQL refuses never reach it (found by the API fuzz on PostgreSQL, where each was a
500): a NUL character in a JSON body, a query parameter or a path, and a token id beyond the
column's integer. Each is a Thai 4xx and changes nothing, on both databases."""

from __future__ import annotations

import pytest


def test_a_nul_character_in_a_json_body_is_a_422_naming_the_field(client, org):
    response = client.post("/api/v1/plans", headers=org.headers("support_committee"),
                           json={"organization": "krad\x00angnga", "fiscal_year": 2564})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == [{"field": "/organization",
                                              "message": "ข้อความมีอักขระที่ไม่ถูกต้อง (อักขระรหัส 0)"}]
    assert client.get("/api/v1/plans", headers=org.headers("support_committee")).get_json()["plans"] == []


def test_a_nul_character_in_a_json_key_is_a_422(client, org):
    response = client.post("/api/v1/organizations", headers=org.headers("admin"), json={"co\x00de": "x"})
    assert response.status_code == 422


@pytest.mark.parametrize("query", [{"organization": "a\x00", "fiscal_year": "2564"}, {"organiz\x00ation": "a"}])
def test_a_nul_character_in_a_query_parameter_is_a_422(client, org, query):
    response = client.get("/api/v1/compliance", headers=org.headers("auditor"), query_string=query)
    assert response.status_code == 422 and response.get_json()["errors"][0]["message"].startswith("ข้อความมีอักขระ")


@pytest.mark.parametrize("path", ["/api/v1/tasks/%00", "/api/v1/tokens/1%00", "/tasks/%00"])
def test_a_nul_character_in_a_path_is_a_404(client, org, path):
    response = client.get(path, headers=org.headers("support_committee"))
    assert response.status_code == 404


@pytest.mark.parametrize("token_id", ["2147483648", "355007977341566201", "999999999999999999"])
def test_a_token_id_beyond_the_columns_integer_is_a_404(client, org, token_id):
    response = client.delete(f"/api/v1/tokens/{token_id}", headers=org.headers("admin"))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
