from django.urls import path

from safeguard.incidents import evidence_views, views

app_name = "incidents"
urlpatterns = [
    path("", views.incident_list, name="list"),
    path("affected/", views.affected, name="affected"),
    path("affected.csv", views.affected_csv, name="affected_csv"),
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
    path("<int:incident_id>/evidence/", evidence_views.locker, name="evidence"),
    path("<int:incident_id>/evidence/upload/", evidence_views.upload, name="evidence_upload"),
    path("<int:incident_id>/evidence/slice/", evidence_views.capture, name="evidence_slice"),
    path("<int:incident_id>/evidence/<int:item_id>/", evidence_views.item, name="evidence_item"),
    path("<int:incident_id>/evidence/<int:item_id>/open/", evidence_views.item_open,
         name="evidence_open"),
    path("<int:incident_id>/evidence/<int:item_id>/transfer/", evidence_views.transfer,
         name="evidence_transfer"),
    path("<int:incident_id>/evidence/export/", evidence_views.export, name="evidence_export"),
]
