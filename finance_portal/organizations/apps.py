from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "finance_portal.organizations"
    label = "organizations"
    verbose_name = "Organizations and memberships"
