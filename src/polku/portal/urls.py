from django.urls import path

from . import oidc, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("plan/", views.plan, name="plan"),
    path("plan/steps/<int:step_id>/done/", views.step_done, name="step_done"),
    path("plan/propose/", views.plan_propose, name="plan_propose"),
    path("plan/review/", views.plan_review, name="plan_review"),
    path("messages/", views.messages_page, name="messages"),
    path("progress/", views.progress, name="progress"),
    path("consents/", views.consents, name="consents"),
    path("consents/<int:consent_id>/withdraw/", views.consent_revoke, name="consent_revoke"),
    path("log/", views.access_log, name="access_log"),
    path("export/", views.export, name="export"),
    path("staff/clients/<int:client_id>/messages/", views.staff_thread, name="staff_thread"),
    # Clients' sign-in with a Suomi.fi-style OpenID Connect provider: "not found" unless configured.
    path("oidc/authenticate/", oidc.authenticate, name="oidc_authenticate"),
    path("oidc/callback/", oidc.callback, name="oidc_callback"),
]
