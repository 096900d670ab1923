# Stuck transactions, versions of a nonce (fee bumps, replacements), deployments stored before broadcast.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chain_adapter', '0002_transactions_and_deployments'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='anchortransaction',
            name='anchor_tx_one_per_nonce',
        ),
        migrations.RemoveConstraint(
            model_name='anchortransaction',
            name='anchor_tx_status_valid',
        ),
        migrations.RemoveConstraint(
            model_name='anchortransaction',
            name='anchor_tx_has_records',
        ),
        migrations.RemoveConstraint(
            model_name='contractdeployment',
            name='deployment_once_per_chain_address',
        ),
        migrations.AddField(
            model_name='anchorauditlog',
            name='anchor_tx',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='audit_log', to='chain_adapter.anchortransaction'),
        ),
        migrations.AddField(
            model_name='anchorauditlog',
            name='new_tx_hash',
            field=models.CharField(blank=True, max_length=66),
        ),
        migrations.AddField(
            model_name='anchorauditlog',
            name='old_tx_hash',
            field=models.CharField(blank=True, max_length=66),
        ),
        migrations.AddField(
            model_name='anchorauditlog',
            name='reason',
            field=models.TextField(blank=True, help_text='Why the operator did it, in their words.'),
        ),
        migrations.AddField(
            model_name='anchortransaction',
            name='kind',
            field=models.CharField(choices=[('anchor', 'anchor(...) batch'), ('noop', 'No-op: a 0-value self-transfer that spends the nonce')], default='anchor', max_length=8),
        ),
        migrations.AddField(
            model_name='anchortransaction',
            name='replaces',
            field=models.ForeignKey(blank=True, help_text='The earlier version of the same nonce that this one replaces (fee bump or operator).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='replaced_by', to='chain_adapter.anchortransaction'),
        ),
        migrations.AddField(
            model_name='contractdeployment',
            name='nonce',
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='contractdeployment',
            name='raw_tx',
            field=models.TextField(blank=True, help_text='The signed creation transaction, 0x-hex.'),
        ),
        migrations.AddField(
            model_name='contractdeployment',
            name='status',
            field=models.CharField(choices=[('signed', 'Signed, not broadcast yet'), ('sent', 'Broadcast, waiting to be mined'), ('mined', 'Mined, waiting for confirmations'), ('confirmed', 'Confirmed'), ('reverted', 'Reverted'), ('dropped', 'Nonce taken by another transaction'), ('stuck', 'Refused by the node: an operator must replace it'), ('replaced', 'Replaced by another version of its nonce')], default='confirmed', max_length=16),
        ),
        migrations.AlterField(
            model_name='anchorauditlog',
            name='record',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='audit_log', to='chain_adapter.anchorrecord'),
        ),
        migrations.AlterField(
            model_name='anchortransaction',
            name='status',
            field=models.CharField(choices=[('signed', 'Signed, not broadcast yet'), ('sent', 'Broadcast, waiting to be mined'), ('mined', 'Mined, waiting for confirmations'), ('confirmed', 'Confirmed'), ('reverted', 'Reverted'), ('dropped', 'Nonce taken by another transaction'), ('stuck', 'Refused by the node: an operator must replace it'), ('replaced', 'Replaced by another version of its nonce')], default='signed', max_length=16),
        ),
        migrations.AlterField(
            model_name='anchortransaction',
            name='tx_hash',
            field=models.CharField(db_index=True, max_length=66),
        ),
        migrations.AlterField(
            model_name='contractdeployment',
            name='block_number',
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name='anchorauditlog',
            constraint=models.CheckConstraint(condition=models.Q(('record__isnull', False), ('anchor_tx__isnull', False), _connector='OR'), name='anchor_audit_names_a_row'),
        ),
        migrations.AddConstraint(
            model_name='anchortransaction',
            constraint=models.UniqueConstraint(fields=('deployment', 'tx_hash'), name='anchor_tx_hash_once_per_deployment'),
        ),
        migrations.AddConstraint(
            model_name='anchortransaction',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'replaced'), _negated=True), fields=('deployment', 'sender', 'nonce'), name='anchor_tx_one_per_nonce'),
        ),
        migrations.AddConstraint(
            model_name='anchortransaction',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['signed', 'sent', 'mined', 'confirmed', 'reverted', 'dropped', 'stuck', 'replaced'])), name='anchor_tx_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='anchortransaction',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'anchor'), ('record_count__gt', 0)), models.Q(('kind', 'noop'), ('record_count', 0)), _connector='OR'), name='anchor_tx_has_records'),
        ),
        migrations.AddConstraint(
            model_name='contractdeployment',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'confirmed')), fields=('chain_id', 'address'), name='deployment_once_per_chain_address'),
        ),
        migrations.AddConstraint(
            model_name='contractdeployment',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['signed', 'sent', 'confirmed', 'reverted', 'dropped'])), name='deployment_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='contractdeployment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'confirmed'), _negated=True), ('block_number__isnull', False), _connector='OR'), name='deployment_confirmed_has_block'),
        ),
    ]
