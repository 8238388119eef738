from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class AccountsConfig(AppConfig):
    name = "safeguard.accounts"
    label = "accounts"
    verbose_name = "Staff accounts"

    def ready(self) -> None:
        # Every app declares its permissions in <app>/permissions.py; import them all so the
        # registry is complete before the first request or the deny-by-default walker runs.
        autodiscover_modules("permissions")
        from safeguard.accounts import checks, receivers

        receivers.connect()
        checks.register()
        # Access reviews (decision 0128): their checks and the governance control provider.
        from safeguard.accounts import review_checks, review_selectors
        from safeguard.web import providers

        review_checks.register()
        providers.register("control.access_reviews_done",
                           review_selectors.control_access_reviews_done)
