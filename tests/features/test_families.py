"""Each feature family on a tiny hand-built world where the right value is known."""

import math

import numpy as np
import pandas as pd
import pytest

from riskrank.features.pipeline import compute_features
from riskrank.features.registry import FEATURE_NAMES, FEATURES
from tests.features.builders import WorldBuilder, keys

AS_OF = "2023-06-30"


def row(world, case_id, as_of=AS_OF) -> dict:
    frame = compute_features(world, keys((case_id, as_of)))
    return frame.iloc[0].to_dict()


def test_output_columns_and_dtypes_follow_the_registry():
    w = WorldBuilder().person(1).case(10, 1, "barnbidrag", "2022-01-01").build()
    frame = compute_features(w, keys((10, AS_OF), (10, "2022-06-01")))
    assert list(frame.columns) == ["case_id", "as_of", *FEATURE_NAMES]
    expected = {"float": "float64", "int": "int64", "bool": "bool"}
    for f in FEATURES:
        if f.dtype == "category":
            assert isinstance(frame[f.name].dtype, pd.CategoricalDtype), f.name
        else:
            assert str(frame[f.name].dtype) == expected[f.dtype], f.name
    assert frame["case_id"].tolist() == [10, 10]
    assert frame["as_of"].dt.strftime("%Y-%m-%d").tolist() == [AS_OF, "2022-06-01"]


def test_case_family_amount_against_peers_time_on_benefit_and_other_benefits():
    b = WorldBuilder().person(1, sex="M", birth_year=1990, born_abroad=True).person(2).person(3)
    b.case(10, 1, "bostadsbidrag", "2023-01-01", amount=3000)
    b.case(20, 2, "bostadsbidrag", "2022-01-01", amount=1000)
    b.case(30, 3, "bostadsbidrag", "2022-01-01", amount=2000)
    b.case(40, 3, "bostadsbidrag", "2023-06-15", amount=99999)  # starts after the month start: not a peer
    b.case(11, 1, "barnbidrag", "2021-01-01")  # active: another benefit
    b.case(12, 1, "sjukpenning", "2021-01-01", end="2022-03-01")  # ended: an earlier case
    b.case(13, 1, "sjukpenning", "2023-07-01")  # starts after as-of: invisible
    r = row(b.build(), 10)
    assert r["benefit"] == "bostadsbidrag" and r["sex"] == "M" and r["age_band"] == "30-44" and r["born_abroad"]
    assert r["monthly_amount_sek"] == 3000
    assert r["amount_to_benefit_median"] == pytest.approx(3000 / 2000)
    assert r["amount_zscore_in_benefit"] == pytest.approx((3000 - 2000) / 1000)  # sample std of 1000, 2000, 3000
    assert r["days_on_benefit"] == 180
    assert r["other_active_benefits"] == 1
    assert r["earlier_cases"] == 1


def test_income_family_declared_against_application_and_taxed_income():
    b = WorldBuilder().person(1).case(10, 1, "bostadsbidrag", "2022-01-01")
    b.signal(1, "2022-12-31", "application_income", 120000, case_id=10)
    b.signal(1, "2023-02-01", "application_income", 100000, case_id=10)  # latest stated
    b.signal(1, "2023-03-15", "taxed_income", 180000)
    for month_end, amount in [("2022-06-30", 50000), ("2022-07-31", 10000), ("2023-04-30", 20000), ("2023-05-31", 0),
                              ("2023-06-30", 15000), ("2023-07-31", 80000)]:
        b.signal(1, month_end, "income_declaration", amount)
    r = row(b.build(), 10)
    assert r["application_income_sek"] == 100000
    assert r["taxed_income_sek"] == 180000
    assert r["taxed_to_application_income"] == pytest.approx(1.8)
    assert r["declared_income_12m_sek"] == 10000 + 20000 + 15000  # 2022-06-30 is outside the 12 months, July 2023 after
    assert r["declared_income_3m_sek"] == 20000 + 15000
    assert r["declared_to_application_income"] == pytest.approx(45000 / 100000)
    assert r["months_with_declared_income_12m"] == 3
    assert r["latest_declared_income_sek"] == 15000
    assert r["months_since_declared_income"] == 0


def test_work_income_in_benefit_months():
    b = WorldBuilder().person(1).case(10, 1, "tillfallig_foraldrapenning", "2022-01-01")
    b.case(11, 1, "sjukpenning", "2023-01-01")
    b.signal(1, "2023-02-28", "benefit_days", 3, case_id=10)
    b.signal(1, "2023-03-31", "benefit_days", 2, case_id=10)
    b.signal(1, "2023-04-30", "benefit_days", 20, case_id=11)
    b.signal(1, "2023-05-31", "benefit_days", 0, case_id=10)  # no days paid: not a benefit month
    b.signal(1, "2023-02-28", "income_declaration", 30000)
    b.signal(1, "2023-03-31", "income_declaration", 0)  # no income that month
    b.signal(1, "2023-04-30", "income_declaration", 25000)
    b.signal(1, "2023-05-31", "income_declaration", 28000)
    b.signal(1, "2023-06-30", "assistance_hours", 100, case_id=10)
    b.signal(1, "2023-05-31", "assistance_hours", 50, case_id=10)
    r = row(b.build(), 10)
    assert r["income_in_tfp_months_12m_sek"] == 30000
    assert r["income_in_sjukpenning_months_12m_sek"] == 25000
    assert r["income_in_fp_months_12m_sek"] == 0
    assert r["case_months_with_benefit_and_income_12m"] == 1
    assert r["benefit_days_12m"] == 5
    assert r["assistance_hours_monthly_mean_12m"] == pytest.approx(75)
    assert row(b.build(), 11)["case_months_with_benefit_and_income_12m"] == 1


