"""Notifications are append-only in SQL too: an UPDATE may change ``read_at`` only, and DELETE is refused."""

from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION notifications_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'notifications are append-only: they cannot be deleted';
    END IF;
    IF (NEW.id, NEW.organization_id, NEW.user_id, NEW.kind, NEW.bill_id, NEW.params, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.organization_id, OLD.user_id, OLD.kind, OLD.bill_id, OLD.params, OLD.created_at) THEN
        RAISE EXCEPTION 'notifications are append-only: only read_at may change';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER notifications_append_only
    BEFORE UPDATE OR DELETE ON notifications_notification
    FOR EACH ROW EXECUTE FUNCTION notifications_append_only();
"""

APPEND_ONLY_REVERSE = """
DROP TRIGGER IF EXISTS notifications_append_only ON notifications_notification;
DROP FUNCTION IF EXISTS notifications_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [migrations.RunSQL(APPEND_ONLY, APPEND_ONLY_REVERSE)]
