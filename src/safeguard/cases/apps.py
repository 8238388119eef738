from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "safeguard.cases"
    label = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        from safeguard.cases import checks

        checks.register()
