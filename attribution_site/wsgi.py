import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from attribution_site.gc_freeze import freeze_loaded_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attribution_site.settings")
application = get_wsgi_application()

# Every view is imported now, so that what the process keeps is loaded before the freeze
# (gc_freeze.py). Under gunicorn each worker imports this module after the fork.
_url_patterns = get_resolver().url_patterns
freeze_loaded_objects()
