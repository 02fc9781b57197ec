"""Accounts, API keys and the audit trail in the database (surveys.services.accounts, .audit).

Passwords are Argon2id at OWASP's parameters and upgraded at sign-in; nothing secret is stored
in the clear; the audit trail refuses personal data (security.md S20, P4, P6).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher, extract_parameters
from argon2 import Type as ArgonType
from sqlalchemy import Engine, select, text

import surveys.models
from surveys.db import Base, make_engine, read_session, write_session
from surveys.errors import NotFoundError
from surveys.migrate import upgrade
from surveys.models import ApiKey, AuditEntry, Role, User
from surveys.services import accounts, audit
from surveys.services.accounts import AccountError, HashingBusyError, WrongPasswordError
from tests.webapp.conftest import add_campaign, mixed_instrument

PASSWORD = "correct horse battery staple"
ACCOUNT_TABLES = ("user_account", "api_key", "audit_entry")


def add(engine: Engine, email: str = "ana@example.com", role: Role = Role.RESEARCHER) -> int:
    with write_session(engine) as session:
        accounts.add_user(session, email, role, PASSWORD)
        user = accounts.get_user(session, email)
        assert user is not None
        return user.id


def every_text(engine: Engine) -> str:
    """Every value of the account tables, as one string (to look for secrets in)."""
    with read_session(engine) as session:
        return repr(
            [
                list(row)
                for table in ACCOUNT_TABLES
                for row in session.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
            ]
        )


# Passwords ------------------------------------------------------------------------------------
def test_passwords_are_argon2id_at_owasp_parameters(engine: Engine) -> None:
    """S20: m ≥ 19 MiB, t ≥ 2, p ≥ 1; the password appears nowhere in the tables."""
    add(engine)
    with read_session(engine) as session:
        user = session.scalar(select(User))
        assert user is not None
        parameters = extract_parameters(user.password_hash)
    assert parameters.type is ArgonType.ID
    assert parameters.memory_cost >= 19 * 1024
    assert parameters.time_cost >= 2
    assert parameters.parallelism >= 1
    assert PASSWORD not in every_text(engine)


def test_sign_in_checks_and_upgrades_an_old_hash(engine: Engine) -> None:
    """A hash made with weaker parameters is replaced at the next successful sign-in."""
    user_id = add(engine)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with write_session(engine) as session:
        row = session.get(User, user_id)
        assert row is not None
        row.password_hash = weak
    assert accounts.authenticate(engine, "ana@example.com", "wrong password!") is None
    with read_session(engine) as session:
        assert session.get(User, user_id).password_hash == weak  # type: ignore[union-attr]
    account = accounts.authenticate(engine, "  ANA@example.com ", PASSWORD)
    assert account is not None
    assert account.role is Role.RESEARCHER
    with read_session(engine) as session:
        upgraded = session.get(User, user_id).password_hash  # type: ignore[union-attr]
    assert extract_parameters(upgraded).memory_cost == 19 * 1024
    assert accounts.authenticate(engine, "ana@example.com", PASSWORD) is not None


def test_unknown_disabled_and_wrong_all_fail_and_are_audited(engine: Engine) -> None:
    user_id = add(engine)
    assert accounts.authenticate(engine, "nobody@example.com", PASSWORD) is None
    assert accounts.authenticate(engine, "not an address", PASSWORD) is None
    assert accounts.authenticate(engine, "ana@example.com", "wrong password!") is None
    with write_session(engine) as session:
        accounts.disable_user(session, "ana@example.com")
    assert accounts.authenticate(engine, "ana@example.com", PASSWORD) is None
    with read_session(engine) as session:
        failed = audit.entries(session, action="login.failed")
        reasons = [(entry.subject, entry.detail["reason"]) for entry in reversed(failed)]
    ref = f"user:{user_id}"
    assert reasons == [(None, "unknown"), (None, "unknown"), (ref, "password"), (ref, "disabled")]
    assert "ana@example.com" not in every_text(engine).replace("'ana@example.com'", "", 1)


def test_password_rules_and_changes(engine: Engine) -> None:
    user_id = add(engine)
    with read_session(engine) as session:
        epoch = session.get(User, user_id).session_epoch  # type: ignore[union-attr]
    with pytest.raises(WrongPasswordError):
        accounts.change_password(engine, user_id, "not it at all", "a new long passphrase")
    with pytest.raises(AccountError, match="at least 12"):
        accounts.change_password(engine, user_id, PASSWORD, "short")
    with pytest.raises(AccountError, match="different"):
        accounts.change_password(engine, user_id, PASSWORD, PASSWORD)
    with pytest.raises(AccountError, match="not be the e-mail"):
        accounts.change_password(engine, user_id, PASSWORD, "ANA@example.com")
    changed = accounts.change_password(engine, user_id, PASSWORD, "a new long passphrase")
    assert changed.session_epoch == epoch + 1
    assert accounts.authenticate(engine, "ana@example.com", PASSWORD) is None
    assert accounts.authenticate(engine, "ana@example.com", "a new long passphrase") is not None


def test_accounts_are_unique_by_lower_cased_address(engine: Engine) -> None:
    add(engine)
    with write_session(engine) as session, pytest.raises(AccountError, match="exists already"):
        accounts.add_user(session, "ANA@Example.COM", Role.MANAGER, PASSWORD)
    for bad in (
        "ana",
        "ana@",
        "@example.com",
        "a b@example.com",
        "ana@example",
        "x" * 250 + "@e.com",
    ):
        with pytest.raises(AccountError, match="not an e-mail address"):
            accounts.normalise_email(bad)
    with write_session(engine) as session, pytest.raises(AccountError, match="unknown role"):
        accounts.add_user(session, "bo@example.com", "owner")


def test_one_time_passwords_are_random_and_must_be_changed(engine: Engine) -> None:
    with write_session(engine) as session:
        first = accounts.add_user(session, "one@example.com", Role.MANAGER)
        second = accounts.add_user(session, "two@example.com", Role.MANAGER)
    assert first.one_time
    assert first.password != second.password
    assert len(first.password) >= 16
    account = accounts.authenticate(engine, "one@example.com", first.password)
    assert account is not None
    assert account.must_change_password


def test_ending_sessions_moves_the_epoch(engine: Engine) -> None:
    user_id = add(engine)
    accounts.end_sessions(engine, user_id)
    accounts.end_sessions(engine, user_id)
    with read_session(engine) as session:
        assert session.get(User, user_id).session_epoch == 2  # type: ignore[union-attr]
        assert len(audit.entries(session, action="logout")) == 2


def test_hashing_is_bounded_per_process(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """S20: with every hashing slot taken, a sign-in is refused quickly instead of queuing up
    memory-hard work without bound."""
    add(engine)
    monkeypatch.setattr(accounts, "HASHING_WAIT_SECONDS", 0.05)
    taken = [accounts._hashing.acquire(blocking=False) for _ in range(accounts.HASHING_SLOTS)]
    try:
        assert all(taken)
        with pytest.raises(HashingBusyError):
            accounts.authenticate(engine, "ana@example.com", PASSWORD)
    finally:
        for _ in taken:
            accounts._hashing.release()
    assert accounts.authenticate(engine, "ana@example.com", PASSWORD) is not None


def test_parallel_sign_ins_all_finish(engine: Engine) -> None:
    """Twenty at once share the slots and all get their answer."""
    add(engine)
    results: list[bool] = []

    def attempt() -> None:
        results.append(accounts.authenticate(engine, "ana@example.com", PASSWORD) is not None)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 20


# API keys -------------------------------------------------------------------------------------
def test_api_keys_are_stored_hashed_and_can_be_revoked(engine: Engine) -> None:
    key = add_campaign(engine, mixed_instrument(), "hotline")
    with write_session(engine) as session:
        scoped = accounts.create_api_key(session, "Hotline", campaign_key=key)
        free = accounts.create_api_key(session, "CRM")
    assert scoped.key != free.key
    assert scoped.key.startswith(accounts.API_KEY_PREFIX)
    assert scoped.key not in every_text(engine)
    with read_session(engine) as session:
        client = accounts.find_api_client(session, scoped.key)
        assert client is not None
        assert client.campaign_key == "hotline"
        assert accounts.find_api_client(session, free.key).campaign_key is None  # type: ignore[union-attr]
        assert accounts.find_api_client(session, scoped.key + "x") is None
        assert accounts.find_api_client(session, "gmk_" + "a" * 200) is None
    with write_session(engine) as session:
        accounts.revoke_api_key(session, "Hotline")
        accounts.revoke_api_key(session, "Hotline")  # idempotent
    with read_session(engine) as session:
        assert accounts.find_api_client(session, scoped.key) is None
        row = session.scalar(select(ApiKey).where(ApiKey.name == "Hotline"))
        assert row is not None
        assert row.revoked_at is not None
        actions = [entry.action for entry in audit.entries(session, action="apikey.")]
    assert sorted(actions) == ["apikey.created", "apikey.created", "apikey.revoked"]


def test_api_key_names_and_scopes_are_checked(engine: Engine) -> None:
    with write_session(engine) as session:
        accounts.create_api_key(session, "CRM")
        with pytest.raises(AccountError, match="exists already"):
            accounts.create_api_key(session, " CRM ")
        with pytest.raises(AccountError, match="name"):
            accounts.create_api_key(session, "ops@example.com")
        with pytest.raises(NotFoundError):
            accounts.create_api_key(session, "Tablet", campaign_key="nope")
        with pytest.raises(NotFoundError):
            accounts.revoke_api_key(session, "nothing")


def test_last_use_is_written_at_most_once_a_minute(engine: Engine) -> None:
    with write_session(engine) as session:
        issued = accounts.create_api_key(session, "CRM")
    with read_session(engine) as session:
        client = accounts.find_api_client(session, issued.key)
    assert client is not None
    accounts.touch_api_key(engine, client)
    with read_session(engine) as session:
        touched = accounts.find_api_client(session, issued.key)
    assert touched is not None
    assert touched.last_used_at is not None
    accounts.touch_api_key(engine, touched)
    with read_session(engine) as session:
        again = accounts.find_api_client(session, issued.key)
    assert again is not None
    assert again.last_used_at == touched.last_used_at


# Audit ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("subject", "detail", "message"),
    [
        ("user:1", {"email": "x"}, "may not carry"),
        ("user:1", {"new_password": "x"}, "may not carry"),
        ("user:1", {"api_token": "x"}, "may not carry"),
        ("user:1", {"note": "ana@example.com"}, "no address"),
        ("user:1", {"note": "x" * 500}, "short"),
        ("user:1", {"nested": {"a": 1}}, "plain value"),  # type: ignore[dict-item]
        ("ana@example.com", {}, "reference"),
    ],
)
def test_audit_refuses_personal_data_and_secrets(
    engine: Engine, subject: str, detail: dict[str, str], message: str
) -> None:
    with write_session(engine) as session, pytest.raises(audit.AuditError, match=message):
        audit.record(session, audit.CLI, "test.event", subject, detail)


def test_audit_records_and_lists(engine: Engine) -> None:
    with write_session(engine) as session:
        audit.record(session, audit.CLI, "erasure.done", "campaign:hotline", {"responses": 3})
        audit.record(session, "user:7", "login.succeeded", "user:7")
    with read_session(engine) as session:
        newest = audit.entries(session)
        assert [entry.action for entry in newest] == ["login.succeeded", "erasure.done"]
        assert audit.entries(session, subject="campaign:hotline")[0].detail == {"responses": 3}
        assert session.scalar(select(AuditEntry.at)) is not None


# Schema ---------------------------------------------------------------------------------------
def test_the_migration_creates_the_account_tables_as_modelled(tmp_path: Path) -> None:
    """Alembic head has the three tables exactly as the models declare them."""
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)
    engine = make_engine(url)
    assert surveys.models.User.__tablename__ in ACCOUNT_TABLES
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [
            diff
            for diff in compare_metadata(context, Base.metadata)
            if any(table in repr(diff) for table in ACCOUNT_TABLES)
        ]
    engine.dispose()
    assert differences == []
