from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmeCreditConfig(AppConfig):
    name = "sme_credit"
    verbose_name = _("SME credit")
