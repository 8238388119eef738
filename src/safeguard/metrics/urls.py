from django.urls import path

from safeguard.metrics import archive_views, views

app_name = "metrics"
urlpatterns = [
    path("metrics/kpis/", views.kpis_page, name="kpis"),
    path("metrics/kpis/changes/", views.process_change_add, name="process_change_add"),
    path("metrics/reviews/monthly/<str:month>/", views.review_monthly, name="review_monthly"),
    path("metrics/reviews/monthly/<str:month>/review.pdf", views.review_monthly_pdf,
         name="review_monthly_pdf"),
    path("metrics/reviews/quarterly/<str:period>/", archive_views.review_pack,
         {"kind": "quarterly"}, name="review_quarterly"),
    path("metrics/reviews/quarterly/<str:period>/review.pdf", archive_views.review_pack_pdf,
         {"kind": "quarterly"}, name="review_quarterly_pdf"),
    path("metrics/reviews/yearly/<str:period>/", archive_views.review_pack,
         {"kind": "yearly"}, name="review_yearly"),
    path("metrics/reviews/yearly/<str:period>/review.pdf", archive_views.review_pack_pdf,
         {"kind": "yearly"}, name="review_yearly_pdf"),
    path("metrics/reviews/archive/", archive_views.review_archive, name="review_archive"),
    path("metrics/reviews/archive/new/", archive_views.review_archive_create,
         name="review_archive_create"),
    path("metrics/reviews/archive/<int:pack_id>/review.pdf",
         archive_views.review_archive_download, name="review_archive_download"),
    path("trust/", views.trust_page, name="trust"),
    path("trust.json", views.trust_json, name="trust_json"),
    path(".well-known/security.txt", views.security_txt, name="security_txt"),
]

from safeguard.metrics import cost_views, summary_views  # noqa: E402 - cost model and summary

urlpatterns += [
    path("metrics/cost/", cost_views.cost_page, name="cost"),
    path("metrics/cost/inputs/", cost_views.cost_input_set, name="cost_input_set"),
    path("metrics/cost/export.<str:fmt>", cost_views.cost_export, name="cost_export"),
    path("metrics/customer-summary/", summary_views.customer_summary_page,
         name="customer_summary"),
    path("metrics/customer-summary/summary.pdf", summary_views.customer_summary_pdf,
         name="customer_summary_pdf"),
]

from safeguard.metrics import rates_views  # noqa: E402 - the u-charts page

urlpatterns += [path("metrics/rates/", rates_views.rates_page, name="rates")]
