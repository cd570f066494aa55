"""Django's admin app with Plinth's admin site (portal.admin_site) as the default site."""

from django.contrib.admin.apps import AdminConfig


class PlinthAdminConfig(AdminConfig):
    default_site = "portal.admin_site.PlinthAdminSite"
