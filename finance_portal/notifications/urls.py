"""Page routes of the inbox (``finance_portal.notifications.views``), included from the site's URL map."""

from django.urls import path

from finance_portal.notifications import views

app_name = "notifications"
urlpatterns = [
    path("notifications/", views.inbox, name="inbox"),
    path("notifications/<int:notification_id>/read/", views.mark_read, name="read"),
    path("notifications/read-all/", views.mark_all_read, name="read-all"),
    path("notifications/email-language/", views.email_language, name="email-language"),
]
