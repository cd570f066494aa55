"""Django's admin app with Plinth's admin site (portal.admin_site) as the default site."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class PlinthAdminConfig(AdminConfig):
    default_site = "portal.admin_site.PlinthAdminSite"


class PortalConfig(AppConfig):
    """The project itself: settings, URLs, the Celery app, base templates, the demo commands."""

    name = "portal"
    verbose_name = "Plinth"
