from django.urls import path

from safeguard.detection import views

app_name = "detection"
urlpatterns = [
    path("alerts/", views.queue, name="queue"),
    path("alerts/acknowledge/", views.bulk_acknowledge, name="bulk_acknowledge"),
    path("alerts/<int:alert_id>/", views.alert_detail, name="alert"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="acknowledge"),
    path("alerts/<int:alert_id>/investigate/", views.alert_investigate, name="investigate"),
    path("alerts/<int:alert_id>/close/", views.alert_close, name="close"),
    path("alerts/<int:alert_id>/incident/", views.alert_open_incident, name="open_incident"),
    path("suppressions/", views.suppressions, name="suppressions"),
    path("suppressions/add/", views.suppression_add, name="suppression_add"),
    path("suppressions/<int:suppression_id>/revoke/", views.suppression_revoke,
         name="suppression_revoke"),
]
