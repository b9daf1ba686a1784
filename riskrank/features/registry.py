"""The feature registry: every feature's name, dtype, plain-language description (English and Swedish),
the signal sources it reads, whether a model may use it, and the known direction of risk.

The order of FEATURES is the column order of every feature frame. FEATURE_SET_VERSION changes whenever
a name or dtype changes, or when DEFINITIONS_VERSION is bumped because a definition changed meaning.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from riskrank.world import BENEFITS, IMPULSE_SOURCES

# Bump when a feature keeps its name and dtype but its definition changes.
DEFINITIONS_VERSION = 1

DTYPES = ("float", "int", "bool", "category")
SENSITIVE: tuple[str, ...] = ("sex", "age_band", "born_abroad")
AGE_BANDS: tuple[str, ...] = ("0-29", "30-44", "45-64", "65+")
# Fixed category lists, so that every engine and every partition gives the same codes.
CATEGORIES: dict[str, tuple[str, ...]] = {"benefit": BENEFITS, "sex": ("F", "M"), "age_band": AGE_BANDS}


# unit -> (English, Swedish) word shown after a value; "count" shows the bare number.
UNITS: dict[str, tuple[str, str]] = {
    "SEK": ("SEK", "kr"), "days": ("days", "dagar"), "months": ("months", "månader"), "hours": ("hours", "timmar"),
    "count": ("", ""), "sd": ("standard deviations", "standardavvikelser"),
}


@dataclass(frozen=True)
class Feature:
    name: str
    dtype: str
    description_en: str
    description_sv: str
    sources: tuple[str, ...]
    model_input: bool = True
    monotone: int = 0  # +1: more means more risk, -1: less risk, 0: unknown or not monotone
    unit: str | None = None  # one of UNITS for numbers; None for categories, booleans and plain ratios
    missing_en: str = "no value on record"  # what a missing value means, in words
    missing_sv: str = "uppgift saknas"

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"feature {self.name}: dtype {self.dtype!r} not in {DTYPES}")
        if self.monotone not in (-1, 0, 1):
            raise ValueError(f"feature {self.name}: monotone must be -1, 0 or 1")
        if self.unit is not None and self.unit not in UNITS:
            raise ValueError(f"feature {self.name}: unit {self.unit!r} not in {tuple(UNITS)}")
        if self.dtype == "category" and self.name not in CATEGORIES:
            raise ValueError(f"feature {self.name}: category feature without a fixed category list")


def _unit(name: str, dtype: str) -> str | None:
    """The unit a feature's name promises (…_sek, days_…, months_…, hours, zscore); whole-number features count."""
    if dtype in ("category", "bool"):
        return None
    if name.endswith("_sek"):
        return "SEK"
    if name.startswith("days_") or "_days_" in name:
        return "days"
    for prefix, unit in (("months_since", "months"), ("assistance_hours", "hours")):
        if name.startswith(prefix):
            return unit
    if "zscore" in name:
        return "sd"
    if dtype == "int" or name == "adults_at_address":
        return "count"
    return None  # ratios


# What a missing value (NaN: no event of that kind known) means, for the features that can be missing.
_MISSING: dict[str, tuple[str, str]] = {
    "application_income_sek": ("no income stated on the case", "ingen inkomst angiven i ärendet"),
    "taxed_income_sek": ("no taxed income on record", "ingen taxerad inkomst registrerad"),
    "latest_declared_income_sek": ("no employer declaration on record", "ingen arbetsgivardeklaration registrerad"),
    "months_since_declared_income": ("no employer declaration on record", "ingen arbetsgivardeklaration registrerad"),
    "taxed_to_application_income": ("cannot be computed: an income is missing", "kan inte beräknas: en inkomst saknas"),
    "declared_to_application_income": ("cannot be computed: an income is missing", "kan inte beräknas: en inkomst saknas"),
    "days_since_address_change": ("no move on record", "ingen flytt registrerad"),
    "adults_at_address": ("no address change on record", "ingen adressändring registrerad"),
    "days_since_permit_expiry": ("no expired residence permit on record", "inget utgånget uppehållstillstånd registrerat"),
    "days_since_notification": ("no notification on record", "ingen underrättelse registrerad"),
    "days_since_notification_this_case": ("no notification about this case on record",
                                          "ingen underrättelse om detta ärende registrerad"),
    "days_since_investigation_closed": ("no earlier investigation on record", "ingen tidigare utredning registrerad"),
    "assistance_hours_monthly_mean_12m": ("no assistance hours reported", "inga assistanstimmar rapporterade"),
}


