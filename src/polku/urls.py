from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from polku.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("me/", include("polku.portal.urls")),
    path("", include("polku.web.urls")),
]

if settings.OIDC_ENABLED:
    urlpatterns.insert(0, path("oidc/", include("mozilla_django_oidc.urls")))
