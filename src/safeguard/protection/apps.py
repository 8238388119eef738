from django.apps import AppConfig


class ProtectionConfig(AppConfig):
    name = "safeguard.protection"
    label = "protection"
    verbose_name = "Data protection"

    def ready(self) -> None:
        # The no-PAN guard covers every app's models, so it is wired here, once, for all senders;
        # the system check proves every encrypted field can bind its ciphertext to the row.
        from safeguard.protection import checks, guard

        guard.install()
        checks.register()