def _f(name, dtype, en, sv, sources, model_input=True, monotone=0) -> Feature:
    missing = _MISSING.get(name, (Feature.missing_en, Feature.missing_sv))
    return Feature(name, dtype, en, sv, tuple(sources), model_input, monotone, _unit(name, dtype), *missing)


_SOURCE_SV = {
    "agency": "annan myndighet", "municipality": "kommun", "ubm": "Utbetalningsmyndigheten", "skatteverket": "Skatteverket",
    "public": "allmänheten (tips)", "handler": "handläggare", "school": "skola",
}

_CASE = [
    _f("benefit", "category", "Benefit the case is about", "Förmån som ärendet gäller", ["cases"]),
    _f("sex", "category", "Sex of the insured (fairness measurement only)",
       "Den försäkrades kön (endast för rättviseuppföljning)", ["persons"], model_input=False),
    _f("age_band", "category", "Age band of the insured on the as-of date (fairness measurement only)",
       "Den försäkrades åldersgrupp på mätdagen (endast för rättviseuppföljning)", ["persons"], model_input=False),
    _f("born_abroad", "bool", "Born abroad (fairness measurement only)", "Född utomlands (endast för rättviseuppföljning)",
       ["persons"], model_input=False),
    _f("monthly_amount_sek", "float", "Monthly amount paid on the case, SEK", "Månadsbelopp som betalas ut i ärendet, kr",
       ["cases"]),
    _f("amount_to_benefit_median", "float",
       "Monthly amount divided by the median amount of the same benefit (cases active on the first day of the month)",
       "Månadsbelopp delat med medianbeloppet för samma förmån (ärenden aktiva den första dagen i månaden)", ["cases"]),
    _f("amount_zscore_in_benefit", "float",
       "How many standard deviations the monthly amount lies above the mean of the same benefit",
       "Hur många standardavvikelser månadsbeloppet ligger över medelvärdet för samma förmån", ["cases"]),
    _f("days_on_benefit", "int", "Days since the case started", "Dagar sedan ärendet började", ["cases"]),
    _f("other_active_benefits", "int", "Number of other benefits the person receives on the as-of date",
       "Antal andra förmåner personen har på mätdagen", ["cases"]),
    _f("earlier_cases", "int", "Number of the person's other cases that have ended",
       "Antal andra ärenden för personen som har avslutats", ["cases"]),
]

_INCOME = [
    _f("application_income_sek", "float", "Yearly income the case is based on (latest stated), SEK",
       "Årsinkomst som ärendet grundar sig på (senast angiven), kr", ["fk"]),
    _f("taxed_income_sek", "float", "Latest taxed yearly income known, SEK", "Senast kända taxerade årsinkomst, kr",
       ["skatteverket"]),
    _f("taxed_to_application_income", "float", "Taxed yearly income divided by the income the case is based on",
       "Taxerad årsinkomst delad med inkomsten som ärendet grundar sig på", ["skatteverket", "fk"]),
    _f("declared_income_12m_sek", "float", "Employer-declared income over the last 12 months, SEK",
       "Arbetsgivardeklarerad inkomst de senaste 12 månaderna, kr", ["employer"]),
    _f("declared_income_3m_sek", "float", "Employer-declared income over the last 3 months, SEK",
       "Arbetsgivardeklarerad inkomst de senaste 3 månaderna, kr", ["employer"]),
    _f("declared_to_application_income", "float",
       "Employer-declared income over the last 12 months divided by the yearly income the case is based on",
       "Arbetsgivardeklarerad inkomst senaste 12 månaderna delad med årsinkomsten som ärendet grundar sig på",
       ["employer", "fk"]),
    _f("months_with_declared_income_12m", "int", "Months with employer-declared income in the last 12 months",
       "Månader med arbetsgivardeklarerad inkomst de senaste 12 månaderna", ["employer"]),
    _f("latest_declared_income_sek", "float", "Latest monthly employer-declared income, SEK",
       "Senaste månadens arbetsgivardeklarerade inkomst, kr", ["employer"]),
]

