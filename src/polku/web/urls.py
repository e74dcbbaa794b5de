from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("clients/<int:client_id>/", views.client_detail, name="client_detail"),
    path("me/", views.my_data, name="my_data"),
    path("healthz", views.health, name="health"),
]
