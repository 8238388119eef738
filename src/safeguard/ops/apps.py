from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "safeguard.ops"
    label = "ops"
    verbose_name = "Operations"
