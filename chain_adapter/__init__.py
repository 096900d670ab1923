"""Everything that talks to the Ethereum chain. Only this package imports web3.

It knows nothing of bills: it anchors (key, prev, hash) records, manages transactions, verifies bundles,
and runs the local Anvil devnet for development and tests.
"""
