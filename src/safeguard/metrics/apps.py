from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "safeguard.metrics"
    label = "metrics"
    verbose_name = "Metrics"

    def ready(self) -> None:
        from safeguard.metrics import checks

        checks.register()
