"""Who may do what in the review app: one registry of permissions by role.

:data:`PERMISSIONS` is the single source of truth. Every route asks
:func:`can` (through the route's ``require``), the templates ask it to hide
links, and the README/role table is generated from it, so a role's rights
never live in two lists.

Addresses and exact meter locations are personal data (see the design's
"Security and privacy"). Analysts work on cases and labels to retrain
detectors; they need scores, reasons, load profiles and outcomes, not where
a customer lives, so they see the case queue and case pages *without*
addresses, coordinates or maps of cases (a point on a map is an address).
Planners and officials see only the published, aggregated maps.
"""

from __future__ import annotations

from geoenergy.store import USER_ROLES

#: ``{permission: (roles that hold it, what it allows)}``.
PERMISSIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "cases.view": (
        ("admin", "enforcement", "analyst"),
        "see the case queue and case pages (scores, reasons, load profiles, history)",
    ),
    "cases.addresses": (
        ("admin", "enforcement"),
        "see addresses, coordinates and the maps of cases",
    ),
    "cases.act": (
        ("admin", "enforcement"),
        "assign, schedule inspections, record outcomes and notes",
    ),
    "cases.assignee": (
        ("admin", "enforcement"),
        "be assigned a case (be a member of the field team)",
    ),
    "queue.export": (
        ("admin", "enforcement"),
        "download the queue as CSV or XLSX (with addresses, for field teams)",
    ),
    "labels.export": (
        ("admin", "enforcement", "analyst"),
        "download inspection outcomes as a training labels file",
    ),
    "aggregates.view": (
        USER_ROLES,
        "see counts of flagged and inspected cases by district (small counts suppressed)",
    ),
    "maps.aggregate": (
        USER_ROLES,
        "open the published aggregated maps (mining hotspots by area, waste heat)",
    ),
    "maps.enforcement": (
        ("admin", "enforcement"),
        "open the published enforcement map (addresses)",
    ),
    "monitor.view": (
        ("admin", "monitor"),
        "see the live data-centre monitoring page (PUE against its limit, alerts)",
    ),
    "monitor.ack": (
        ("admin", "monitor"),
        "acknowledge a monitoring alert with a note (audited)",
    ),
}


def can(role: str | None, permission: str) -> bool:
    """Whether ``role`` holds ``permission``.

    Parameters
    ----------
    role : str or None
        A role of :data:`geoenergy.store.USER_ROLES`; ``None`` (not logged in)
        holds nothing.
    permission : str
        A key of :data:`PERMISSIONS`.

    Returns
    -------
    bool

    Raises
    ------
    KeyError
        If ``permission`` is not in :data:`PERMISSIONS` (a typo in a route
        must fail loudly, never grant or deny silently).
    """
    if permission not in PERMISSIONS:
        raise KeyError(
            f"unknown permission {permission!r}; use one of {sorted(PERMISSIONS)} "
            f"(geoenergy.web.roles.PERMISSIONS)."
        )
    return role is not None and role in PERMISSIONS[permission][0]


def permissions_of(role: str) -> frozenset[str]:
    """All permissions ``role`` holds."""
    return frozenset(p for p, (roles, _) in PERMISSIONS.items() if role in roles)


def role_table() -> str:
    """The permissions as a Markdown table (roles as columns), for the docs."""
    head = "| permission | " + " | ".join(USER_ROLES) + " | allows |"
    sep = "| --- |" + " :---: |" * len(USER_ROLES) + " --- |"
    rows = [
        f"| `{p}` | "
        + " | ".join("yes" if r in roles else "" for r in USER_ROLES)
        + f" | {what} |"
        for p, (roles, what) in PERMISSIONS.items()
    ]
    return "\n".join([head, sep, *rows])
