import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from finance_portal.ledger.models import Account
from finance_portal.organizations.errors import InvalidOrganization, KycNotApproved, NoMembership
from finance_portal.organizations.models import KycStatus, MemberRole, Organization, OrganizationAuditLog
from finance_portal.organizations.services import (
    member_create,
    organization_create,
    organization_set_kyc,
    require_acting_organization,
)
from finance_portal.organizations.validators import make_credit_code

pytestmark = pytest.mark.django_db

CODE = make_credit_code("91440300MA5F99991")


def make_org(**kw):
    args = {"legal_name": "Acme Parts Co., Ltd.", "credit_code": CODE, "kinds": ["supplier"]}
    args.update(kw)
    return organization_create(**args)


def test_new_organization_waits_for_kyc_and_gets_a_cash_account_and_an_audit_row():
    org = make_org()
    assert org.kyc_status == KycStatus.PENDING
    assert not org.can_act
    account = Account.objects.get(organization=org)
    assert (account.kind, account.currency) == ("cash", "CNY")
    assert OrganizationAuditLog.objects.filter(organization=org, action="organization.created").count() == 1


def test_an_organization_may_be_both_supplier_and_core_enterprise():
    org = make_org(kinds=["supplier", "core_enterprise"])
    assert sorted(org.kinds) == ["core_enterprise", "supplier"]


@pytest.mark.parametrize("kinds", [["regulator", "supplier"], ["platform", "financier"], [], ["bank"]])
def test_invalid_kind_combinations_are_refused(kinds):
    with pytest.raises(InvalidOrganization) as err:
        make_org(kinds=kinds)
    assert err.value.field == "kinds"
    assert not Organization.objects.exists()


def test_the_database_refuses_a_regulator_that_trades():
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.create(legal_name="X", credit_code=CODE, is_regulator=True, is_supplier=True)


def test_the_database_refuses_an_organization_without_a_kind():
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.create(legal_name="X", credit_code=CODE)


def test_a_credit_code_is_registered_once():
    make_org()
    with pytest.raises(InvalidOrganization) as err:
        make_org(legal_name="Someone Else")
    assert err.value.field == "credit_code"
    assert Organization.objects.count() == 1


def test_a_bad_credit_code_is_refused_with_the_field_named():
    with pytest.raises(InvalidOrganization) as err:
        make_org(credit_code="91350100M000100Y44")
    assert err.value.field == "credit_code"
    assert "check character" in err.value.message


def test_a_blank_legal_name_is_refused():
    with pytest.raises(InvalidOrganization):
        make_org(legal_name="   ")


def test_member_has_one_organization_and_a_role():
    org = make_org()
    m = member_create(organization=org, username="alice", password="s3cret-pass!", role=MemberRole.ADMIN)
    assert m.user.membership.organization == org
    assert m.role == "admin"
    with pytest.raises(IntegrityError), transaction.atomic():
        type(m).objects.create(user=m.user, organization=org)


def test_usernames_are_unique_ignoring_case():
    org = make_org()
    member_create(organization=org, username="alice", password="s3cret-pass!")
    with pytest.raises(InvalidOrganization):
        member_create(organization=org, username="ALICE", password="s3cret-pass!")
    assert get_user_model().objects.count() == 1


def test_only_platform_members_can_be_staff():
    org = make_org()
    with pytest.raises(InvalidOrganization):
        member_create(organization=org, username="mallory", password="s3cret-pass!", is_staff=True)
    platform = organization_create(
        legal_name="Operator", credit_code=make_credit_code("91110000MA5F99992"), kinds=["platform"]
    )
    m = member_create(organization=platform, username="ops", password="s3cret-pass!", is_staff=True)
    assert m.user.is_staff


def test_unknown_role_is_refused():
    with pytest.raises(InvalidOrganization):
        member_create(organization=make_org(), username="bob", password="s3cret-pass!", role="owner")


@pytest.mark.parametrize("status, allowed", [("pending", False), ("approved", True), ("suspended", False)])
def test_only_kyc_approved_organizations_can_act(status, allowed):
    org = make_org()
    m = member_create(organization=org, username="carol", password="s3cret-pass!")
    organization_set_kyc(organization_id=org.pk, status=status, actor=None)
    if allowed:
        assert require_acting_organization(m.user) == org
    else:
        with pytest.raises(KycNotApproved) as err:
            require_acting_organization(m.user)
        assert org.legal_name in err.value.message


def test_suspension_takes_effect_and_is_audited():
    org = make_org(kyc_status=KycStatus.APPROVED)
    m = member_create(organization=org, username="dave", password="s3cret-pass!")
    require_acting_organization(m.user)
    organization_set_kyc(organization_id=org.pk, status="suspended", actor=None, note="court order")
    m.user.refresh_from_db()
    with pytest.raises(KycNotApproved):
        require_acting_organization(get_user_model().objects.get(pk=m.user.pk))
    log = OrganizationAuditLog.objects.filter(organization=org, action="organization.kyc").get()
    assert log.detail == {"previous": "approved", "status": "suspended", "note": "court order"}


def test_a_user_without_organization_cannot_act():
    user = get_user_model().objects.create_user("loner", password="s3cret-pass!")
    with pytest.raises(NoMembership):
        require_acting_organization(user)


def test_unknown_kyc_status_is_refused():
    org = make_org()
    with pytest.raises(InvalidOrganization):
        organization_set_kyc(organization_id=org.pk, status="maybe", actor=None)
    org.refresh_from_db()
    assert org.kyc_status == "pending"


def test_demo_data_is_idempotent(demo_orgs):
    from finance_portal.portal.demo import load_demo_organizations

    before = (Organization.objects.count(), get_user_model().objects.count(), Account.objects.count())
    load_demo_organizations()
    after = (Organization.objects.count(), get_user_model().objects.count(), Account.objects.count())
    assert before == after
    usernames = set(get_user_model().objects.values_list("username", flat=True))
    assert {"supplier", "supplier2", "buyer", "financier", "financier2", "regulator", "admin"} <= usernames


def test_the_acting_organization_is_one_fresh_query_even_for_a_user_whose_membership_was_read(
        django_assert_num_queries):
    org = make_org(kyc_status=KycStatus.APPROVED)
    m = member_create(organization=org, username="erin", password="s3cret-pass!")
    user = get_user_model().objects.get(pk=m.user.pk)
    assert user.membership.organization == org  # the membership and its organization are now cached on the user
    Organization.objects.filter(pk=org.pk).update(kyc_status=KycStatus.SUSPENDED)
    with django_assert_num_queries(1), pytest.raises(KycNotApproved):
        require_acting_organization(user)  # the suspension shows: nothing cached on the user is trusted
