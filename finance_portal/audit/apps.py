from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "finance_portal.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from finance_portal.audit import signals

        signals.connect()
