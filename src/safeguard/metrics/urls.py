from django.urls import path

from safeguard.metrics import views

app_name = "metrics"
urlpatterns = [
    path("metrics/kpis/", views.kpis_page, name="kpis"),
    path("metrics/kpis/changes/", views.process_change_add, name="process_change_add"),
    path("metrics/reviews/monthly/<str:month>/", views.review_monthly, name="review_monthly"),
    path("metrics/reviews/monthly/<str:month>/review.pdf", views.review_monthly_pdf,
         name="review_monthly_pdf"),
    path("trust/", views.trust_page, name="trust"),
    path("trust.json", views.trust_json, name="trust_json"),
    path(".well-known/security.txt", views.security_txt, name="security_txt"),
]
