"""The database backend prepares a statement once a connection has run it often enough
(``finance_portal/database/base.py``), against the real PostgreSQL: the answers are the same, PostgreSQL
lists the statement as prepared, Django's query log still shows the statement as written, and a statement
that cannot be prepared, a rolled-back transaction, a full cache and a new connection all behave."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from finance_portal.database.base import dollar_sql

pytestmark = pytest.mark.django_db(transaction=True)


def test_placeholders_become_numbered_parameters():
    assert dollar_sql('SELECT "a" FROM "t" WHERE "b" = %s AND "c" IN (%s, %s)', 3) == (
        'SELECT "a" FROM "t" WHERE "b" = $1 AND "c" IN ($2, $3)')
    assert dollar_sql("SELECT 1 WHERE 'x' LIKE '50%%' AND y = %s", 1) == "SELECT 1 WHERE 'x' LIKE '50%' AND y = $1"
    assert dollar_sql("SELECT %(name)s", 1) is None  # named placeholders: left to psycopg2
    assert dollar_sql("SELECT $1 WHERE y = %s", 1) is None  # a dollar of its own (a dollar-quoted body)
    assert dollar_sql("SELECT %s, %s", 1) is None  # not the parameters it was given


@pytest.fixture
def fresh(settings):
    """A new connection with the threshold and cache size the test sets."""

    def connect(threshold: int, most: int = 100):
        connection.close()
        settings.DATABASE_PREPARE_THRESHOLD, settings.DATABASE_PREPARED_MAX = threshold, most
        connection.ensure_connection()
        return connection.prepared_statements

    yield connect
    connection.close()  # the next test's connection takes the suite's settings


def prepared() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'fp%%'")
        return dict(cursor.fetchall())


def test_a_statement_run_often_is_prepared_and_answers_the_same(fresh):
    state = fresh(3)
    users = get_user_model().objects
    for name in ("ann", "bob", "cy", "dee"):
        users.create_user(name)
    answers = [list(users.filter(username__in=["ann", "cy"]).order_by("username").values_list("username", flat=True))
               for _ in range(5)]
    assert answers == [["ann", "cy"]] * 5
    statements = prepared()
    assert any("auth_user" in sql and "$1" in sql and "$2" in sql for sql in statements.values())
    with CaptureQueriesContext(connection) as captured:
        assert users.filter(username="bob").count() == 1
        assert users.filter(username="bob").count() == 1
        assert users.filter(username="bob").count() == 1  # the third run: prepared now, run as EXECUTE
    assert all(q["sql"].startswith('SELECT COUNT(*) AS "__count" FROM "auth_user"') for q in captured.captured_queries)
    assert "'bob'" in captured.captured_queries[-1]["sql"]  # the values, as Django logs them
    assert len(captured.captured_queries) == 3  # the PREPARE itself is not one of the request's queries
    assert set(state.names.values()) <= set(prepared())


def test_writes_report_their_row_counts_when_prepared(fresh):
    fresh(1)
    users = get_user_model().objects
    users.create_user("ann")
    users.create_user("bob")
    for _ in range(3):
        assert users.filter(username__in=["ann", "bob"]).update(first_name="x") == 2
        assert users.filter(username="nobody").update(first_name="y") == 0
    assert users.filter(username="ann").delete()[0] == 1
    assert list(users.values_list("username", flat=True)) == ["bob"]


def test_a_statement_postgresql_cannot_prepare_runs_as_written_even_in_a_transaction(fresh):
    state = fresh(1)
    with transaction.atomic():
        with connection.cursor() as cursor:
            for _ in range(3):
                cursor.execute("SELECT %s IS NULL", [None])  # PREPARE … AS SELECT $1 IS NULL: $1 of no type
                assert cursor.fetchone() == (True,)
        assert get_user_model().objects.count() == 0  # the transaction is still usable
    assert "SELECT %s IS NULL" in state.refused and "SELECT %s IS NULL" not in state.names


def test_a_prepared_statement_outlives_a_rolled_back_transaction(fresh):
    state = fresh(1)
    users = get_user_model().objects
    with pytest.raises(RuntimeError), transaction.atomic():
        assert not users.filter(username="ghost").exists()
        raise RuntimeError("roll back")
    assert state.names
    users.create_user("ghost")
    assert users.filter(username="ghost").exists()


def test_the_least_recently_used_statement_is_deallocated(fresh):
    state = fresh(1, most=2)
    users = get_user_model().objects
    users.filter(username="a").exists()
    users.filter(email="b").exists()
    users.filter(first_name="c").exists()
    assert len(prepared()) == 2 and len(state.names) == 2
    assert not any('"first_name"' not in sql and '"email"' not in sql for sql in prepared().values())


def test_a_new_connection_starts_with_nothing_prepared(fresh):
    fresh(1)
    get_user_model().objects.filter(username="a").exists()
    assert prepared()
    state = fresh(1)
    assert prepared() == {} and not state.names


def test_threshold_zero_prepares_nothing(fresh):
    assert fresh(0) is None
    for _ in range(10):
        get_user_model().objects.filter(username="a").exists()
    assert prepared() == {}


def test_a_statement_with_many_parameters_is_never_prepared(fresh):
    from finance_portal.database.base import MOST_PARAMETERS

    state = fresh(1)
    users = get_user_model().objects
    many = [f"user-{i}" for i in range(MOST_PARAMETERS + 1)]
    for _ in range(3):
        assert list(users.filter(username__in=many).values_list("pk")) == []
        assert list(users.filter(username__in=many[:MOST_PARAMETERS]).values_list("pk")) == []
    assert len(state.names) == 1 and all(sql.count("$") == MOST_PARAMETERS for sql in prepared().values())
