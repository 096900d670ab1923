from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "finance_portal.portal"
    label = "portal"
    verbose_name = "Portal pages and operations"
