from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "safeguard.privacy"
    label = "privacy"
    verbose_name = "Privacy"

    def ready(self) -> None:
        from safeguard.privacy import checks

        checks.register()
