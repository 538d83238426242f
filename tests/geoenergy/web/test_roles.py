"""The permission registry."""

from __future__ import annotations

import pytest

from geoenergy.store import USER_ROLES
from geoenergy.web.roles import PERMISSIONS, can, permissions_of, role_table


def test_every_role_is_known_and_admin_holds_everything():
    for roles, _ in PERMISSIONS.values():
        assert set(roles) <= set(USER_ROLES)
    assert permissions_of("admin") == frozenset(PERMISSIONS)


def test_personal_data_stays_with_enforcement_and_admin():
    for role in USER_ROLES:
        sees = can(role, "cases.addresses")
        assert sees == (role in ("admin", "enforcement"))
        assert can(role, "maps.enforcement") == sees
        assert can(role, "queue.export") == sees  # the export holds addresses


def test_planners_and_officials_only_aggregates():
    for role in ("planner", "official"):
        assert permissions_of(role) == {"aggregates.view", "maps.aggregate"}


def test_analysts_work_on_cases_and_labels():
    assert permissions_of("analyst") == {
        "cases.view",
        "labels.export",
        "aggregates.view",
        "maps.aggregate",
    }


def test_unknown_permission_fails_loudly():
    with pytest.raises(KeyError, match=r"unknown permission 'case\.view'"):
        can("admin", "case.view")
    assert can(None, "cases.view") is False


def test_role_table_lists_every_permission():
    table = role_table()
    for permission in PERMISSIONS:
        assert f"`{permission}`" in table
