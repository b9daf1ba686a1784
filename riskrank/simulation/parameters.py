"""Per-benefit assumptions of the world: case length, amounts, error prevalence and mechanisms.

The published tables give volumes and control outcomes, not these; they are set from the benefits'
rules and facts.md and documented in docs/simulation.md.
"""

from __future__ import annotations

from dataclasses import dataclass

# Error/fraud mechanisms (truth.pattern). Each leaves its own partial traces in `signals`.
ABROAD = "abroad"                      # living abroad without notice: mail returned, activity abroad, income stops, permit expiry
COHABITATION = "cohabitation"          # sham separation: household changes, address shared with another household
WORKING = "working"                    # working while on the benefit: employer income in benefit months
INCOME_MISREPORT = "income_misreport"  # bostadsbidrag on too low an income: application_income < employer income
ASSISTANCE_HOURS = "assistance_hours"  # hours not performed: provider networks, reported providers, inflated hours
ACCOUNT_NETWORK = "account_network"    # organised: one bank account registered for many unrelated persons
STUDY_BREAK = "study_break"            # flerbarnstillägg after a 16+ child left school
CARE_CHANGE = "care_change"            # omvårdnadsbidrag: care need fell or other support received
DRIFT_UBM = "ubm_overwork"             # drift: working too much on sjukpenning, reported by UBM from 2024
PATTERNS = (ABROAD, COHABITATION, WORKING, INCOME_MISREPORT, ASSISTANCE_HOURS, ACCOUNT_NETWORK, STUDY_BREAK,
            CARE_CHANGE, DRIFT_UBM)

PARENT, SINGLE_PARENT, ADULT, YOUNG = "parent", "single_parent", "adult", "young"


@dataclass(frozen=True)
class BenefitParams:
    mean_days: float            # mean case length (exponential), days
    monthly_sek: float          # median monthly amount, SEK
    amount_sigma: float         # lognormal spread of the monthly amount
    prevalence: float           # mean probability that a case goes wrong while it runs
    pools: tuple[tuple[str, float], ...]   # who receives it: (person pool, share)
    patterns: dict[str, tuple[tuple[str, float], ...]]   # cause -> ((pattern, weight), ...)
    detection: float = 0.9      # probability an investigation finds an error that is there
    income_relevant: bool = False   # employer income declarations are followed for its recipients
    monthly_days: bool = False      # benefit_days are reported monthly


_A = ((ABROAD, 1.0),)
BENEFIT_PARAMS: dict[str, BenefitParams] = {
    "barnbidrag": BenefitParams(
        3650, 1750, 0.35, 0.04, ((PARENT, 1.0),),
        {"fth": _A, "application": ((ACCOUNT_NETWORK, 0.5), (ABROAD, 0.5)),
         "unreported_change": ((ABROAD, 0.65), (STUDY_BREAK, 0.35))}),
    "bostadsbidrag": BenefitParams(
        900, 2000, 0.4, 0.12, ((SINGLE_PARENT, 0.65), (YOUNG, 0.35)),
        {"fth": _A, "application": ((INCOME_MISREPORT, 0.7), (ACCOUNT_NETWORK, 0.3)),
         "unreported_change": ((INCOME_MISREPORT, 0.5), (COHABITATION, 0.35), (ABROAD, 0.15))},
        income_relevant=True),
    "foraldrapenning": BenefitParams(
        400, 15000, 0.4, 0.05, ((PARENT, 1.0),),
        {"fth": _A, "application": ((WORKING, 0.7), (ACCOUNT_NETWORK, 0.3)),
         "unreported_change": ((WORKING, 0.8), (ABROAD, 0.2))},
        income_relevant=True, monthly_days=True),
    "tillfallig_foraldrapenning": BenefitParams(
        730, 3000, 0.5, 0.05, ((PARENT, 1.0),),
        {"fth": _A, "application": ((WORKING, 0.8), (ACCOUNT_NETWORK, 0.2)), "unreported_change": ((WORKING, 1.0),)},
        income_relevant=True, monthly_days=True),
    "sjukpenning": BenefitParams(
        150, 18000, 0.35, 0.05, ((ADULT, 0.75), (PARENT, 0.25)),
        {"fth": _A, "application": ((WORKING, 1.0),), "unreported_change": ((WORKING, 0.8), (ABROAD, 0.2))},
        detection=0.85, income_relevant=True, monthly_days=True),
    "sjukersattning": BenefitParams(
        3650, 12500, 0.3, 0.04, ((ADULT, 1.0),),
        {"fth": _A, "application": ((WORKING, 1.0),), "unreported_change": ((WORKING, 0.55), (ABROAD, 0.45))},
        detection=0.85, income_relevant=True),
    "aktivitetsersattning": BenefitParams(
        1095, 10500, 0.3, 0.05, ((YOUNG, 1.0),),
        {"fth": _A, "application": ((WORKING, 1.0),), "unreported_change": ((WORKING, 0.6), (ABROAD, 0.4))},
        detection=0.85, income_relevant=True),
    "aktivitetsstod": BenefitParams(
        300, 7000, 0.4, 0.08, ((ADULT, 0.6), (YOUNG, 0.4)),
        {"fth": _A, "application": ((ACCOUNT_NETWORK, 0.5), (WORKING, 0.5)),
         "unreported_change": ((WORKING, 0.6), (ABROAD, 0.4))},
        income_relevant=True),
    "assistansersattning": BenefitParams(
        3650, 180000, 0.5, 0.10, ((ADULT, 1.0),),
        {"fth": _A, "application": ((ASSISTANCE_HOURS, 1.0),), "unreported_change": ((ASSISTANCE_HOURS, 1.0),)},
        detection=0.8),
    "omvardnadsbidrag": BenefitParams(
        1460, 4300, 0.4, 0.05, ((PARENT, 1.0),),
        {"fth": _A, "application": ((CARE_CHANGE, 1.0),), "unreported_change": ((CARE_CHANGE, 0.7), (ABROAD, 0.3))}),
    "underhallsstod": BenefitParams(
        1825, 1700, 0.3, 0.08, ((SINGLE_PARENT, 1.0),),
        {"fth": _A, "application": ((COHABITATION, 1.0),), "unreported_change": ((COHABITATION, 0.7), (ABROAD, 0.3))}),
}

# Probability that an error is intentional, by cause; organised patterns are almost always intentional.
INTENTIONAL_BY_CAUSE = {"application": 0.55, "unreported_change": 0.35, "fth": 0.3}
INTENTIONAL_PATTERNS = {ACCOUNT_NETWORK: 0.95, ASSISTANCE_HOURS: 0.8, DRIFT_UBM: 0.6}
# Share of the monthly amount paid wrongly, by pattern (rescaled per benefit to Tabell 76, see investigations).
ERROR_FRACTION = {ABROAD: 1.0, COHABITATION: 0.8, WORKING: 0.5, INCOME_MISREPORT: 0.4, ASSISTANCE_HOURS: 0.35,
                  ACCOUNT_NETWORK: 1.0, STUDY_BREAK: 0.3, CARE_CHANGE: 0.6, DRIFT_UBM: 0.4}
# Innocent look-alikes: cases that get a pattern's traces (weaker) without any error, relative to prevalence.
LOOKALIKE_RATIO = 1.5
# Drift: share of sjukpenning cases running after drift_start that start working too much.
DRIFT_RATE = 0.10
DRIFT_BENEFITS = ("sjukpenning",)
# Mean investigation length, days (opened -> closed).
INVESTIGATION_DAYS = 75.0
