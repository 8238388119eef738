from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "safeguard.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        # Our deploy checks (`safeguard check --deploy`, issue 17) and the production mark.
        from safeguard.ops import checks, receivers

        checks.register()
        receivers.connect(self)
        # Uptime from the health history for the trust page (issue 14, R-MEAS-5).
        from safeguard.ops import health_history
        from safeguard.web import providers

        health_history.register_checks()
        providers.register("ops.uptime_90d", health_history.uptime_90d)
