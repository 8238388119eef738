from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "safeguard.detection"
    label = "detection"
    verbose_name = "Detection"

    def ready(self) -> None:
        from safeguard.detection import checks, selectors
        from safeguard.web import providers

        checks.register()
        # KPIs for the metrics work (docs/detection.md "KPIs"): looked up by name, so an app that
        # may not import this one still reads them.
        providers.register("kpi.mttd_seconds", selectors.mttd_seconds)
        providers.register("kpi.time_to_acknowledge_seconds",
                           selectors.time_to_acknowledge_seconds)
        providers.register("kpi.false_positive_rate_by_rule",
                           selectors.false_positive_rate_by_rule)
        # The governance control "detection running" (docs/governance.md).
        providers.register("control.detection_running", selectors.detection_running_control)
