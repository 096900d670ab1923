from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "finance_portal.portal"
    label = "portal"
    verbose_name = _("Portal pages and operations")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from finance_portal.portal.sessions import stamp_at_sign_in

        user_logged_in.connect(stamp_at_sign_in, dispatch_uid="portal.sessions.stamp_at_sign_in")
