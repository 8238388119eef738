from django.urls import path

from safeguard.metrics import views

app_name = "metrics"
urlpatterns = [
    path("metrics/kpis/", views.kpis_page, name="kpis"),
    path(".well-known/security.txt", views.security_txt, name="security_txt"),
]
