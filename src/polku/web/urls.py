from django.contrib.auth import views as auth_views
from django.urls import path

from . import (
    admin_views,
    assessment_views,
    catalogue_views,
    client_views,
    contract_views,
    effects_views,
    impact_views,
    indicator_views,
    partner_views,
    plan_views,
    referral_views,
    views,
    worklist_views,
)

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.health, name="health"),
    *worklist_views.urlpatterns,
    *client_views.urlpatterns,
    *plan_views.urlpatterns,
    *assessment_views.urlpatterns,
    *referral_views.urlpatterns,
    *catalogue_views.urlpatterns,
    *admin_views.urlpatterns,
    *impact_views.urlpatterns,
    *effects_views.urlpatterns,
    *contract_views.urlpatterns,
    *indicator_views.urlpatterns,
    *partner_views.urlpatterns,
]
