"""Journal entries and postings, and the invariants PostgreSQL keeps even against code that bypasses the services.

- Entries balance: a constraint trigger, ``DEFERRABLE INITIALLY DEFERRED``, checks at commit that the postings
  of every entry touched sum to zero per currency, and that every new entry has at least two postings.
- One currency per entry: a posting's currency is its account's and its entry's (checked on insert).
- Append-only: UPDATE and DELETE of entries and postings are refused; an account's kind, currency and owner
  never change. TRUNCATE (test flushes) is left alone, and ``session_replication_role = replica`` skips
  every trigger: that is what a privileged edit does, and what ``manage.py ledger_check`` then reports.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


APPEND_ONLY = """
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % is refused; post a reversing entry', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER ledger_journalentry_append_only
    BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_posting_append_only
    BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
"""

APPEND_ONLY_REVERSE = """
DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_journalentry_append_only ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_append_only();
"""

ACCOUNT_IDENTITY = """
CREATE FUNCTION ledger_account_identity_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.kind, NEW.currency, NEW.organization_id) IS DISTINCT FROM (OLD.kind, OLD.currency, OLD.organization_id) THEN
        RAISE EXCEPTION 'account %: kind, currency and organization never change', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER ledger_account_identity_fixed
    BEFORE UPDATE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_identity_fixed();
"""

ACCOUNT_IDENTITY_REVERSE = """
DROP TRIGGER IF EXISTS ledger_account_identity_fixed ON ledger_account;
DROP FUNCTION IF EXISTS ledger_account_identity_fixed();
"""

ONE_CURRENCY = """
CREATE FUNCTION ledger_posting_one_currency() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    account_currency varchar;
    entry_currency varchar;
BEGIN
    SELECT currency INTO account_currency FROM ledger_account WHERE id = NEW.account_id;
    SELECT currency INTO entry_currency FROM ledger_journalentry WHERE id = NEW.entry_id;
    IF NEW.currency IS DISTINCT FROM account_currency OR NEW.currency IS DISTINCT FROM entry_currency THEN
        RAISE EXCEPTION 'posting in % on account % (%) of entry % (%): one currency per entry',
            NEW.currency, NEW.account_id, account_currency, NEW.entry_id, entry_currency
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER ledger_posting_one_currency
    BEFORE INSERT OR UPDATE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_one_currency();
