"""Admin for organizations: onboarding and KYC review call the same services as everything else."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from finance_portal.admin_read_only import ReadOnlyAdmin
from finance_portal.organizations.models import KycStatus, Membership, Organization, OrganizationAuditLog
from finance_portal.organizations.services import organization_create, organization_set_kyc
from finance_portal.users import signed_in_user


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("legal_name", "credit_code", "kind_labels", "kyc_status", "kyc_reviewed_at", "created_at")
    list_filter = (
        "kyc_status",
        "is_supplier",
        "is_core_enterprise",
        "is_financier",
        "is_regulator",
        "is_platform",
    )
    search_fields = ("legal_name", "legal_name_zh", "credit_code")
    readonly_fields = ("kyc_status", "kyc_reviewed_at", "created_at")
    inlines = [MembershipInline]
    actions = ["approve_kyc", "suspend_kyc"]

    def save_model(self, request: HttpRequest, obj: Organization, form: object, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # New organizations go through the service: validation, cash account, audit row.
        created = organization_create(
            legal_name=obj.legal_name, credit_code=obj.credit_code, kinds=obj.kinds, actor=signed_in_user(request)
        )
        obj.pk = created.pk
        obj._state.adding = False

    def _set_kyc(self, request: HttpRequest, queryset: QuerySet[Organization], status: str) -> None:
        for org in queryset:
            organization_set_kyc(organization_id=org.pk, status=status, actor=signed_in_user(request), note="admin action")
        self.message_user(request, gettext("%(count)s organization(s) set to %(status)s.") % {
            "count": queryset.count(), "status": str(KycStatus(status).label).lower()}, messages.SUCCESS)

    @admin.action(description=_("Approve KYC of the selected organizations"))
    def approve_kyc(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        self._set_kyc(request, queryset, KycStatus.APPROVED)

    @admin.action(description=_("Suspend the selected organizations"))
    def suspend_kyc(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        self._set_kyc(request, queryset, KycStatus.SUSPENDED)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role", "organization__kyc_status")
    search_fields = ("user__username", "user__email", "organization__legal_name")
    autocomplete_fields = ("user", "organization")


@admin.register(OrganizationAuditLog)
class OrganizationAuditLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "organization", "action", "actor")
    list_filter = ("action",)
    search_fields = ("organization__legal_name", "action")
    readonly_fields = ("organization", "actor", "action", "detail", "created_at")

