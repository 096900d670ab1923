from django.apps import AppConfig


class SmeCreditConfig(AppConfig):
    name = "sme_credit"
