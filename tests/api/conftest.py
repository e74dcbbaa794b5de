"""API test helpers: a Django test client that calls as a given user with a real bearer token."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from polku.accounts.services import token_create


class Api:
    """Calls ``/api/v1`` as one user, with a bearer token created the way ``polku token create`` does."""

    def __init__(self, user: Any, language: str = "en") -> None:
        _token, secret = token_create(username=user.get_username())
        self.http = HttpClient(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE=language)

    def _url(self, path: str) -> str:
        return "/api/v1" + path

    def get(self, path: str, **params: Any) -> Any:
        return self.http.get(self._url(path), params)

    def post(self, path: str, body: Any = None, **headers: Any) -> Any:
        return self.http.post(self._url(path), body if body is not None else {}, content_type="application/json",
                              headers=headers)

    def patch(self, path: str, body: Any, **headers: Any) -> Any:
        return self.http.patch(self._url(path), body, content_type="application/json", headers=headers)

    def put(self, path: str, body: Any, **headers: Any) -> Any:
        return self.http.put(self._url(path), body, content_type="application/json", headers=headers)

    def delete(self, path: str, **headers: Any) -> Any:
        return self.http.delete(self._url(path), headers=headers)


@pytest.fixture
def api_as() -> Any:
    """``api_as(user)`` → an :class:`Api` calling as that user (English messages unless ``language=`` says)."""
    return Api
