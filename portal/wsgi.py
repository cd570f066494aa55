import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

application = get_wsgi_application()

# Import every view now rather than on the first request, then move everything
# loaded so far out of the garbage collector's generations: those objects live
# as long as the process, and each full collection would otherwise walk them all.
get_resolver().url_patterns  # noqa: B018 (the property imports the URLconf)
gc.freeze()
