from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "finance_portal.oversight"
    label = "oversight"
    verbose_name = "Regulator oversight"
