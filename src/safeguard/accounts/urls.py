from django.urls import path

from safeguard.accounts import views
from safeguard.accounts.scim import pages as scim_pages

# allauth routes served by a view of ours (same URL and name; safeguard.urls swaps them in).
ALLAUTH_VIEWS = {"account_reset_password": views.password_reset}

app_name = "accounts"
urlpatterns = [
    path("me/", views.me, name="me"),
    path("me/sessions/revoke/", views.session_revoke, name="session_revoke"),
    path("mfa-required/", views.mfa_required, name="mfa_required"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:user_id>/", views.user_detail, name="user_detail"),
    path("users/<int:user_id>/roles/grant/", views.user_role_grant, name="user_role_grant"),
    path("users/<int:user_id>/roles/revoke/", views.user_role_revoke, name="user_role_revoke"),
    path("users/<int:user_id>/disable/", views.user_disable, name="user_disable"),
    path("users/<int:user_id>/enable/", views.user_enable, name="user_enable"),
    path("users/<int:user_id>/manager/", views.user_manager_set, name="user_manager_set"),
    path("users/<int:user_id>/sessions/", views.user_sessions, name="user_sessions"),
    path("users/<int:user_id>/sessions/end/", views.user_session_revoke,
         name="user_session_revoke"),
    path("grant-requests/", views.grant_request_list, name="grant_requests"),
    path("grant-requests/<int:request_id>/decide/", views.grant_request_decide,
         name="grant_request_decide"),
    path("roles/", views.role_list, name="role_list"),
    path("roles/new/", views.role_edit, name="role_create"),
    path("roles/<slug:slug>/", views.role_detail, name="role_detail"),
    path("roles/<slug:slug>/edit/", views.role_edit, name="role_edit"),
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/new/", views.token_create, name="token_create"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("scim/", scim_pages.scim_tokens, name="scim_tokens"),
    path("scim/tokens/new/", scim_pages.scim_token_issue, name="scim_token_issue"),
    path("organisation/", views.organisation, name="org"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/<int:notification_id>/read/", views.notification_open,
         name="notification_open"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
]

# Access reviews keep their routes in their own module (decision 0128).
from safeguard.accounts import review_urls  # noqa: E402

urlpatterns += review_urls.urlpatterns
