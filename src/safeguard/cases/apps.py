from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "safeguard.cases"
    label = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        from safeguard.cases import checks, checks_desk
        from safeguard.cases.selectors import case_refs
        from safeguard.web import providers

        checks.register()
        checks_desk.register()
        # case numbers for the customers app's approvals inbox (issue 15)
        providers.register("cases.case_refs", case_refs)
