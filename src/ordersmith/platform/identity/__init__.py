"""Identity: users, console sessions and API keys — who may call Ordersmith, and how a request proves it.

Invariants: passwords are stored only as Argon2 hashes; session tokens and API keys only as SHA-256 hashes, the
clear value shown once; ten failed logins lock an account; an admin must use TOTP in production.
"""

from ordersmith.platform.identity.api_keys import (
    API_KEY_PREFIX,
    ApiKey,
    ApiKeyCache,
    NewApiKey,
    api_key_cache,
    create_api_key,
    find_api_key_by_prefix,
    list_api_keys,
    resolve_api_key,
    revocations_version,
    revoke_api_key,
    touch_api_key,
)
from ordersmith.platform.identity.sessions import (
    NewSession,
    TotpEnrolment,
    confirm_totp,
    login,
    logout,
    purge_expired_sessions,
    record_failed_login,
    resolve_session,
    sign_in,
    start_totp_enrolment,
)
from ordersmith.platform.identity.users import (
    MIN_PASSWORD_LENGTH,
    User,
    create_user,
    find_user_by_email,
    get_user,
    list_users,
    normalise_email,
    reset_password,
    update_user,
)

__all__ = [
    "API_KEY_PREFIX",
    "MIN_PASSWORD_LENGTH",
    "ApiKey",
    "ApiKeyCache",
    "NewApiKey",
    "NewSession",
    "TotpEnrolment",
    "User",
    "api_key_cache",
    "confirm_totp",
    "create_api_key",
    "create_user",
    "find_api_key_by_prefix",
    "find_user_by_email",
    "get_user",
    "list_api_keys",
    "list_users",
    "login",
    "logout",
    "normalise_email",
    "purge_expired_sessions",
    "record_failed_login",
    "reset_password",
    "resolve_api_key",
    "resolve_session",
    "revocations_version",
    "revoke_api_key",
    "sign_in",
    "start_totp_enrolment",
    "touch_api_key",
    "update_user",
]
