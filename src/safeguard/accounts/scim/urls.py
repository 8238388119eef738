"""``/scim/v2/`` routes (RFC 7644 §3.2); each view declares ``accounts.scim_provision``."""

from django.urls import path

from safeguard.accounts.scim import views

app_name = "scim"

urlpatterns = [
    path("ServiceProviderConfig", views.service_provider_config, name="config"),
    path("Schemas", views.schema_list, name="schemas"),
    path("Schemas/<str:schema_id>", views.schema_detail, name="schema"),
    path("ResourceTypes", views.resource_type_list, name="resource_types"),
    path("ResourceTypes/<str:type_id>", views.resource_type_detail, name="resource_type"),
    path("Users", views.users, name="users"),
    path("Users/<str:user_id>", views.user_detail, name="user"),
    path("Groups", views.groups, name="groups"),
    path("Groups/<str:group_id>", views.group_detail, name="group"),
]
