"""Settings: ``base`` reads the environment, ``dev``/``test``/``production`` choose defaults and hardening."""
