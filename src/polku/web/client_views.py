"""(Being built.)"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern

urlpatterns: list[URLPattern | Any] = []
