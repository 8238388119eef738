from django.urls import path

from safeguard.incidents import views

app_name = "incidents"
urlpatterns = [
    path("", views.incident_list, name="list"),
    path("affected/", views.affected, name="affected"),
    path("affected.csv", views.affected_csv, name="affected_csv"),
    path("exercises/", views.exercises, name="exercises"),
    path("exercises/<int:exercise_id>/", views.exercise, name="exercise"),
    path("exercises/<int:exercise_id>/findings/", views.finding_add, name="finding_add"),
    path("exercises/<int:exercise_id>/findings/<int:finding_id>/resolve/",
         views.finding_resolve, name="finding_resolve"),
    path("retainers/", views.retainers, name="retainers"),
    path("retainers/<int:retainer_id>/", views.retainer_edit, name="retainer_edit"),
    path("<int:incident_id>/review/", views.review, name="review"),
    path("<int:incident_id>/review/items/", views.action_item_add, name="action_item_add"),
    path("<int:incident_id>/review/items/<int:item_id>/resolve/", views.action_item_resolve,
         name="action_item_resolve"),
    path("<int:incident_id>/", views.incident_detail, name="detail"),
    path("<int:incident_id>/advance/", views.incident_advance, name="advance"),
    path("<int:incident_id>/jurisdictions/", views.incident_jurisdictions, name="jurisdictions"),
    path("<int:incident_id>/roles/", views.role_assign, name="role_assign"),
    path("<int:incident_id>/timeline/", views.timeline_add, name="timeline_add"),
    path("<int:incident_id>/delays/", views.delay_record, name="delay_record"),
    path("<int:incident_id>/contain/user/", views.contain_user, name="contain_user"),
    path("<int:incident_id>/contain/token/", views.contain_token, name="contain_token"),
    path("<int:incident_id>/notice.pdf", views.regulator_notice, name="regulator_notice"),
    path("<int:incident_id>/contain/<int:action_id>/reverse/", views.containment_reverse,
         name="containment_reverse"),
]
