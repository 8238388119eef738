from django.urls import path

from safeguard.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("views/", views.saved_view_save, name="saved_view_save"),
    path("views/<int:view_id>/delete/", views.saved_view_delete, name="saved_view_delete"),
    path("<int:number>/", views.detail, name="detail"),
    path("<int:number>/conversation/", views.conversation, name="conversation"),
    path("<int:number>/reply/", views.reply, name="reply"),
    path("<int:number>/note/", views.note, name="note"),
    path("<int:number>/presence/", views.presence, name="presence"),
    path("<int:number>/assign/", views.assign, name="assign"),
    path("<int:number>/status/", views.status, name="status"),
    path("<int:number>/priority/", views.priority, name="priority"),
    path("<int:number>/tags/", views.tags, name="tags"),
    path("<int:number>/merge/", views.merge, name="merge"),
    path("<int:number>/queue/", views.move_queue, name="move_queue"),
    path("<int:number>/csat-link/", views.csat_link, name="csat_link"),
    path("<int:number>/macro/", views.macro, name="macro"),
    path("<int:number>/contact/code/", views.contact_code_send, name="contact_code_send"),
    path("<int:number>/contact/code/check/", views.contact_code_check,
         name="contact_code_check"),
    path("<int:number>/contact/verify/", views.contact_verify, name="contact_verify"),
    path("<int:number>/messages/<uuid:message_id>/retry/", views.retry, name="retry"),
    path("<int:number>/attachments/<uuid:attachment_id>/", views.attachment, name="attachment"),
    path("<int:number>/attachments/<uuid:attachment_id>/quarantine/",
         views.attachment_quarantine, name="attachment_quarantine"),
    path("customer/<uuid:customer_id>/", views.customer_cases, name="customer_cases"),
    path("queues/", views.queue_admin, name="queue_admin"),
    path("queues/<slug:slug>/", views.queue_edit, name="queue_edit"),
    path("macros/", views.macros, name="macros"),
    path("kpi/", views.kpi, name="kpi"),
    path("csat/<str:token>/", views.csat, name="csat"),
]
