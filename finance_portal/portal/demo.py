"""The demo platform loaded by ``make run``: organizations of every kind and the users of DESIGN §10.

Idempotent: running it again changes nothing that exists. Development only: every password is
``demo12345``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from finance_portal.organizations.models import KycStatus, MemberRole, Organization
from finance_portal.organizations.services import member_create, organization_create
from finance_portal.organizations.validators import make_credit_code

DEMO_PASSWORD = "demo12345"


@dataclass(frozen=True)
class DemoOrg:
    key: str
    legal_name: str
    code17: str
    kinds: tuple[str, ...]
    kyc: str = KycStatus.APPROVED
    users: tuple[str, ...] = ()


DEMO_ORGS = (
    DemoOrg("supplier", "Shenzhen Precision Parts Co., Ltd.", "91440300MA5F00011", ("supplier",), users=("supplier",)),
    DemoOrg("supplier2", "Dongguan Cable & Wire Co., Ltd.", "91441900MA5F00022", ("supplier",), users=("supplier2",)),
    DemoOrg(
        "buyer",
        "Huaxin Electronics Manufacturing Group Co., Ltd.",
        "91440300MA5F00033",
        ("core_enterprise", "supplier"),
        users=("buyer",),
    ),
    DemoOrg("financier", "Pearl River Commercial Bank", "91440100MA5F00044", ("financier",), users=("financier",)),
    DemoOrg("financier2", "Eastern Factoring Co., Ltd.", "91310000MA5F00055", ("financier",), users=("financier2",)),
    DemoOrg("regulator", "Supply-Chain Finance Supervisory Office", "11100000MA5F00066", ("regulator",), users=("regulator",)),
    DemoOrg("platform", "Portal Operator Ltd.", "91110000MA5F00077", ("platform",), users=("admin",)),
    DemoOrg("pending", "Newco Trading Co., Ltd. (KYC pending)", "91440300MA5F00088", ("supplier",), kyc=KycStatus.PENDING),
)

DEMO_LOGINS = (
    ("supplier", "supplier (Shenzhen Precision Parts)"),
    ("supplier2", "supplier (Dongguan Cable & Wire)"),
    ("buyer", "core enterprise (Huaxin Electronics)"),
    ("financier", "financier (Pearl River Commercial Bank)"),
    ("financier2", "financier (Eastern Factoring)"),
    ("regulator", "regulator"),
    ("admin", "platform admin (also /admin/)"),
)


def load_demo_organizations() -> dict[str, Organization]:
    """Create what is missing of the demo organizations and users; return the organizations by key."""
    user_model = get_user_model()
    orgs: dict[str, Organization] = {}
    with transaction.atomic():
        for demo in DEMO_ORGS:
            code = make_credit_code(demo.code17)
            org = Organization.objects.filter(credit_code=code).first()
            if org is None:
                org = organization_create(
                    legal_name=demo.legal_name, credit_code=code, kinds=demo.kinds, kyc_status=demo.kyc
                )
            orgs[demo.key] = org
            for username in demo.users:
                if user_model.objects.filter(username=username).exists():
                    continue
                is_admin = demo.key == "platform"
                member_create(
                    organization=org,
                    username=username,
                    password=DEMO_PASSWORD,
                    email=f"{username}@demo.invalid",
                    role=MemberRole.ADMIN,
                    is_staff=is_admin,
                    is_superuser=is_admin,
                )
    return orgs
