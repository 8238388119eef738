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
