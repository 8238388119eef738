"""Routes of the channels app, mounted at the site root: /channels/…, /contact/, /chat/…."""

from django.urls import path

from safeguard.channels import views

app_name = "channels"
urlpatterns = [
    path("channels/voice/events", views.voice_events, name="voice_events"),
    path("channels/settings/", views.channel_settings, name="settings"),
    path("contact/", views.contact, name="contact"),
    path("chat/", views.chat_start, name="chat_start"),
    path("chat/widget.js", views.chat_widget, name="chat_widget"),
    path("chat/<str:conversation_id>/<str:secret>/", views.chat, name="chat"),
    path("chat/<str:conversation_id>/<str:secret>/messages", views.chat_poll, name="chat_poll"),
    path("chat/<str:conversation_id>/<str:secret>/post", views.chat_post, name="chat_post"),
]
