from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "safeguard.incidents"
    label = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from django.conf import settings

        from safeguard.incidents import (
            checks,
            clocks,
            communications,
            permissions,
            selectors,
            services,
        )
        from safeguard.web import providers

        del permissions  # imported for its declarations
        checks.register()
        try:
            clocks.use_table(clocks.load_table(
                settings.SAFEGUARD_INCIDENTS_JURISDICTIONS or None,
                overrides={"SAFEGUARD_INCIDENTS_PCI_ACQUIRER_HOURS":
                           settings.SAFEGUARD_INCIDENTS_PCI_ACQUIRER_HOURS}))
        except (OSError, clocks.TableError):
            clocks.use_table(None)  # E520 reports it; the default file stays in use meanwhile
        providers.register("incidents.open_from_alert", services.open_from_alert)
        providers.register("kpi.mttr_seconds", selectors.mttr_seconds)
        providers.register("control.exercises_on_time", selectors.exercises_on_time)
        providers.register("incidents.published_notices", communications.published_notices)
        providers.register("calendar.incident_exercises", selectors.calendar_exercises)
