from django.urls import path

from safeguard.privacy import views, views_publications, views_retention

app_name = "privacy"
urlpatterns = [
    path("", views.inventory, name="inventory"),
    path("inventory.csv", views.inventory_csv, name="inventory_csv"),
    path("inventory.pdf", views.inventory_pdf, name="inventory_pdf"),
    path("retention/", views.retention, name="retention"),
    path("retention/sweep/", views.sweep_start, name="sweep_start"),
    path("retention/classes/<slug:key>/", views_retention.matrix_row_edit, name="matrix_edit"),
    path("retention/versions/<int:number>/", views_retention.matrix_version,
         name="matrix_version"),
    path("archives/", views_retention.archive_list, name="archives"),
    path("archives/<uuid:archive_id>/verify/", views_retention.archive_verify,
         name="archive_verify"),
    # public (no login): the privacy notice and the subprocessor register (R-DATA-5, R-DATA-6)
    path("notice/", views_publications.notice, name="notice"),
    path("notice/v<int:number>/", views_publications.notice_version, name="notice_version"),
    path("subprocessors/", views_publications.subprocessors, name="subprocessors"),
    path("subprocessors.csv", views_publications.subprocessors_csv, name="subprocessors_csv"),
    # the privacy officer's side of both
    path("publish/notice/", views_publications.notice_manage, name="notice_manage"),
    path("publish/subprocessors/", views_publications.subprocessors_manage,
         name="subprocessors_manage"),
    path("publish/subprocessors/<uuid:subprocessor_id>/", views_publications.subprocessor_edit,
         name="subprocessor_edit"),
    path("publish/subprocessors/<uuid:subprocessor_id>/remove/",
         views_publications.subprocessor_remove, name="subprocessor_remove"),
    path("retention/sweeps/<int:run_id>/", views.sweep_detail, name="sweep"),
    path("holds/", views.holds, name="holds"),
    path("holds/<uuid:hold_id>/release/", views.hold_release, name="hold_release"),
    path("requests/", views.requests_list, name="requests"),
    path("requests/<uuid:request_id>/", views.request_detail, name="request"),
    path("requests/<uuid:request_id>/export.zip", views.request_export, name="request_export"),
    path("requests/<uuid:request_id>/letter.pdf", views.request_letter, name="request_letter"),
    path("requests/<uuid:request_id>/<str:step>/", views.request_step, name="request_step"),
]
