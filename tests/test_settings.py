"""Settings: defaults, validation, and the messages that name the variable at fault."""

from __future__ import annotations

import pytest

from console_users.settings import DEFAULT_DATABASE_URL, Settings, SettingsError, SmtpSecurity, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in ("DATABASE_URL", "SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_SECURITY",
                 "MAIL_FROM", "CONSOLE_URL", "INVITATION_TTL_SECONDS", "SESSION_COOKIE_SECURE", "GRAPHIQL"):
        monkeypatch.delenv(name, raising=False)
    # The .env lookup is relative to the working directory.
    monkeypatch.chdir(tmp_path)


def test_defaults_are_embedded_and_safe() -> None:
    settings = load_settings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.smtp_host is None
    assert settings.invitation_ttl_seconds == 604800
    assert settings.session_cookie_secure is True
    assert settings.session_cookie_name == "__Host-session"


def test_insecure_cookie_drops_host_prefix() -> None:
    assert load_settings(session_cookie_secure=False).session_cookie_name == "session"


def test_dotenv_file_is_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".env").write_text("SMTP_HOST=mail.example.com\nSMTP_SECURITY=tls\n", encoding="utf-8")
    settings = load_settings()
    assert settings.smtp_host == "mail.example.com"
    assert settings.smtp_security is SmtpSecurity.TLS


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SMTP_PORT", "abc"),
        ("SMTP_PORT", "70000"),
        ("SMTP_SECURITY", "ssl"),
        ("DATABASE_URL", "mysql://db/console"),
        ("CONSOLE_URL", "console.example.com"),
        ("INVITATION_TTL_SECONDS", "10"),
        ("SESSION_COOKIE_SECURE", "maybe"),
        ("MAIL_FROM", "nobody"),
    ],
)
def test_bad_value_names_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert variable in str(raised.value)


def test_smtp_login_requires_encryption(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_USERNAME", "mailer")
    monkeypatch.setenv("SMTP_SECURITY", "none")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "SMTP_SECURITY" in str(raised.value)


def test_smtp_password_is_masked() -> None:
    settings = Settings(smtp_password="hunter2-hunter2", smtp_security=SmtpSecurity.TLS)  # type: ignore[arg-type]
    assert "hunter2" not in repr(settings)
