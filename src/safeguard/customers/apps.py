from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "safeguard.customers"
    label = "customers"
    verbose_name = "Customers"
