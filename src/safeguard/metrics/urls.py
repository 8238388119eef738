from django.urls import path

from safeguard.metrics import views

app_name = "metrics"
urlpatterns = [
    path("metrics/kpis/", views.kpis_page, name="kpis"),
]
