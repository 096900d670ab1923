from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChainAdapterConfig(AppConfig):
    name = "chain_adapter"
    verbose_name = _("Chain anchoring")
