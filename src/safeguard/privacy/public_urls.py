"""Public addresses of data-subject requests, mounted at /data-request/ (no staff login)."""

from django.urls import path

from safeguard.privacy import public_views

app_name = "privacy_public"
urlpatterns = [
    path("", public_views.request_form, name="request"),
    path("status/", public_views.status, name="status"),
    path("letter/<uuid:request_id>.pdf", public_views.letter, name="letter"),
    path("bundle/<str:token>/", public_views.bundle, name="bundle"),
    path("api/requests", public_views.api_submit, name="api_submit"),
    path("api/status", public_views.api_status, name="api_status"),
]
