from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from polku.api.api import api

urlpatterns = [
    # The admin's own sign-in form is not throttled and knows no second factor: use Polku's.
    path("admin/login/", RedirectView.as_view(pattern_name="web:login", query_string=True)),
    path("admin/", admin.site.urls),
    path("account/", include("polku.accounts.urls")),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("me/", include("polku.portal.urls")),
    path("", include("polku.web.urls")),
]

# A lost database connection is answered 503 with Retry-After rather than 500 (polku.core.unavailable).
handler500 = "polku.core.unavailable.server_error"

if settings.OIDC_ENABLED:
    urlpatterns.insert(0, path("oidc/", include("mozilla_django_oidc.urls")))
