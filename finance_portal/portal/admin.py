from django.contrib import admin

from finance_portal.portal.models import WorkerProbe


@admin.register(WorkerProbe)
class WorkerProbeAdmin(admin.ModelAdmin):
    list_display = ("pk", "requested_at", "processed_at", "worker")
    readonly_fields = ("requested_at", "processed_at", "worker")
