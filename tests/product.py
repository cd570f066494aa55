"""The product's packages, for tests that read its source: Plinth's apps and the project."""

APPS = (
    "audit",
    "accounts",
    "library",
    "careplans",
    "checkins",
    "questionnaires",
    "outcomes",
    "alerts",
    "reminders",
    "conversations",
    "today",
    "caseload",
    "fhir_r4",
)
PRODUCT = (*APPS, "portal")
