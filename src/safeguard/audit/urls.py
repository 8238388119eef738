from django.urls import path

from safeguard.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.index, name="index"),
    path("verify/", views.verify_start, name="verify"),
    path("runs/<int:run_id>/", views.run_progress, name="run"),
    path("export/", views.export, name="export"),
]
