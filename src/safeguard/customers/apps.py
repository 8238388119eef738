from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "safeguard.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from safeguard.customers import checks

        checks.register()
