from django.apps import AppConfig


class ChainAdapterConfig(AppConfig):
    name = "chain_adapter"
