"""FHIR R4: Plinth's patients, therapists, clinics, plans and pain check-ins as FHIR resources."""

from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "fhir_r4"
    verbose_name = "FHIR R4"
