"""The review app: where enforcement teams work through the flagged cases.

``geoenergy serve`` runs it (FastAPI + server-rendered Jinja2 pages) on the
workspace store, SpatiaLite or PostGIS alike:

- login with Argon2-hashed passwords, a signed HttpOnly SameSite session
  cookie that ends on logout, deactivation, a new password or role, CSRF
  tokens on every form and atomically throttled logins
  (:mod:`~geoenergy.web.auth`, :mod:`~geoenergy.web.security`); client
  addresses from ``X-Forwarded-For`` only behind configured proxies
  (``forwarded_allow_ips``);
- roles decide what is visible (:data:`~geoenergy.web.roles.PERMISSIONS`);
- the case queue of a detection run, filtered, sorted, paginated, with a map
  (:mod:`~geoenergy.web.queue`), the case page with load-profile charts
  (:mod:`~geoenergy.web.cases`, :mod:`~geoenergy.web.profiles`,
  :mod:`~geoenergy.web.charts`);
- append-only, audited actions with optimistic concurrency
  (:mod:`~geoenergy.web.actions`), whose outcomes become training labels;
- exports for field teams and the labels file (:mod:`~geoenergy.web.exports`);
- the published maps by role (:mod:`~geoenergy.web.published`).

Example
-------
>>> from geoenergy.config import Workspace
>>> from geoenergy.web import create_app
>>> app = create_app(Workspace("city"))  # doctest: +SKIP
>>> import uvicorn; uvicorn.run(app, port=8000)  # doctest: +SKIP
"""

from geoenergy.web.app import create_app, serve
from geoenergy.web.auth import (
    add_user,
    deactivate_user,
    list_users,
    set_password,
    set_role,
    unlock_user,
)
from geoenergy.web.roles import PERMISSIONS, can

__all__ = [
    "PERMISSIONS",
    "add_user",
    "can",
    "create_app",
    "deactivate_user",
    "list_users",
    "serve",
    "set_password",
    "set_role",
    "unlock_user",
]
