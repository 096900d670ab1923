from django.contrib import admin

from finance_portal.ledger.models import Account


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "kind", "currency", "created_at")
    list_filter = ("kind", "currency")
    search_fields = ("name", "organization__legal_name", "organization__credit_code")
    readonly_fields = ("created_at",)
