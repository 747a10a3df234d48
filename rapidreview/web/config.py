"""Flask's configuration classes: how each kind of deployment behaves. What comes from the environment
(the secret key, the proxies, limits) is read once, with every other setting, by rapidreview.config."""

from __future__ import annotations

from datetime import timedelta


class Config:
    SECRET_KEY: str | None = None  # RAPIDREVIEW_SECRET_KEY (Settings.secret_key), set by create_app
    GENERATE_SECRET_KEY = False  # without one: refuse to start
    SESSION_COOKIE_NAME = "rapidreview_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Sessions are held on the server (services.sessions); create_app sets both limits from the settings
    # (RAPIDREVIEW_SESSION_IDLE_MINUTES, RAPIDREVIEW_SESSION_MAX_HOURS). The cookie itself lasts until the
    # browser closes.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=10)  # absolute: a working day, then sign in again
    IDLE_TIMEOUT = timedelta(minutes=30)
    # Flask-WTF's CSRF token lives as long as the session: a form left open over lunch still submits.
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    # Every local account signs in with a password and a TOTP code (docs/security.md).
    TOTP_REQUIRED = True
    TWO_FACTOR_PENDING = timedelta(minutes=5)  # between a correct password and the code
    TWO_FACTOR_ENROLMENT = timedelta(minutes=30)  # ...or, the first time, setting up the authenticator app
    SIGN_IN_ACCOUNT_FAILURES = 5  # failed passwords or codes in SIGN_IN_WINDOW that lock an account...
    SIGN_IN_IP_FAILURES = 50  # ...or an IP address (behind a proxy, set RAPIDREVIEW_TRUSTED_PROXIES: web/proxy.py)
    SIGN_IN_WINDOW = timedelta(minutes=15)
    SIGN_IN_COOLING_OFF = timedelta(minutes=15)  # how long a lock lasts
    SCHEDULER_IN_PROCESS = False
    SEED_DEMO_USERS = False
    TESTING = False
    # A case can be moved to its next timed event from its page (services.demo_clock): demonstrations only.
    DEMO_TIME_TRAVEL = False


class DevelopmentConfig(Config):
    GENERATE_SECRET_KEY = True  # without RAPIDREVIEW_SECRET_KEY, a random key (sessions end at restart)
    SESSION_COOKIE_SECURE = False  # http://127.0.0.1 in development
    SCHEDULER_IN_PROCESS = True
    SEED_DEMO_USERS = True
    TOTP_REQUIRED = False  # demo accounts sign in with the demo password alone
    DEMO_TIME_TRAVEL = True  # walk a whole case through in minutes


class TestConfig(Config):
    SECRET_KEY = "test-secret-key-not-for-production"
    SESSION_COOKIE_SECURE = False
    TESTING = True
    TOTP_REQUIRED = False  # tests/test_security_sign_in.py turns it on


class ProductionConfig(Config):
    pass


CONFIGS = {"development": DevelopmentConfig, "test": TestConfig, "production": ProductionConfig}
