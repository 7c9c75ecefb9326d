"""The tenancy model: names are DNS-1123 labels, readable when safe, and never collide;
tiers carry every seed number."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from vibecode_core.tenancy import (
    QUOTA_NAMES,
    TIERS,
    GiB,
    MiB,
    is_dns_label,
    tier,
    user_namespace,
    user_slug,
    workspace_namespace,
    workspace_slug,
)

any_id = st.text(min_size=1, max_size=100)
# Ids built from the characters that make separators ambiguous, to hunt for collisions.
tricky_id = st.text(alphabet="aws-0W.", min_size=1, max_size=40)
ids = st.one_of(any_id, tricky_id)
safe_id = st.from_regex(r"[a-z0-9]{1,6}(-[a-z0-9]{1,6}){0,2}", fullmatch=True)


@given(ids, ids)
def test_every_name_is_a_dns_label(user: str, ws: str) -> None:
    assert is_dns_label(user_namespace(user))
    assert is_dns_label(workspace_namespace(user, ws))
    assert len(workspace_namespace(user, ws)) <= 63


@given(safe_id.filter(lambda s: "-ws" not in s), safe_id)
def test_safe_ids_stay_readable(user: str, ws: str) -> None:
    assert user_namespace(user) == f"user-{user}"
    assert workspace_namespace(user, ws) == f"user-{user}-ws-{ws}"


@settings(max_examples=400)
@given(st.tuples(ids, ids), st.tuples(ids, ids))
def test_two_different_workspaces_never_share_a_name(
    a: tuple[str, str], b: tuple[str, str]
) -> None:
    if a != b:
        assert workspace_namespace(*a) != workspace_namespace(*b)


@settings(max_examples=400)
@given(ids, ids)
def test_two_different_users_never_share_a_name(a: str, b: str) -> None:
    if a != b:
        assert user_namespace(a) != user_namespace(b)
        assert user_slug(a) != user_slug(b)
        assert workspace_slug(a) != workspace_slug(b)


@given(ids, ids, ids)
def test_a_user_namespace_is_never_a_workspace_namespace(u1: str, u2: str, ws: str) -> None:
    assert user_namespace(u1) != workspace_namespace(u2, ws)


def test_the_separator_cases_that_would_collide_naively() -> None:
    # "user-a-ws-b-ws-c" could be (a-ws-b, c) or (a, b-ws-c); "a-ws" + "ws-c" likewise.
    pairs = [("a-ws-b", "c"), ("a", "b-ws-c"), ("a-ws", "ws-c"), ("a", "ws-ws-c")]
    names = {workspace_namespace(u, w) for u, w in pairs}
    assert len(names) == len(pairs)
    assert workspace_namespace("a", "b-ws-c") == "user-a-ws-b-ws-c"  # w may contain -ws-


def test_unsafe_ids_are_escaped_with_a_short_hash() -> None:
    name = user_namespace("Alice@Example.com")
    assert name.startswith("user-aliceexamplecom--")
    assert len(name.rsplit("--", 1)[1]) == 10
    assert user_namespace("alice") == "user-alice"


def test_tiers_carry_the_seed_numbers() -> None:
    free, premium = tier("free"), tier("premium")
    assert free.quotas() == {
        "workspaces": 10,
        "filesPerWorkspace": 100,
        "fileSize": 10 * MiB,
        "storageBytes": 100 * MiB,
        "vectorChunks": 10_000,
        "apiCallsPerHour": 100,
        "concurrentSessions": 3,
    }
    assert premium.quotas() == {
        "workspaces": 50,
        "filesPerWorkspace": 500,
        "fileSize": 50 * MiB,
        "storageBytes": 1 * GiB,
        "vectorChunks": 100_000,
        "apiCallsPerHour": 1_000,
        "concurrentSessions": 10,
    }
    assert (free.workspace.cpu_limit, free.workspace.memory_limit) == ("1", "2Gi")
    assert (free.workspace.cpu_request, free.workspace.memory_request) == ("250m", "512Mi")
    for name, q in premium.quotas().items():
        assert q >= free.quotas()[name]
    assert set(QUOTA_NAMES) == set(free.quotas())
    assert set(TIERS) == {"free", "premium"}
