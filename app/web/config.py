"""Web configuration classes. Settings shared with the CLI and scheduler live in app.config."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta


class Config:
    SECRET_KEY: str | None = os.environ.get("RAPIDREVIEW_SECRET_KEY")
    SESSION_COOKIE_NAME = "rapidreview_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=10)  # absolute: a working day, then sign in again
    IDLE_TIMEOUT = timedelta(minutes=30)
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    SCHEDULER_IN_PROCESS = False
    SEED_DEMO_USERS = False
    TESTING = False


class DevelopmentConfig(Config):
    SECRET_KEY = os.environ.get("RAPIDREVIEW_SECRET_KEY") or secrets.token_hex(32)
    SESSION_COOKIE_SECURE = False  # http://127.0.0.1 in development
    SCHEDULER_IN_PROCESS = True
    SEED_DEMO_USERS = True


class TestConfig(Config):
    SECRET_KEY = "test-secret-key-not-for-production"
    SESSION_COOKIE_SECURE = False
    TESTING = True


class ProductionConfig(Config):
    pass


CONFIGS = {"development": DevelopmentConfig, "test": TestConfig, "production": ProductionConfig}
