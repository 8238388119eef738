from django.urls import path

from safeguard.privacy import views

app_name = "privacy"
urlpatterns = [
    path("", views.inventory, name="inventory"),
    path("inventory.csv", views.inventory_csv, name="inventory_csv"),
    path("inventory.pdf", views.inventory_pdf, name="inventory_pdf"),
    path("retention/", views.retention, name="retention"),
    path("retention/sweep/", views.sweep_start, name="sweep_start"),
    path("retention/sweeps/<int:run_id>/", views.sweep_detail, name="sweep"),
    path("holds/", views.holds, name="holds"),
    path("holds/<uuid:hold_id>/release/", views.hold_release, name="hold_release"),
    path("requests/", views.requests_list, name="requests"),
    path("requests/<uuid:request_id>/", views.request_detail, name="request"),
    path("requests/<uuid:request_id>/export.zip", views.request_export, name="request_export"),
    path("requests/<uuid:request_id>/letter.pdf", views.request_letter, name="request_letter"),
    path("requests/<uuid:request_id>/<str:step>/", views.request_step, name="request_step"),
]
