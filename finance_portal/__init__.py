"""The supply-chain finance portal: Django project package and its cross-cutting apps.

Sub-apps: ``organizations`` (who acts, with which role and KYC status), ``ledger`` (the double-entry cash
ledger), ``portal`` (pages, demo data and the process runner of ``make run``).
"""

from finance_portal.celery import app as celery_app

__all__ = ("celery_app",)
