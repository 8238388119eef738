from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "safeguard.governance"
    label = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        from safeguard.governance import checks, permissions, registers, selectors, vulns
        from safeguard.web import providers

        del permissions, registers  # imported for their declarations and automated checks
        checks.register()
        # The metrics trust page reads every control's latest state through this name.
        providers.register("governance.controls", selectors.controls_for_trust_page)
        # The certification register (decision 0249): published, current certifications for
        # the trust page and the customer summary.
        from safeguard.governance import certifications

        providers.register("governance.certifications", certifications.public_certifications)
        # The "backups restored recently" control (issue 13 section 5, decision 0241).
        from safeguard.governance import backup

        providers.register("control.backups_restored", backup.control_backups_restored)
        # Files kept on disk that the backup carries (web.filestores).
        from safeguard.governance import evidence

        providers.register("filestore.governance_evidence", evidence.backup_file_store)
        # The vulnerability register (issue 13 section 4): the control and the metrics KPI.
        providers.register("control.vulnerabilities_within_sla", vulns.control_within_sla)
        providers.register("kpi.vulnerabilities_on_time", vulns.kpi_on_time)
        # Workforce (issue 13 section 3): training control and KPI, phishing-simulation KPI.
        from safeguard.governance import phishing, workforce

        providers.register("control.training_complete", workforce.control_training_complete)
        providers.register("kpi.training_hours_per_person",
                           workforce.kpi_training_hours_per_person)
        providers.register("kpi.phishing_click_rate", phishing.kpi_click_rate)
