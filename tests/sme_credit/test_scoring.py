"""The score formula on worked examples, without a database (sme_credit/README.md has the first one)."""

from __future__ import annotations

from decimal import Decimal

from sme_credit.scoring import ScoreInputs, score_of


def inputs(**over: object) -> ScoreInputs:
    base: dict[str, object] = dict(settled_on_time=0, settled_late=0, days_late_total=0, days_late_max=0, overdue=0,
                                   defaulted=0, bills_count=0, bills_drawn=0, largest_debtor_share=Decimal("0"),
                                   age_days=0)
    base.update(over)
    return ScoreInputs(**base)  # type: ignore[arg-type]


def points(factors: list[dict[str, object]]) -> dict[str, object]:
    return {f["factor"]: f["points"] for f in factors}


def test_the_readme_worked_example_scores_573():
    score, factors = score_of(inputs(settled_on_time=5, settled_late=2, days_late_total=12, days_late_max=9,
                                     overdue=1, bills_count=10, bills_drawn=6,
                                     largest_debtor_share=Decimal("0.6"), age_days=200, invoices_disputed=1))
    assert score == 573
    assert points(factors) == {"base": 600, "on_time": 50, "late": -30, "days_late": -12, "overdue": -40,
                               "defaulted": 0, "track_record": 20, "concentration": -15, "age": 20,
                               "disputes": -20}
    reasons = {f["factor"]: f["reason"] for f in factors}
    assert reasons["late"] == "2 bills settled late: \u221230"
    assert reasons["days_late"] == "12 days late in total (worst 9 days): \u221212"
    assert reasons["concentration"] == "The largest debtor owes 60 % of the face drawn: \u221215"
    assert reasons["disputes"] == "1 invoice disputed by the buyer: \u221220"


def test_the_readme_shows_the_worked_example():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "sme_credit" / "README.md").read_text()
    assert "−20 1 invoice disputed by the buyer" in readme and "    573" in readme


def test_disputes_weigh_up_to_100():
    assert points(score_of(inputs(invoices_disputed=3))[1])["disputes"] == -60
    assert points(score_of(inputs(invoices_disputed=9))[1])["disputes"] == -100


def test_the_factors_always_add_up_to_the_score():
    for example in (inputs(), inputs(defaulted=5, overdue=9, settled_late=20, days_late_total=900),
                    inputs(settled_on_time=50, bills_count=80, age_days=5000)):
        score, factors = score_of(example)
        assert sum(f["points"] for f in factors) == score  # type: ignore[misc]


def test_a_newcomer_scores_the_base():
    score, factors = score_of(inputs())
    assert score == 600
    assert all(f["points"] == 0 for f in factors[1:])


def test_defaults_weigh_most_and_the_score_stays_on_the_scale():
    score, factors = score_of(inputs(defaulted=5, overdue=9, settled_late=20, days_late_total=900))
    assert score == 300
    assert points(factors)["defaulted"] == -300
    assert factors[-1]["factor"] == "bounds" and factors[-1]["points"] == 300 - (600 - 300 - 160 - 150 - 100)


def test_concentration_needs_three_bills_drawn():
    _, few = score_of(inputs(bills_drawn=2, largest_debtor_share=Decimal("1")))
    _, many = score_of(inputs(bills_drawn=3, largest_debtor_share=Decimal("0.8")))
    assert points(few)["concentration"] == 0
    assert points(many)["concentration"] == -30
