from django.urls import path

from safeguard.governance import views, workforce_views

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
    # Workforce (issue 13 section 3)
    path("workforce/", workforce_views.overview, name="workforce"),
    path("workforce/checks/", workforce_views.check_record, name="workforce_check"),
    path("workforce/team/", workforce_views.team_set, name="workforce_team"),
    path("workforce/team-month/", workforce_views.team_month, name="workforce_team_month"),
    path("workforce/training/", workforce_views.training, name="workforce_training"),
    path("workforce/training/course/", workforce_views.training_course,
         name="workforce_course"),
    path("workforce/training/assign/", workforce_views.training_assign,
         name="workforce_assign"),
    path("workforce/training/completion/", workforce_views.training_completion,
         name="workforce_completion"),
    path("workforce/training/refreshers/", workforce_views.training_refreshers,
         name="workforce_refreshers"),
    path("workforce/phishing/", workforce_views.phishing_list, name="workforce_phishing"),
    path("workforce/phishing/import/", workforce_views.phishing_import,
         name="workforce_phishing_import"),
    path("workforce/phishing/<int:campaign_id>/", workforce_views.phishing_campaign,
         name="workforce_campaign"),
]
