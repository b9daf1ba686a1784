"""Every word the Excel report writes, per language: the one place to read or change the workbook's texts.

A workbook is written in one language (`riskrank report --lang sv|en`, Swedish by default); benefit names
(barnbidrag, ...) are the agency's own and stay as they are in both.
"""

from __future__ import annotations

from riskrank.monitoring.dashboard_data import FAIRNESS_NOTE, GROUP_FAIRNESS_NOTE

LANGUAGES: tuple[str, ...] = ("sv", "en")
SUPPRESSED = "*"  # a cell about fewer than four persons, as in the agency's tables
NO_DATA = "–"  # nothing to compute: no investigations, or no estimate possible

LABELS: dict[str, dict[str, str]] = {
    "sv": {
        # sheet names (at most 31 characters)
        "sheet.about": "Om rapporten", "sheet.benefit_year": "Per förmån och år", "sheet.month": "Per månad",
        "sheet.selection_year": "Per urval och år", "sheet.lift": "Lyft", "sheet.operational": "Verksamhet",
        "sheet.fairness": "Rättvisa",
        "sheet.group_fairness": "Rättvisa per grupp",
        "attribute": "Variabel", "group": "Grupp",
        "reference_group": "Referensgrupp", "metric": "Kvot av", "ratio": "Kvot mot referens",
        "attr.sex": "Kön", "attr.born_abroad": "Född utomlands", "attr.age_band": "Åldersgrupp",
        "born_abroad.True": "Född utomlands", "born_abroad.False": "Född i Sverige", "age_band.prefix": "Ålder",
        "metric.selection_rate": "urvalsandel", "metric.fpr": "andel falskt positiva", "metric.precision": "precision",
        "group_fairness_note": "Varje grupp som befordringsspärren bedömer (kön, född utomlands, åldersgrupp) mot sin "
                               "referens, på avslutade modellvalda utredningar och slumpurvalet: urvalsandel (modellval per "
                               "slumpurvalsutredning), andel falskt positiva (modellval utan åtgärd per slumpurvalsutredning "
                               "utan åtgärd) och precision (andel med åtgärd bland modellvalda), med 95 % bootstrapintervall. "
                               "En kvot som vilar på färre än fyra personer i gruppen eller referensen visas inte (*). "
                               "Grupperna registreras bara för denna uppföljning och används aldrig i poängsättningen.",
        "legend": f"{SUPPRESSED} = sekretess: uppgiften gäller färre än fyra personer och visas inte.   "
                  f"{NO_DATA} = inga data: inget att beräkna (inga utredningar, eller ingen skattning möjlig).",
        # keys and their values
        "benefit": "Förmån", "year": "År", "month": "Månad (avslutad)", "sex": "Kön", "selection": "Urval",
        "total": "Totalt", "sex.F": "Kvinnor", "sex.M": "Män",
        "selection.model": "Modell", "selection.random": "Slumpurval", "selection.impulse": "Impuls",
        "selection.fk_initiated": "Myndighetens eget initiativ",
        # measures
        "closed": "Avslutade utredningar", "with_action": "Med åtgärd", "hit_rate": "Andel med åtgärd",
        "low": "95 % lägre", "high": "95 % övre", "detected_sek": "Upptäckt felaktigt belopp (kr)",
        "prevented_sek": "Förhindrade felaktiga utbetalningar (kr)", "detected_per_sek_cost": "Upptäckt belopp per kontrollkrona",
        "police_reports": "Polisanmälningar",
        # lift
        "first_year": "Från år", "last_year": "Till år", "model_closed": "Modellvalda avslutade",
        "model_hit_rate": "Modellvaldas andel med åtgärd", "random_closed": "Slumpurval avslutade",
        "random_hit_rate": "Slumpurvalets andel med åtgärd", "lift": "Lyft (modell / slumpurval)",
        # operational
        "inflow": "Inflöde", "closed_month": "Avslutade", "open_at_month_end": "Öppna vid månadens slut",
        "age_mean_days": "Ålder medel (dagar)", "age_median_days": "Ålder median (dagar)", "age_p10_days": "Ålder p10 (dagar)",
        "age_p90_days": "Ålder p90 (dagar)", "handling_mean_days": "Handläggningstid medel (dagar)",
        "handling_median_days": "Handläggningstid median (dagar)",
        # fairness
        "n_model": "Modellvalda", "n_random": "Slumpurval", "parity": "Paritet (andel av modellvalda / andel av slumpurval)",
        "precision_ratio": "Precisionskvot mot referens", "flag": "Flagga", "reference": "referens", "outside": "utanför",
        "fairness_note": "Mäts på avslutade utredningar, med män som referens som i befordringsspärren. Precisionskvoten är "
                         "spärrens och granskningens definition (andel med åtgärd bland modellvalda); pariteten jämför ett köns "
                         "andel av modellens urval med dess andel av slumpurvalet, vilket spärren inte mäter. Intervall: 95 % "
                         "bootstrap, som granskningen; spärren läser 99 % bootstrapintervall på utvärderingspopulationen.",
        # about
        "title": "riskrank – rapport för chefer", "source": "Källa", "source.world": "världen i {path}",
        "source.db": "driftdatabasen (registrerade utfall)", "written": "Skriven",
        "closed_total": "Avslutade utredningar", "cost": "Kostnad per utredning (kr)",
        "conventions": "En utredning räknas den månad och det år den avslutades. Totalt inkluderar okänt kön, så Kvinnor + Män "
                       "behöver inte bli Totalt. Intervall: 95 % bootstrap.",
        "notice": "Poängen är ett stöd för att rangordna ärenden, aldrig ett beslut.",
        "definitions": "Definitioner",
        "def.hit_rate": "Andel avslutade kontrollutredningar med åtgärd (Tabell 75).",
        "def.closed": "Avslutade kontrollutredningar (Tabell 74).",
        "def.detected_sek": "Upptäckt felaktigt belopp i avslutade utredningar, kr (Tabell 76).",
        "def.prevented_sek": "Förhindrade felaktiga utbetalningar, kr, uppskattat (Tabell 77).",
        "def.detected_per_sek_cost": "Upptäckt belopp per kontrollkrona = upptäckt / (avslutade x kostnad per utredning) "
                                     "(Tabell 78).",
        "def.police_reports": "Utredningar som ledde till polisanmälan (Tabell 79).",
        "def.lift": "Lyft: modellvaldas andel med åtgärd delat med slumpurvalets; 1 betyder inte bättre än slumpen.",
    },
    "en": {
        "sheet.about": "About", "sheet.benefit_year": "By benefit and year", "sheet.month": "By month",
        "sheet.selection_year": "By selection and year", "sheet.lift": "Lift", "sheet.operational": "Operational",
        "sheet.fairness": "Fairness",
        "sheet.group_fairness": "Fairness by group",
        "attribute": "Attribute", "group": "Group",
        "reference_group": "Reference group", "metric": "Ratio of", "ratio": "Ratio to reference",
        "attr.sex": "Sex", "attr.born_abroad": "Born abroad", "attr.age_band": "Age band",
        "born_abroad.True": "Born abroad", "born_abroad.False": "Born in Sweden", "age_band.prefix": "Aged",
        "metric.selection_rate": "selection rate", "metric.fpr": "false-positive rate", "metric.precision": "precision",
        "group_fairness_note": GROUP_FAIRNESS_NOTE,
        "legend": f"{SUPPRESSED} = suppressed: the figure is about fewer than four persons and is not shown.   "
                  f"{NO_DATA} = no data: nothing to compute (no investigations, or no estimate possible).",
        "benefit": "Benefit", "year": "Year", "month": "Month (closed)", "sex": "Sex", "selection": "Selection method",
        "total": "Total", "sex.F": "Women", "sex.M": "Men",
        "selection.model": "Model", "selection.random": "Random sample", "selection.impulse": "Impulse",
        "selection.fk_initiated": "Agency-initiated",
        "closed": "Closed investigations", "with_action": "With action", "hit_rate": "Hit rate (share with action)",
        "low": "95 % low", "high": "95 % high", "detected_sek": "Detected erroneous amount (SEK)",
        "prevented_sek": "Prevented erroneous payments (SEK)", "detected_per_sek_cost": "Detected SEK per SEK of control cost",
        "police_reports": "Police reports",
        "first_year": "From year", "last_year": "To year", "model_closed": "Model-selected closed",
        "model_hit_rate": "Model hit rate", "random_closed": "Random sample closed", "random_hit_rate": "Random-sample hit rate",
        "lift": "Lift (model / random sample)",
        "inflow": "Inflow", "closed_month": "Closed", "open_at_month_end": "Open at month end",
        "age_mean_days": "Age mean (days)", "age_median_days": "Age median (days)", "age_p10_days": "Age p10 (days)",
        "age_p90_days": "Age p90 (days)", "handling_mean_days": "Handling time mean (days)",
        "handling_median_days": "Handling time median (days)",
        "n_model": "Model-selected", "n_random": "Random sample", "parity": "Parity (share selected / share in random)",
        "precision_ratio": "Precision ratio to reference", "flag": "Flag", "reference": "reference", "outside": "outside",
        "fairness_note": FAIRNESS_NOTE,
        "title": "riskrank manager report", "source": "Source", "source.world": "world {path}",
        "source.db": "operational store (recorded outcomes)", "written": "Written",
        "closed_total": "Closed investigations", "cost": "Cost per investigation (SEK)",
        "conventions": "An investigation counts in the month and year it closed. Total includes unknown sex, so Women + Men "
                       "need not add up to Total. Intervals: 95 % bootstrap.",
        "notice": "The score is a ranking aid for investigators, never a decision.",
        "definitions": "Definitions",
        "def.hit_rate": "Share of closed investigations with action (Tabell 75).",
        "def.closed": "Closed control investigations (Tabell 74).",
        "def.detected_sek": "Detected erroneous amount, SEK, in closed investigations (Tabell 76).",
        "def.prevented_sek": "Prevented erroneous payments, SEK, estimated (Tabell 77).",
        "def.detected_per_sek_cost": "Detected SEK per SEK of control cost = detected / (closed x cost per investigation) "
                                     "(Tabell 78).",
        "def.police_reports": "Investigations that led to a police report (Tabell 79).",
        "def.lift": "Lift: the model-selected hit rate over the random sample's; 1 means no better than chance.",
    },
}


def labels(lang: str) -> dict[str, str]:
    """The texts of one language; raises ValueError for any other."""
    if lang not in LABELS:
        raise ValueError(f"report language must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    return LABELS[lang]