_WORK_IN_BENEFIT = [
    _f("income_in_tfp_months_12m_sek", "float",
       "Employer-declared income in months with temporary parental benefit paid, last 12 months, SEK",
       "Arbetsgivardeklarerad inkomst i månader med utbetald tillfällig föräldrapenning, senaste 12 månaderna, kr",
       ["employer", "fk"], monotone=1),
    _f("income_in_sjukpenning_months_12m_sek", "float",
       "Employer-declared income in months with sickness benefit paid, last 12 months, SEK",
       "Arbetsgivardeklarerad inkomst i månader med utbetald sjukpenning, senaste 12 månaderna, kr", ["employer", "fk"],
       monotone=1),
    _f("income_in_fp_months_12m_sek", "float",
       "Employer-declared income in months with parental benefit paid, last 12 months, SEK",
       "Arbetsgivardeklarerad inkomst i månader med utbetald föräldrapenning, senaste 12 månaderna, kr", ["employer", "fk"],
       monotone=1),
    _f("case_months_with_benefit_and_income_12m", "int",
       "Months in the last 12 in which this case paid benefit days and an employer declared income",
       "Månader de senaste 12 då detta ärende betalade ut förmånsdagar och en arbetsgivare deklarerade inkomst",
       ["employer", "fk"], monotone=1),
    _f("benefit_days_12m", "int", "Benefit days paid on this case in the last 12 months",
       "Förmånsdagar utbetalda i detta ärende de senaste 12 månaderna", ["fk"]),
    _f("assistance_hours_monthly_mean_12m", "float", "Mean assistance hours reported per month on this case, last 12 months",
       "Genomsnittligt antal rapporterade assistanstimmar per månad i detta ärende, senaste 12 månaderna", ["provider"]),
]

_RESIDENCE = [
    _f("address_changes_12m", "int", "Registered moves (folkbokföring) in the last 12 months",
       "Registrerade flyttar (folkbokföring) de senaste 12 månaderna", ["skatteverket"], monotone=1),
    _f("address_changes_total", "int", "Registered moves known in total", "Kända registrerade flyttar totalt", ["skatteverket"]),
    _f("days_since_address_change", "float", "Days since the latest registered move", "Dagar sedan senaste registrerade flytt",
       ["skatteverket"]),
    _f("household_changes_12m", "int", "Changes in who is registered at the address, last 12 months",
       "Ändringar av vilka som är folkbokförda på adressen, senaste 12 månaderna", ["skatteverket"], monotone=1),
    _f("adults_at_address", "float", "Adults registered at the person's address after the latest change",
       "Vuxna folkbokförda på personens adress efter senaste ändringen", ["skatteverket"]),
    _f("months_since_declared_income", "float", "Months since an employer last declared income for the person",
       "Månader sedan en arbetsgivare senast deklarerade inkomst för personen", ["employer"]),
    _f("mail_returned_12m", "int", "Letters to the registered address that came back, last 12 months",
       "Brev till folkbokföringsadressen som kommit i retur, senaste 12 månaderna", ["fk"], monotone=1),
    _f("foreign_activity_12m", "int", "Reports of activity abroad from other agencies or countries, last 12 months",
       "Uppgifter om aktivitet utomlands från andra myndigheter eller länder, senaste 12 månaderna", ["agency"], monotone=1),
    _f("foreign_activity_total", "int", "Reports of activity abroad known in total",
       "Kända uppgifter om aktivitet utomlands totalt", ["agency"], monotone=1),
    _f("emigration_registered", "bool", "Emigration registered by Skatteverket", "Utvandring registrerad hos Skatteverket",
       ["skatteverket"], monotone=1),
    _f("permit_expired_unrenewed", "bool", "A temporary residence permit expired and no renewal is registered since",
       "Ett tillfälligt uppehållstillstånd har löpt ut och ingen förlängning har registrerats sedan", ["migrationsverket"],
       monotone=1),
    _f("days_since_permit_expiry", "float", "Days since an unrenewed residence permit expired",
       "Dagar sedan ett uppehållstillstånd som inte förlängts löpte ut", ["migrationsverket"]),
    _f("study_breaks_12m", "int", "Reports that a child's studies ended or were interrupted, last 12 months",
       "Uppgifter om att ett barns studier avslutats eller avbrutits, senaste 12 månaderna", ["csn"], monotone=1),
    _f("reported_changes_12m", "int", "Changes in circumstances the person reported, last 12 months",
       "Ändrade förhållanden som personen själv anmält, senaste 12 månaderna", ["fk"]),
]

