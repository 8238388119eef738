from django.urls import path

from safeguard.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.search, name="search"),
    path("new/", views.create, name="create"),
    path("approvals/", views.approval_list, name="approval_list"),
    path("approvals/<uuid:approval_id>/", views.approval_detail, name="approval_detail"),
    path("approvals/<uuid:approval_id>/decide/", views.approval_decide, name="approval_decide"),
    path("<uuid:customer_id>/", views.detail, name="detail"),
    path("<uuid:customer_id>/panel/", views.panel, name="panel"),
    path("<uuid:customer_id>/reveal/", views.reveal, name="reveal"),
    path("<uuid:customer_id>/reveal/<slug:field>/", views.reveal_form, name="reveal_form"),
    path("<uuid:customer_id>/edit/", views.edit, name="edit"),
    path("<uuid:customer_id>/verify/", views.verify, name="verify"),
    path("<uuid:customer_id>/request/<slug:kind>/", views.request_change, name="request_change"),
]
