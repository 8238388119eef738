from django.urls import path

from safeguard.governance import views

app_name = "governance"
urlpatterns = [
    path("", views.frameworks, name="frameworks"),
    path("run/", views.run_now, name="run"),
    path("frameworks/<slug:framework_id>/", views.framework, name="framework"),
    path("frameworks/<slug:framework_id>/controls.csv", views.framework_csv,
         name="framework_csv"),
    path("frameworks/<slug:framework_id>/statement.pdf", views.framework_pdf,
         name="framework_pdf"),
    path("controls/<str:control_id>/", views.control, name="control"),
    path("backups/", views.backups, name="backups"),
    path("backups/<uuid:backup_id>/drill/", views.backup_drill, name="backup_drill"),
    path("vulnerabilities/", views.vulnerabilities, name="vulnerabilities"),
    path("vulnerabilities/exception/", views.vulnerability_exception,
         name="vulnerability_exception"),
]