_NOTIFICATIONS = [
    _f(f"notifications_{source}", "int", f"Notifications or tips about the person from {source_en}, in total",
       f"Underrättelser eller tips om personen från {_SOURCE_SV[source]}, totalt", [source], monotone=1)
    for source, source_en in zip(
        IMPULSE_SOURCES,
        ("other agencies", "municipalities", "the Payments Authority (UBM)", "Skatteverket", "the public (tips)",
         "benefit handlers", "schools"), strict=True)
] + [
    _f("notifications_12m", "int", "Notifications or tips about the person from any source, last 12 months",
       "Underrättelser eller tips om personen från alla avsändare, senaste 12 månaderna", list(IMPULSE_SOURCES), monotone=1),
    _f("days_since_notification", "float", "Days since the latest notification or tip about the person",
       "Dagar sedan senaste underrättelse eller tips om personen", list(IMPULSE_SOURCES)),
    _f("notifications_this_case_12m", "int", "Notifications or tips about this case, last 12 months",
       "Underrättelser eller tips om detta ärende, senaste 12 månaderna", list(IMPULSE_SOURCES), monotone=1),
    _f("days_since_notification_this_case", "float", "Days since the latest notification or tip about this case",
       "Dagar sedan senaste underrättelse eller tips om detta ärende", list(IMPULSE_SOURCES)),
]

_INVESTIGATIONS = [
    _f("earlier_investigations_closed", "int", "Earlier control investigations of the person that are closed",
       "Tidigare avslutade kontrollutredningar av personen", ["investigations"]),
    _f("earlier_investigations_with_action", "int", "Earlier closed investigations of the person that led to an action",
       "Tidigare avslutade utredningar av personen som ledde till åtgärd", ["investigations"], monotone=1),
    _f("earlier_investigations_this_case", "int", "Earlier closed investigations of this case",
       "Tidigare avslutade utredningar av detta ärende", ["investigations"]),
    _f("earlier_police_reports", "int", "Earlier investigations of the person that ended in a police report",
       "Tidigare utredningar av personen som ledde till polisanmälan", ["investigations"], monotone=1),
    _f("earlier_detected_sek", "float", "Erroneous payments detected in earlier investigations of the person, SEK",
       "Felaktiga utbetalningar som upptäckts i tidigare utredningar av personen, kr", ["investigations"], monotone=1),
    _f("open_investigations", "int", "Investigations of the person opened earlier and still open",
       "Utredningar av personen som öppnats tidigare och fortfarande pågår", ["investigations"]),
    _f("days_since_investigation_closed", "float", "Days since an earlier investigation of the person was closed",
       "Dagar sedan en tidigare utredning av personen avslutades", ["investigations"]),
]

_NETWORK = [
    _f("persons_sharing_address", "int", "Persons from other households registered at the same address",
       "Personer från andra hushåll folkbokförda på samma adress", ["skatteverket"], monotone=1),
    _f("persons_sharing_address_with_action", "int",
       "Persons from other households at the same address whose investigation led to an action",
       "Personer från andra hushåll på samma adress vars utredning ledde till åtgärd", ["skatteverket", "investigations"],
       monotone=1),
    _f("persons_sharing_bank_account", "int", "Persons from other households paid to the same bank account",
       "Personer från andra hushåll som får utbetalningar till samma bankkonto", ["fk"], monotone=1),
    _f("persons_sharing_bank_account_with_action", "int",
       "Persons from other households using the same bank account whose investigation led to an action",
       "Personer från andra hushåll med samma bankkonto vars utredning ledde till åtgärd", ["fk", "investigations"], monotone=1),
    _f("persons_sharing_provider", "int", "Persons from other households with the same assistance provider",
       "Personer från andra hushåll med samma assistansanordnare", ["fk"]),
    _f("persons_sharing_provider_with_action", "int",
       "Persons from other households with the same assistance provider whose investigation led to an action",
       "Personer från andra hushåll med samma assistansanordnare vars utredning ledde till åtgärd", ["fk", "investigations"],
       monotone=1),
    _f("provider_reported_to_ivo", "bool", "The person's assistance provider has been reported to IVO as unsuitable",
       "Personens assistansanordnare har anmälts till IVO som olämplig", ["ivo", "fk"], monotone=1),
]

