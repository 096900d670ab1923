"""The ``lapse`` event: an issued bill never signed for lapses at maturity (bills/README.md)."""

from django.db import migrations, models

EVENT_TYPES = ["create", "issue", "submit", "accept", "reject", "cancel", "transfer", "receive", "refuse", "split",
               "split_from", "list", "unlist", "buy", "settle", "overdue", "default", "freeze", "unfreeze", "lapse"]


class Migration(migrations.Migration):
    dependencies = [("bills", "0004_event_salts_verification_tokens")]

    operations = [
        migrations.RemoveConstraint(model_name="billevent", name="event_type_valid"),
        migrations.AlterField(
            model_name="billevent",
            name="type",
            field=models.CharField(
                choices=[("create", "Created"), ("issue", "Issued by the debtor"), ("submit", "Submitted"),
                         ("accept", "Accepted"), ("reject", "Rejected"), ("cancel", "Cancelled"),
                         ("transfer", "Transfer offered"), ("receive", "Transfer received"),
                         ("refuse", "Transfer refused"), ("split", "Split"), ("split_from", "Created by a split"),
                         ("list", "Listed"), ("unlist", "Unlisted"), ("buy", "Bought"), ("settle", "Settled"),
                         ("overdue", "Marked overdue"), ("default", "Marked defaulted"), ("freeze", "Frozen"),
                         ("unfreeze", "Unfrozen"), ("lapse", "Lapsed unsigned at maturity")],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="billevent",
            constraint=models.CheckConstraint(condition=models.Q(type__in=EVENT_TYPES), name="event_type_valid"),
        ),
    ]
