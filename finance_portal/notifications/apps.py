from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "finance_portal.notifications"
    label = "notifications"
    verbose_name = "Notifications and work queues"
