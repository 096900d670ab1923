"""Invariants the database keeps even against code that bypasses the services.

- ``bills_billevent`` is append-only: a trigger refuses UPDATE and DELETE (TRUNCATE, used by test flushes
  and by a deliberate operator, is left alone; ``session_replication_role = replica`` skips triggers, which
  is what a privileged edit would do, and what the chain check then catches).
- An invoice's allocations across live bills (not rejected or cancelled) never exceed its total.
"""

from django.db import migrations

EVENTS_APPEND_ONLY = """
CREATE FUNCTION bills_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'bill events are append-only: % on bills_billevent is refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER bills_billevent_append_only
    BEFORE UPDATE OR DELETE ON bills_billevent
    FOR EACH ROW EXECUTE FUNCTION bills_event_append_only();
"""

EVENTS_APPEND_ONLY_REVERSE = """
DROP TRIGGER IF EXISTS bills_billevent_append_only ON bills_billevent;
DROP FUNCTION IF EXISTS bills_event_append_only();
"""

ALLOCATION_LIMIT = """
CREATE FUNCTION bills_allocation_within_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
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
"""

ALLOCATION_LIMIT_REVERSE = """
DROP TRIGGER IF EXISTS bills_allocation_within_invoice ON bills_billallocation;
DROP FUNCTION IF EXISTS bills_allocation_within_invoice();
"""


class Migration(migrations.Migration):
    dependencies = [("bills", "0001_initial")]

    operations = [
        migrations.RunSQL(EVENTS_APPEND_ONLY, EVENTS_APPEND_ONLY_REVERSE),
        migrations.RunSQL(ALLOCATION_LIMIT, ALLOCATION_LIMIT_REVERSE),
    ]
