from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "safeguard.privacy"
    label = "privacy"
    verbose_name = "Privacy"

    def ready(self) -> None:
        from safeguard.privacy import archive, checks, fulfil, publications, requests
        from safeguard.web import providers

        checks.register()
        fulfil.register_platform_handlers()
        providers.register("privacy.customer_restrictions", requests.customer_restrictions)
        providers.register("kpi.dsr_on_time", requests.dsr_on_time)
        # The public trust page (metrics) lists the current register (R-DATA-6, R-MEAS-5).
        providers.register("privacy.subprocessors", publications.subprocessor_list)
        # Archive-then-delete files, carried by `safeguard backup` (web.filestores).
        providers.register("filestore.privacy_archives", archive.backup_file_store)