def test_residence_family_moves_abroad_and_permits():
    b = WorldBuilder().person(1).case(10, 1, "barnbidrag", "2021-01-01")
    b.signal(1, "2021-05-01", "address_change", 1)
    b.signal(1, "2022-09-01", "address_change", 2)
    b.signal(1, "2023-06-20", "address_change", 3)
    b.signal(1, "2023-01-10", "household_change", 2)
    b.signal(1, "2023-06-20", "household_change", 4)
    b.signal(1, "2022-12-31", "income_declaration", 20000)  # last income six months before as-of
    b.signal(1, "2023-03-01", "mail_returned").signal(1, "2022-03-01", "mail_returned")
    b.signal(1, "2023-05-01", "foreign_activity").signal(1, "2021-05-01", "foreign_activity")
    b.signal(1, "2023-06-01", "emigration")
    b.signal(1, "2022-01-31", "permit_expiry").signal(1, "2022-02-15", "permit_renewed")
    b.signal(1, "2023-06-10", "permit_expiry")
    b.signal(1, "2023-01-15", "study_break").signal(1, "2023-02-15", "reported_change")
    r = row(b.build(), 10)
    assert r["address_changes_12m"] == 2 and r["address_changes_total"] == 3
    assert r["days_since_address_change"] == 10
    assert r["household_changes_12m"] == 2 and r["adults_at_address"] == 4
    assert r["months_since_declared_income"] == pytest.approx(181 / 30.4375)
    assert r["mail_returned_12m"] == 1
    assert r["foreign_activity_12m"] == 1 and r["foreign_activity_total"] == 2
    assert r["emigration_registered"]
    assert r["permit_expired_unrenewed"] and r["days_since_permit_expiry"] == 20
    assert r["study_breaks_12m"] == 1 and r["reported_changes_12m"] == 1


def test_permit_renewed_after_expiry_is_not_flagged():
    b = WorldBuilder().person(1).case(10, 1, "barnbidrag", "2021-01-01")
    b.signal(1, "2023-01-31", "permit_expiry").signal(1, "2023-01-31", "permit_renewed")
    r = row(b.build(), 10)
    assert not r["permit_expired_unrenewed"] and math.isnan(r["days_since_permit_expiry"])
    assert not r["emigration_registered"] and math.isnan(r["months_since_declared_income"])


def test_notification_family_counts_by_source_and_age_of_latest():
    b = WorldBuilder().person(1).case(10, 1, "barnbidrag", "2021-01-01")
    b.signal(1, "2021-06-01", "notification", source="municipality")
    b.signal(1, "2023-01-01", "notification", source="municipality")
    b.signal(1, "2023-06-29", "notification", source="ubm")
    b.signal(1, "2023-07-01", "notification", source="public")  # after as-of
    r = row(b.build(), 10)
    assert r["notifications_municipality"] == 2 and r["notifications_ubm"] == 1 and r["notifications_public"] == 0
    assert r["notifications_12m"] == 2
    assert r["days_since_notification"] == 1


def test_notifications_about_this_case_leave_out_the_persons_other_cases():
    b = WorldBuilder().person(1).case(10, 1, "foraldrapenning", "2021-01-01").case(11, 1, "barnbidrag", "2021-01-01")
    b.signal(1, "2022-01-01", "notification", case_id=10, source="public")  # this case, over 12 months ago
    b.signal(1, "2023-03-01", "notification", case_id=10, source="agency")
    b.signal(1, "2023-06-20", "notification", case_id=11, source="public")  # the person's other case
    b.signal(1, "2023-06-25", "notification", source="handler")  # about the person, no case named
    b.signal(1, "2023-07-01", "notification", case_id=10, source="public")  # after as-of
    this, other = row(b.build(), 10), row(b.build(), 11)
    assert this["notifications_12m"] == other["notifications_12m"] == 3  # the person's count holds all three
    assert this["notifications_this_case_12m"] == 1
    assert this["days_since_notification_this_case"] == (pd.Timestamp(AS_OF) - pd.Timestamp("2023-03-01")).days
    assert other["notifications_this_case_12m"] == 1 and other["days_since_notification_this_case"] == 10
    lone = row(WorldBuilder().person(2).case(20, 2, "barnbidrag", "2021-01-01").build(), 20)
    assert lone["notifications_this_case_12m"] == 0 and math.isnan(lone["days_since_notification_this_case"])


