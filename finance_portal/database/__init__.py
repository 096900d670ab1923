"""The project's database backend: Django's PostgreSQL backend with prepared statements (see ``base``)."""