"""

ONE_CURRENCY_REVERSE = """
DROP TRIGGER IF EXISTS ledger_posting_one_currency ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_posting_one_currency();
"""

# Runs at commit (or at SET CONSTRAINTS ... IMMEDIATE) once per posting row written in the transaction.
BALANCED = """
CREATE FUNCTION ledger_entry_balanced(entry bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT currency, SUM(amount) AS total INTO bad
        FROM ledger_posting WHERE entry_id = entry
        GROUP BY currency HAVING SUM(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % does not balance: its % postings sum to %', entry, bad.currency, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
END;
$$;
CREATE FUNCTION ledger_posting_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM ledger_entry_balanced(NEW.entry_id);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM ledger_entry_balanced(OLD.entry_id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER ledger_posting_entry_balanced
    AFTER INSERT OR UPDATE OR DELETE ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_check_balanced();
CREATE FUNCTION ledger_entry_check_postings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT COUNT(*) FROM ledger_posting WHERE entry_id = NEW.id) < 2 THEN
        RAISE EXCEPTION 'journal entry % has fewer than two postings', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER ledger_journalentry_has_postings
    AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_check_postings();
"""

BALANCED_REVERSE = """
DROP TRIGGER IF EXISTS ledger_journalentry_has_postings ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_entry_check_postings();
DROP TRIGGER IF EXISTS ledger_posting_entry_balanced ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_posting_check_balanced();
DROP FUNCTION IF EXISTS ledger_entry_balanced(bigint);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0001_initial'),
        ('organizations', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='JournalEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('deposit', 'Deposit (bank to organization cash)'), ('withdrawal', 'Withdrawal (organization cash to bank)'), ('purchase', 'Purchase of a bill'), ('settlement', 'Settlement of a bill'), ('reversal', 'Reversal of an earlier entry')], max_length=20)),
                ('currency', models.CharField(max_length=3)),
                ('memo', models.CharField(blank=True, max_length=500)),
                ('reference', models.CharField(blank=True, max_length=100)),
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
            ],
            options={
                'verbose_name_plural': 'journal entries',
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='Posting',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('amount', models.DecimalField(decimal_places=2, max_digits=20)),
                ('currency', models.CharField(max_length=3)),
            ],
            options={
                'ordering': ['entry_id', 'id'],
            },
        ),
        migrations.AlterField(
            model_name='account',
            name='kind',
            field=models.CharField(choices=[('cash', 'Cash held on the platform'), ('bank_clearing', 'Bank clearing (money entering or leaving the platform)'), ('fee_income', 'Platform fee income')], default='cash', max_length=20),
        ),
        migrations.AddConstraint(
            model_name='account',
            constraint=models.UniqueConstraint(condition=models.Q(('organization__isnull', True)), fields=('kind', 'currency'), name='ledger_one_platform_account_per_kind_currency'),
        ),
        migrations.AddConstraint(
            model_name='account',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['cash', 'bank_clearing', 'fee_income'])), name='ledger_account_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='account',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'cash'), ('organization__isnull', False)), models.Q(('kind__in', ('bank_clearing', 'fee_income')), ('organization__isnull', True)), _connector='OR'), name='ledger_account_owner_matches_kind'),
        ),
        migrations.AddField(
            model_name='journalentry',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='journalentry',
            name='organization',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='organizations.organization'),
        ),
        migrations.AddField(
            model_name='journalentry',
            name='reverses',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reversed_by', to='ledger.journalentry'),
        ),
        migrations.AddField(
            model_name='posting',
            name='account',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='postings', to='ledger.account'),
        ),
        migrations.AddField(
            model_name='posting',
            name='entry',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='postings', to='ledger.journalentry'),
        ),
        migrations.AddConstraint(
            model_name='journalentry',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['deposit', 'withdrawal', 'purchase', 'settlement', 'reversal'])), name='ledger_entry_kind_valid'),
        ),
        migrations.AddConstraint(
            model_name='journalentry',
            constraint=models.CheckConstraint(condition=models.Q(('currency__regex', '^[A-Z]{3}$')), name='ledger_entry_currency_is_iso'),
        ),
        migrations.AddConstraint(
            model_name='journalentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'reversal'), ('reverses__isnull', False)), models.Q(models.Q(('kind', 'reversal'), _negated=True), ('reverses__isnull', True)), _connector='OR'), name='ledger_entry_reversal_names_its_entry'),
        ),
        migrations.AddConstraint(
            model_name='journalentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind__in', ('deposit', 'withdrawal')), _negated=True), models.Q(('organization__isnull', False), models.Q(('reference', ''), _negated=True)), _connector='OR'), name='ledger_bank_entry_has_organization_and_reference'),
        ),
        migrations.AddConstraint(
            model_name='journalentry',
            constraint=models.UniqueConstraint(condition=models.Q(('kind__in', ('deposit', 'withdrawal'))), fields=('organization', 'reference'), name='ledger_bank_reference_once_per_org'),
        ),
        migrations.AddIndex(
            model_name='posting',
            index=models.Index(fields=['account', 'entry'], name='ledger_posting_account_entry'),
        ),
        migrations.AddConstraint(
            model_name='posting',
            constraint=models.CheckConstraint(condition=models.Q(('amount', 0), _negated=True), name='ledger_posting_amount_not_zero'),
        ),
        migrations.AddConstraint(
            model_name='posting',
            constraint=models.CheckConstraint(condition=models.Q(('currency__regex', '^[A-Z]{3}$')), name='ledger_posting_currency_is_iso'),
        ),
        migrations.AddConstraint(
            model_name='posting',
            constraint=models.UniqueConstraint(fields=('entry', 'account'), name='ledger_one_posting_per_account_per_entry'),
        ),
        migrations.RunSQL(APPEND_ONLY, APPEND_ONLY_REVERSE),
        migrations.RunSQL(ACCOUNT_IDENTITY, ACCOUNT_IDENTITY_REVERSE),
        migrations.RunSQL(ONE_CURRENCY, ONE_CURRENCY_REVERSE),
        migrations.RunSQL(BALANCED, BALANCED_REVERSE),
    ]
