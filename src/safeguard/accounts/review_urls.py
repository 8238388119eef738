"""Routes of access reviews, mounted under the accounts namespace (``/staff/reviews/``)."""

from django.urls import path

from safeguard.accounts import review_views as views

urlpatterns = [
    path("reviews/", views.campaign_list, name="reviews"),
    path("reviews/start/", views.campaign_start, name="review_start"),
    path("reviews/queue/", views.queue, name="review_queue"),
    path("reviews/items/<int:item_id>/decide/", views.item_decide, name="review_decide"),
    path("reviews/items/<int:item_id>/reassign/", views.item_reassign, name="review_reassign"),
    path("reviews/<int:campaign_id>/", views.campaign_detail, name="review_detail"),
    path("reviews/<int:campaign_id>/close/", views.campaign_close, name="review_close"),
    path("reviews/<int:campaign_id>/report.pdf", views.campaign_report, name="review_report"),
    path("reviews/<int:campaign_id>/signature.json", views.campaign_signature,
         name="review_signature"),
]
