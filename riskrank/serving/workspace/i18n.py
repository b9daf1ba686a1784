"""The workspace's words in Swedish and English, and which language a request gets: `?lang=sv|en`, else the
language the session chose last, else the browser's Accept-Language, else Swedish."""

from __future__ import annotations

LANGUAGES = ("sv", "en")
DEFAULT = "sv"

WORDS: dict[str, dict[str, str]] = {
    "title": {"en": "Investigator's workspace", "sv": "Utredarens arbetsyta"},
    "notice": {"en": "The score is a ranking aid for choosing which cases to investigate, never a decision about a case.",
               "sv": "Poängen är ett stöd för att välja vilka ärenden som ska utredas, aldrig ett beslut i ett ärende."},
    "sign_in": {"en": "Sign in", "sv": "Logga in"},
    "sign_out": {"en": "Sign out", "sv": "Logga ut"},
    "token": {"en": "Your token", "sv": "Din token"},
    "token_help": {"en": "Paste the token you were given (riskrank users add NAME --role investigator).",
                   "sv": "Klistra in den token du har fått (riskrank users add NAMN --role investigator)."},
    "bad_token": {"en": "Unknown, inactive or expired token.", "sv": "Okänd, inaktiv eller utgången token."},
    "too_many": {"en": "Too many failed attempts; try again in {wait} s.",
                 "sv": "För många misslyckade försök; försök igen om {wait} s."},
    "only_investigators": {"en": "The workspace is for investigators; your role is {role}.",
                           "sv": "Arbetsytan är för utredare; din roll är {role}."},
    "signed_in_as": {"en": "Signed in as", "sv": "Inloggad som"},
    "worklists": {"en": "Your worklists", "sv": "Dina arbetslistor"},
    "no_worklists": {"en": "No worklists yet: make one below.", "sv": "Inga arbetslistor än: skapa en nedan."},
    "new_worklist": {"en": "New worklist", "sv": "Ny arbetslista"},
    "benefit": {"en": "Benefit", "sv": "Förmån"},
    "all_benefits": {"en": "all benefits", "sv": "alla förmåner"},
    "cases_k": {"en": "Number of cases", "sv": "Antal ärenden"},
    "make": {"en": "Make worklist", "sv": "Skapa arbetslista"},
    "created": {"en": "Made", "sv": "Skapad"},
    "cases": {"en": "cases", "sv": "ärenden"},
    "open": {"en": "Open", "sv": "Öppna"},
    "worklist": {"en": "Worklist", "sv": "Arbetslista"},
    "random_order": {"en": "The cases are in random order; scores are shown on each case's page.",
                     "sv": "Ärendena står i slumpad ordning; poängen visas på varje ärendes sida."},
    "position": {"en": "No.", "sv": "Nr"},
    "score": {"en": "Score", "sv": "Poäng"},
    "case": {"en": "Case", "sv": "Ärende"},
    "back": {"en": "Back to the worklist", "sv": "Tillbaka till arbetslistan"},
    # The stored percentile is the share of the benefit's active cases scored at or below this one (100: the top).
    "percentile": {"en": "Scores at or above {pct} of active {benefit} cases.",
                   "sv": "Poäng lika med eller högre än {pct} av aktiva ärenden inom {benefit}."},
    "reasons": {"en": "Why this score", "sv": "Varför denna poäng"},
    "waterfall_help": {"en": "From the average case (left) each bar adds what one feature contributes: first those "
                             "that raise the score, then those that lower it; the last bar is this case.",
                       "sv": "Från genomsnittsärendet (vänster) lägger varje stapel till vad en egenskap bidrar med: "
                             "först de som höjer poängen, sedan de som sänker den; sista stapeln är detta ärende."},
    "axis_logodds": {"en": "contribution to the score (log-odds)", "sv": "bidrag till poängen (log-odds)"},
    "average_case": {"en": "average case", "sv": "genomsnittsärende"},
    "this_case": {"en": "this case", "sv": "detta ärende"},
    "other_features": {"en": "other features", "sv": "övriga egenskaper"},
    "raises": {"en": "raises", "sv": "höjer"},
    "lowers": {"en": "lowers", "sv": "sänker"},
    "signals": {"en": "Recent signals", "sv": "Senaste signaler"},
    "signals_help": {"en": "Dates from the case's features as of {as_of} (the date of each latest event).",
                     "sv": "Datum ur ärendets egenskaper per {as_of} (datum för varje senaste händelse)."},
    "none_on_record": {"en": "None on record", "sv": "Inget registrerat"},
    "no_features": {"en": "No stored features for this case.", "sv": "Inga lagrade egenskaper för ärendet."},
    "outcome": {"en": "Record the outcome", "sv": "Registrera utfallet"},
    "investigation_id": {"en": "Investigation id", "sv": "Utrednings-id"},
    "opened": {"en": "Opened", "sv": "Öppnad"},
    "closed": {"en": "Closed", "sv": "Avslutad"},
    "action": {"en": "Action taken", "sv": "Åtgärd"},
    "action_none": {"en": "none", "sv": "ingen"},
    "action_refused": {"en": "refused", "sv": "avslag"},
    "action_reduced": {"en": "reduced", "sv": "sänkt"},
    "action_stopped": {"en": "stopped", "sv": "indragen"},
    "action_reclaimed": {"en": "reclaimed", "sv": "återkrav"},
    "detected_sek": {"en": "Amount found wrongly paid (SEK)", "sv": "Felaktigt utbetalt belopp (kr)"},
    "prevented_sek": {"en": "Future payments prevented (SEK)", "sv": "Förhindrade framtida utbetalningar (kr)"},
    "police_report": {"en": "Reported to the police", "sv": "Polisanmäld"},
    "disagreed": {"en": "I disagree with the score", "sv": "Jag håller inte med om poängen"},
    "why_disagree": {"en": "Why", "sv": "Varför"},
    "record": {"en": "Record outcome", "sv": "Registrera utfall"},
    "recorded": {"en": "Outcome recorded.", "sv": "Utfallet är registrerat."},
    "already_recorded": {"en": "This outcome was already recorded.", "sv": "Utfallet var redan registrerat."},
    "not_recorded": {"en": "Not recorded", "sv": "Inte registrerat"},
    "no_model": {"en": "No model is loaded yet; try again in a moment.",
                 "sv": "Ingen modell är inläst än; försök igen om en stund."},
    "not_found": {"en": "No such page in your session (sign in again or open it from your worklist).",
                  "sv": "Sidan finns inte i din session (logga in igen eller öppna den från din arbetslista)."},
    "language": {"en": "Svenska", "sv": "English"},
}


def choose(query: str | None, remembered: str | None, accept_language: str | None) -> str:
    if query in LANGUAGES:
        return query
    if remembered in LANGUAGES:
        return remembered
    ranked = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((q, tag.strip().lower()[:2]))
    for _, tag in sorted(ranked, key=lambda t: -t[0]):
        if tag in LANGUAGES:
            return tag
    return DEFAULT


def words(language: str) -> dict[str, str]:
    """Every label in `language` (templates read them as t.key)."""
    return {key: texts[language] for key, texts in WORDS.items()}
