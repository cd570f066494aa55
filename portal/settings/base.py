"""Django's own settings: the secret, hosts, apps, middleware, templates, database, sign-in,
language, email and logging."""

from __future__ import annotations

import os
import secrets

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal.settings.env import BASE_DIR, PRODUCTION, VAR_DIR, envbool, envint, envlist


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY", "")
    if PRODUCTION:
        if len(key) < 50 or len(set(key)) < 5:
            raise ImproperlyConfigured("PLINTH_ENV=production needs SECRET_KEY (50+ random chars)")
        return key
    if key:
        return key
    # A development secret generated once and kept, so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("PLINTH_ENV=production needs ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Plinth's apps, lowest first: each imports only apps above it in this list (docs/architecture.md).
PLINTH_APPS = (
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

INSTALLED_APPS = [
    "portal.apps.PlinthAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "django_ratelimit",
    "easy_thumbnails",
    *PLINTH_APPS,
    "portal.apps.PortalConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every authenticated response is Cache-Control: no-store, private (portal.caching).
    "portal.caching.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Before any view reads a parameter: NUL characters and non-UTF-8 bytes are a 400.
    "portal.input_guard.BadInputMiddleware",
    # An HTMX request whose session has ended goes to the login page and back (issue 15).
    "accounts.middleware.HtmxLoginRedirectMiddleware",
    "accounts.middleware.IdleLogoutMiddleware",
    "audit.middleware.AuditReadMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a lockout into the response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
# After a failed submit the first field with an error has the focus (portal.forms).
FORM_RENDERER = "portal.forms.PlinthFormRenderer"

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # A database host that does not answer must fail fast (healthz, requests), not hang.
        DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = envint(
            "DATABASE_CONNECT_TIMEOUT", 5
        )
        # Parameters bound by the server and statements prepared on their second run
        # in a connection: the planner's work on the API's every-request statements
        # (token lookup, check-in) is then done once per connection, not per request.
        # Behind a pooler in transaction mode (pgbouncer), set DATABASE_PREPARED=false.
        if envbool("DATABASE_PREPARED", True):
            DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=2)
        # PostgreSQL's JIT compiler is for long analytic queries. Plinth's are short, but the
        # outcome definition's correlated subqueries estimate costs past the JIT thresholds,
        # and compiling them takes seconds in every backend, every time (measured: the
        # attention list's stale-plan figures, 92 ms without JIT, 2.1 s with it).
        if not envbool("DATABASE_JIT", False):
            DATABASES["default"]["OPTIONS"]["options"] = "-c jit=off"
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "plinth.sqlite3"),
            # WAL lets the web app, the worker and beat share the file.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Counts failed logins and refuses a locked account before the password is checked.
    "accounts.security.LockoutBackend",
    # ModelBackend, loading the user's therapist or patient record with them (one query).
    "accounts.backends.ModelBackendWithRole",
    # Emailed sign-in links (django-sesame), for patients of clinics that allow them only.
    "accounts.backends.SignInLinkBackend",
]
# Sign-in links (django-sesame; accounts.signin): a link works within 15 minutes, once (its
# token is bound to the user's last login, which signing in changes), not after a new password
# (bound to the password hash) nor for an inactive account (the backend refuses it). It names
# the user by User.sign_in_key, which logging out everywhere replaces, so older links name
# nobody. It depends on nothing in the browser that asked, so it works on any device.
SESAME_MAX_AGE = 15 * 60
SESAME_ONE_TIME = True
SESAME_INVALIDATE_ON_PASSWORD_CHANGE = True
SESAME_PRIMARY_KEY_FIELD = "sign_in_key"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Email: real SMTP when EMAIL_HOST is set, otherwise files under var/mail/.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Plinth <no-reply@plinth.local>")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = envint("EMAIL_PORT", 25)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = envbool("EMAIL_USE_TLS")
    EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
else:
    # One .eml file per message, named by time, recipient and subject (portal.mail).
    EMAIL_BACKEND = "portal.mail.FileEmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes logs every login at INFO; lockouts are WARNING and still show.
    # fontTools logs each font subset of every handout PDF at INFO, glyph by glyph.
    "loggers": {"axes": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}
FORMS_URLFIELD_ASSUME_HTTPS = True
