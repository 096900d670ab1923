"""The allocation limit becomes ``DEFERRABLE INITIALLY DEFERRED`` and reads the released states from one place.

- ``bills_released_states()`` returns the states in which a bill no longer uses its invoices. It is written
  from ``bills.models.RELEASED_STATES`` when this migration runs, and a test compares the two, so the
  trigger and the services can never disagree on what "released" means.
- The limit is checked at commit, after every row of the transaction is in place (a bill whose allocations
  are inserted one by one is judged on the whole). It locks the invoice row first, so two transactions that
  each fit alone but together over-allocate are serialised (``FOR NO KEY UPDATE``): the second sees the first's rows and fails.
"""

from django.db import migrations

from bills.models import RELEASED_STATES


def _released_sql() -> str:
    states = ", ".join(f"'{str(s)}'" for s in sorted(RELEASED_STATES))
    return f"""
CREATE OR REPLACE FUNCTION bills_released_states() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[{states}]::text[]
$$;
"""


ALLOCATION_LIMIT = """
DROP TRIGGER IF EXISTS bills_allocation_within_invoice ON bills_billallocation;
CREATE OR REPLACE FUNCTION bills_allocation_within_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    allocated numeric;
    invoice_total numeric;
BEGIN
    -- The row lock serialises concurrent allocators of one invoice until the first one commits. NO KEY
    -- UPDATE, because each allocator already holds the KEY SHARE lock of its foreign-key check: FOR UPDATE
    -- would make two of them deadlock instead of the second one seeing the first's row.
    SELECT total_amount INTO invoice_total FROM invoices_invoice WHERE id = NEW.invoice_id FOR NO KEY UPDATE;
    SELECT COALESCE(SUM(a.amount), 0) INTO allocated
        FROM bills_billallocation a JOIN bills_bill b ON b.id = a.bill_id
        WHERE a.invoice_id = NEW.invoice_id AND NOT (b.state = ANY (bills_released_states()));
    IF allocated > invoice_total THEN
        RAISE EXCEPTION 'invoice % would be allocated % of its total %', NEW.invoice_id, allocated, invoice_total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER bills_allocation_within_invoice
    AFTER INSERT OR UPDATE ON bills_billallocation
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bills_allocation_within_invoice();
"""

ALLOCATION_LIMIT_REVERSE = """
DROP TRIGGER IF EXISTS bills_allocation_within_invoice ON bills_billallocation;
CREATE OR REPLACE FUNCTION bills_allocation_within_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    allocated numeric;
    invoice_total numeric;
BEGIN
    SELECT total_amount INTO invoice_total FROM invoices_invoice WHERE id = NEW.invoice_id;
    SELECT COALESCE(SUM(a.amount), 0) INTO allocated
        FROM bills_billallocation a JOIN bills_bill b ON b.id = a.bill_id
        WHERE a.invoice_id = NEW.invoice_id AND b.state NOT IN ('rejected', 'cancelled');
    IF allocated > invoice_total THEN
        RAISE EXCEPTION 'invoice % would be allocated % of its total %', NEW.invoice_id, allocated, invoice_total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER bills_allocation_within_invoice
    AFTER INSERT OR UPDATE ON bills_billallocation
    FOR EACH ROW EXECUTE FUNCTION bills_allocation_within_invoice();
DROP FUNCTION IF EXISTS bills_released_states();
"""


class Migration(migrations.Migration):
    dependencies = [("bills", "0002_database_guards"), ("invoices", "0002_verification_and_events")]

    operations = [
        migrations.RunSQL(_released_sql() + ALLOCATION_LIMIT, ALLOCATION_LIMIT_REVERSE),
    ]
