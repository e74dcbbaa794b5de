"""The API describes itself: the OpenAPI 3 document lists every resource of the API, and the docs page works
without a network (Swagger UI from Polku's own static files)."""

from __future__ import annotations

import json
from typing import Any


def test_openapi_document_covers_every_resource(client: Any) -> None:
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = json.loads(r.content)
    assert doc["openapi"].startswith("3.")
    paths = set(doc["paths"])
    for needed in ("/api/v1/organisations", "/api/v1/services", "/api/v1/me", "/api/v1/me/export",
                   "/api/v1/clients", "/api/v1/clients/{client_id}", "/api/v1/clients/{client_id}/consents",
                   "/api/v1/clients/{client_id}/employment-periods", "/api/v1/episodes", "/api/v1/plans",
                   "/api/v1/plans/{plan_id}/versions", "/api/v1/assessments", "/api/v1/assessments/instruments",
                   "/api/v1/referrals", "/api/v1/referrals/{referral_id}/accept", "/api/v1/alerts",
                   "/api/v1/alerts/worklist", "/api/v1/access-log/mine"):
        assert needed in paths, needed
    # every error answer is documented as an RFC 9457 problem
    for operations in doc["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"]
    assert "bearer" in json.dumps(doc["components"]["securitySchemes"]).lower()


def test_docs_page_needs_no_network(client: Any) -> None:
    r = client.get("/api/v1/docs")
    assert r.status_code == 200
    page = r.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn." not in page
