"""The product's packages, for tests that read its source: Plinth's apps (as installed, lowest
first) and the project."""

from portal.settings.base import PLINTH_APPS as APPS

PRODUCT = (*APPS, "portal")
