from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "finance_portal.ledger"
    label = "ledger"
    verbose_name = "Cash ledger"