def test_investigation_family_known_outcomes_and_open_ones():
    b = WorldBuilder().person(1).case(10, 1, "bostadsbidrag", "2021-01-01").case(11, 1, "barnbidrag", "2021-01-01")
    b.investigation(1, 10, "2022-01-01", "2022-03-01", action=True, detected=5000, police=True)
    b.investigation(2, 11, "2022-05-01", "2022-06-01", action=False, detected=0)
    b.investigation(3, 11, "2023-05-01", "2023-07-15", action=True, detected=9000)  # open on as-of: outcome unknown
    b.investigation(4, 10, "2023-06-30", "2023-06-30", action=True, detected=100)  # opened on as-of: the row itself
    r = row(b.build(), 10)
    assert r["earlier_investigations_closed"] == 2
    assert r["earlier_investigations_with_action"] == 1
    assert r["earlier_investigations_this_case"] == 1
    assert r["earlier_police_reports"] == 1
    assert r["earlier_detected_sek"] == 5000
    assert r["open_investigations"] == 1
    assert r["days_since_investigation_closed"] == (pd.Timestamp(AS_OF) - pd.Timestamp("2022-06-01")).days


def test_network_family_counts_other_households_and_their_actions():
    b = WorldBuilder()
    b.person(1, household_id=100).person(2, household_id=100)  # same household: not counted
    b.person(3, household_id=300).person(4, household_id=400).person(5, household_id=500).person(6, household_id=600)
    for pid in range(1, 7):
        b.case(pid * 10, pid, "assistansersattning" if pid in (1, 5, 6) else "bostadsbidrag", "2021-01-01")
    for pid in (1, 2, 3, 4, 5):
        b.signal(pid, "2022-01-01", "address_change", 777)
    b.signal(4, "2023-03-01", "address_change", 888)  # moved away before as-of
    b.signal(5, "2023-07-01", "address_change", 888)  # moves away after as-of: still there
    b.investigation(1, 30, "2022-06-01", "2022-09-01", action=True, detected=1)  # person 3: acted
    b.investigation(2, 50, "2023-05-01", "2023-08-01", action=True, detected=1)  # person 5: closed after as-of
    b.signal(1, "2022-02-01", "bank_account_registered", 42, case_id=10)
    b.signal(3, "2022-02-01", "bank_account_registered", 42, case_id=30)
    b.signal(4, "2022-02-01", "bank_account_registered", 42, case_id=40)
    b.signal(4, "2023-01-01", "bank_account_registered", 43, case_id=40)  # changed account
    for pid in (1, 5, 6):
        b.signal(pid, "2022-01-01", "provider_registered", 9, case_id=pid * 10)
    b.investigation(3, 60, "2022-01-01", "2023-01-01", action=True, detected=1)  # person 6: acted
    b.signal(6, "2023-02-01", "provider_report", 9)
    r = row(b.build(), 10)
    assert r["persons_sharing_address"] == 2  # persons 3 and 5
    assert r["persons_sharing_address_with_action"] == 1  # person 3
    assert r["persons_sharing_bank_account"] == 1 and r["persons_sharing_bank_account_with_action"] == 1
    assert r["persons_sharing_provider"] == 2 and r["persons_sharing_provider_with_action"] == 1
    assert r["provider_reported_to_ivo"]
    before = row(b.build(), 10, as_of="2023-01-15")
    assert before["persons_sharing_address"] == 3 and not before["provider_reported_to_ivo"]
    lonely = row(b.build(), 20)  # person 2 shares the address only with others than person 1's household
    assert lonely["persons_sharing_address"] == 2 and lonely["persons_sharing_bank_account"] == 0


def test_keys_may_have_a_different_as_of_per_row_in_any_order():
    b = WorldBuilder().person(1).case(10, 1, "barnbidrag", "2021-01-01")
    for day in ("2022-01-10", "2022-06-10", "2023-01-10"):
        b.signal(1, day, "address_change", 5)
    w = b.build()
    frame = compute_features(w, keys((10, "2023-06-30"), (10, "2022-01-01"), (10, "2022-07-01"), (10, "2023-06-30")))
    assert frame["address_changes_total"].tolist() == [3, 0, 2, 3]
    np.testing.assert_array_equal(frame["days_on_benefit"], [910, 365, 546, 910])


def test_several_declarations_in_one_month_are_added_up():
    b = WorldBuilder().person(1).case(10, 1, "sjukpenning", "2022-01-01")
    b.signal(1, "2023-04-30", "benefit_days", 5, case_id=10)
    b.signal(1, "2023-04-30", "income_declaration", 1000).signal(1, "2023-04-30", "income_declaration", 2500)
    b.signal(1, "2023-05-31", "income_declaration", 700)
    r = row(b.build(), 10)
    assert r["income_in_sjukpenning_months_12m_sek"] == 3500
    assert r["declared_income_12m_sek"] == 4200 and r["months_with_declared_income_12m"] == 2
