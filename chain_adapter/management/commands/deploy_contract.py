"""``manage.py deploy_contract``: deploy BillAnchor on the chain at ETH_RPC_URL, or find the deployment
recorded for its chain id. ``make run`` and the test fixture call it; running it twice deploys once."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from chain_adapter.errors import ChainError
from chain_adapter.services import contract_deploy


class Command(BaseCommand):
    help = "Deploy the BillAnchor contract, or find the existing deployment for this chain id."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--new", action="store_true",
            help="Deploy a new contract even if one is recorded for this chain id (heads start empty).",
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            result = contract_deploy(force_new=bool(options["new"]))
        except ChainError as err:
            raise CommandError(str(err)) from err
        d = result.deployment
        if result.created:
            self.stdout.write(f"[chain] deployed BillAnchor at {d.address} on chain {d.chain_id} "
                              f"(block {d.block_number}, deployer {d.deployer})")
            if result.requeued_records:
                self.stdout.write(f"[chain] the devnet was reset: {result.requeued_records} records queued again")
        else:
            self.stdout.write(f"[chain] BillAnchor already deployed at {d.address} on chain {d.chain_id} "
                              f"(block {d.block_number})")
