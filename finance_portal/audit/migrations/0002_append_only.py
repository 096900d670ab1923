"""The audit log is append-only in PostgreSQL too: UPDATE and DELETE of ``audit_auditrecord`` raise.

TRUNCATE (test flushes) is left alone; ``session_replication_role = replica`` skips the trigger, as it does for
every trigger: that is a superuser's edit, outside any application.
"""

from django.db import migrations

APPEND_ONLY = """
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER audit_auditrecord_append_only
    BEFORE UPDATE OR DELETE ON audit_auditrecord
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
"""

APPEND_ONLY_REVERSE = """
DROP TRIGGER IF EXISTS audit_auditrecord_append_only ON audit_auditrecord;
DROP FUNCTION IF EXISTS audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunSQL(APPEND_ONLY, APPEND_ONLY_REVERSE)]
