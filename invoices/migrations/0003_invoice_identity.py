"""Invoice identity in the database: a 数电票's 20-digit number once, whatever the code; codes of 10 or 12 digits.

Rows written before the rule may break it (the service used to accept any code with any 8-20 digit number).
The migration names them and stops instead of failing on an anonymous constraint error; an operator settles
them (keep one registration, correct or remove the other) and runs it again.
"""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.db.models import Count, Q


def refuse_existing_conflicts(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Invoice = apps.get_model("invoices", "Invoice")
    digital = Q(invoice_number__regex=r"^[0-9]{20}$")
    twice = (
        Invoice.objects.filter(digital).values("invoice_number").annotate(n=Count("id")).filter(n__gt=1)
    )
    bad_codes = Invoice.objects.exclude(Q(invoice_code="") | Q(invoice_code__regex=r"^([0-9]{10}|[0-9]{12})$"))
    problems = [f"20-digit number {row['invoice_number']} registered {row['n']} times" for row in twice[:20]]
    problems += [f"invoice {row.pk} has the code {row.invoice_code!r}" for row in bad_codes[:20]]
    if problems:
        raise RuntimeError(
            "invoices 0003: rows break the invoice identity rule (invoices/README.md); settle them and migrate "
            "again: " + "; ".join(problems)
        )


class Migration(migrations.Migration):

    dependencies = [
        ("invoices", "0002_verification_and_events"),
    ]

    operations = [
        migrations.RunPython(refuse_existing_conflicts, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.UniqueConstraint(
                condition=models.Q(("invoice_number__regex", "^[0-9]{20}$")),
                fields=("invoice_number",),
                name="invoice_digital_number_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(("invoice_code", ""), ("invoice_code__regex", "^([0-9]{10}|[0-9]{12})$"),
                                   _connector="OR"),
                name="invoice_code_format",
            ),
        ),
    ]
