from django.urls import path

from safeguard.metrics import views

app_name = "metrics"
urlpatterns = [
    path("metrics/kpis/", views.kpis_page, name="kpis"),
    path("trust/", views.trust_page, name="trust"),
    path("trust.json", views.trust_json, name="trust_json"),
    path(".well-known/security.txt", views.security_txt, name="security_txt"),
]
