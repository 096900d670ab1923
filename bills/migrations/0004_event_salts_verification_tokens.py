"""Bundle version 2 (docs/bundle-v2.md): the secret salts of each event's field commitments, and the revocable
verification tokens that open a bill's public verification page.

Existing events keep ``salts = {}``: they stay format 1. Adding the column writes no row, so the append-only
trigger on ``bills_billevent`` is not involved.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("bills", "0003_deferred_allocation_limit"),
        ("organizations", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="billevent",
            name="salts",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.CreateModel(
            name="VerificationToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("token", models.CharField(max_length=64, unique=True)),
                ("created_at", models.DateTimeField()),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                ("bill", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT,
                                           related_name="verification_tokens", to="bills.bill")),
                ("created_by", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                                 to="organizations.organization")),
                ("created_by_user", models.ForeignKey(blank=True, null=True,
                                                      on_delete=django.db.models.deletion.SET_NULL,
                                                      related_name="+", to=settings.AUTH_USER_MODEL)),
                ("revoked_by_user", models.ForeignKey(blank=True, null=True,
                                                      on_delete=django.db.models.deletion.SET_NULL,
                                                      related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["-created_at", "id"],
                "indexes": [models.Index(fields=["bill", "revoked_at"], name="verification_token_bill")],
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("token__regex", "^[A-Za-z0-9_-]{32,64}$")),
                                           name="verification_token_long"),
                ],
            },
        ),
    ]
