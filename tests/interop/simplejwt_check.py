#!/usr/bin/env python3
"""Interop with the real djangorestframework-simplejwt (the stack Nexora Gate
replaces), driven by tests/it/simplejwt_interop.rs.

A minimal Django project is configured in memory: an in-memory SQLite
database, Django's auth app, DRF with simplejwt's JWTAuthentication and the
same HS256 key as the gateway.

  simplejwt_check.py accept TOKEN USER_ID
      Creates a user with that primary key, then authenticates a request
      carrying `Authorization: Bearer TOKEN` through simplejwt's
      JWTAuthentication (signature, exp, token_type, jti, user lookup by
      user_id). Prints "accepted <username>" or exits 1 with the reason.

  simplejwt_check.py mint USER_ID
      Prints an access token minted by simplejwt itself
      (AccessToken.for_user) for a user with that primary key.

The signing key comes from NEXORA_SIGNING_KEY.
"""
import os
import sys

import django
from django.conf import settings

KEY = os.environ["NEXORA_SIGNING_KEY"]

settings.configure(
    DEBUG=False,
    SECRET_KEY="interop-only-not-a-secret-0123456789abcdefghij",
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "rest_framework",
    ],
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": (
            "rest_framework_simplejwt.authentication.JWTAuthentication",
        ),
    },
    SIMPLE_JWT={
        "ALGORITHM": "HS256",
        "SIGNING_KEY": KEY,
        "AUTH_HEADER_TYPES": ("Bearer",),
        "USER_ID_FIELD": "id",
        "USER_ID_CLAIM": "user_id",
        "LEEWAY": 0,
    },
    USE_TZ=True,
)
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402
from rest_framework_simplejwt.authentication import JWTAuthentication  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402


def make_user(user_id: int):
    call_command("migrate", verbosity=0, interactive=False)
    User = get_user_model()
    return User.objects.create(id=user_id, username=f"interop{user_id}", is_active=True)


def accept(token: str, user_id: int) -> None:
    make_user(user_id)
    request = APIRequestFactory().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    try:
        result = JWTAuthentication().authenticate(request)
    except Exception as e:  # simplejwt raises AuthenticationFailed / InvalidToken
        print(f"rejected: {e!r}", file=sys.stderr)
        sys.exit(1)
    if result is None:
        print("rejected: no credentials recognised", file=sys.stderr)
        sys.exit(1)
    user, validated = result
    if user.id != user_id:
        print(f"rejected: authenticated as user {user.id}, expected {user_id}", file=sys.stderr)
        sys.exit(1)
    print(f"accepted {user.username} token_type={validated['token_type']}")


def mint(user_id: int) -> None:
    user = make_user(user_id)
    print(str(AccessToken.for_user(user)))


def main() -> None:
    if len(sys.argv) >= 4 and sys.argv[1] == "accept":
        accept(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "mint":
        mint(int(sys.argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