FEATURES: tuple[Feature, ...] = tuple(
    _CASE + _INCOME + _WORK_IN_BENEFIT + _RESIDENCE + _NOTIFICATIONS + _INVESTIGATIONS + _NETWORK
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
MODEL_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.model_input)
_BY_NAME = {f.name: f for f in FEATURES}

if len(_BY_NAME) != len(FEATURES):
    raise RuntimeError("duplicate feature names in the registry")
if any(_BY_NAME[name].model_input for name in SENSITIVE):
    raise RuntimeError("a sensitive attribute is marked as model input")


def _version() -> str:
    text = "|".join(f"{f.name}:{f.dtype}" for f in FEATURES) + f"|definitions={DEFINITIONS_VERSION}"
    return f"fs{DEFINITIONS_VERSION}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


FEATURE_SET_VERSION: str = _version()


def get(name: str) -> Feature:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown feature {name!r}") from None


def markdown_catalog() -> str:
    """The feature list as Markdown (docs/features.md is this text)."""
    lines = [
        "# Features",
        "",
        f"Feature set version `{FEATURE_SET_VERSION}`: {len(FEATURES)} features, {len(MODEL_FEATURES)} model inputs.",
        "Generated from `riskrank/features/registry.py` (`python -m riskrank.features.catalog`); do not edit by hand.",
        "",
        "Every feature is computed for a case as of a date from events dated on or before that date, and nothing later.",
        "Monotone: +1 means more is expected to mean more risk, 0 means no known direction.",
        "",
        "## How to use",
        "",
        "```",
        "riskrank features --world data/world --as-of 2024-06-30 --out data/features.parquet [--engine dask] [--store]",
        "```",
        "",
        "`--engine dask` needs the Dask extra, `pip install 'riskrank[dask]'` (part of `locks/dev.txt`; the runtime install",
        "leaves it out and the command says so). `--store` to PostgreSQL needs `riskrank[postgres]`.",
        "",
        "In Python: `riskrank.features.pipeline.compute_features(world, keys)` for (case_id, as_of) keys with a date per row",
        "(training: each investigation as of the day it opened), `features_as_of(world, date)` for every active case, and",
        "`riskrank.features.store.FeatureStore(engine)` for serving lookups (`get(case_id)`, `latest_frame()`).",
        "",
        "## Definitions worth knowing",
        "",
        "- *Last 12 months* is the 365 days up to and including the as-of date; *last 3 months* is 90 days.",
        "- Earlier investigations count only if opened before the as-of date; their outcome counts from the day they",
        "  closed. A training row (an investigation as of its opening day) therefore never sees itself.",
        "- Peers of a payment are the cases of the same benefit active on the first day of the as-of month.",
        "- Network counts are persons of *other* households holding the same address, bank account or assistance",
        "  provider on the as-of date (a holding lasts from its registration to the person's next one); *with action*",
        "  counts those whose own investigation had closed with an action by then.",
        "- Missing floats (no event of that kind known) are NaN; counts are 0.",
        "",
        "## Features",
        "",
        "| name | dtype | model input | monotone | sources | description | beskrivning |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in FEATURES:
        lines.append(
            f"| `{f.name}` | {f.dtype} | {'yes' if f.model_input else 'no (fairness only)'} | {f.monotone:+d} | "
            f"{', '.join(f.sources)} | {f.description_en} | {f.description_sv} |"
        )
    return "\n".join(lines) + "\n"
