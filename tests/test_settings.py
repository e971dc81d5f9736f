"""Settings, read once from an environment mapping (contract section 8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bank_adapter.settings import FILE_KEYS, Settings, SettingsError


def test_defaults():
    settings = Settings.from_env({})

    assert settings == Settings(
        database_url="sqlite:///var/bank-adapter.db",
        partners_dir=Path("partners"),
        signing_key_file=None,
        signing_kid="adapter-1",
        admin_token=None,
        host="127.0.0.1",
        port=8080,
        sandbox=False,
        otp_key=None,
        var_dir=Path("var"),
        fees_file=Path("fees.toml"),
        max_body_bytes=64 * 1024,
        internal_max_body_bytes=8 * 1024 * 1024,
        max_clock_skew_s=300,
        message_retention_days=7,
        db_busy_timeout_s=5.0,
        tls_cert_file=None,
        tls_key_file=None,
        tls_client_ca_file=None,
        extra_public_keys=(),
    )


def test_every_variable():
    settings = Settings.from_env(
        {
            "BANK_ADAPTER_DATABASE_URL": "postgresql://u:p@db:5432/adapter",
            "BANK_ADAPTER_PARTNERS_DIR": "/etc/bank-adapter/partners",
            "BANK_ADAPTER_SIGNING_KEY": "/run/secrets/adapter.key.pem",
            "BANK_ADAPTER_SIGNING_KID": "adapter-2027-01",
            "BANK_ADAPTER_ADMIN_TOKEN": "s3cret",
            "BANK_ADAPTER_HOST": "10.0.0.5",
            "BANK_ADAPTER_PORT": "9443",
            "BANK_ADAPTER_SANDBOX": "1",
            "BANK_ADAPTER_OTP_KEY": "otp-secret",
            "BANK_ADAPTER_VAR_DIR": "/var/lib/bank-adapter",
            "BANK_ADAPTER_FEES_FILE": "/etc/bank-adapter/fees.toml",
            "BANK_ADAPTER_MAX_BODY_BYTES": "131072",
            "BANK_ADAPTER_INTERNAL_MAX_BODY_BYTES": "2097152",
            "BANK_ADAPTER_MAX_CLOCK_SKEW": "120",
            "BANK_ADAPTER_MESSAGE_RETENTION_DAYS": "30",
            "BANK_ADAPTER_DB_BUSY_TIMEOUT_MS": "2500",
            "BANK_ADAPTER_TLS_CERT": "/etc/tls/cert.pem",
            "BANK_ADAPTER_TLS_KEY": "/etc/tls/key.pem",
            "BANK_ADAPTER_TLS_CLIENT_CA": "/etc/tls/banks-ca.pem",
            "BANK_ADAPTER_EXTRA_PUBLIC_KEYS": "adapter-2026-01=/keys/a.pem, adapter-2025-07=b.pem",
        }
    )

    assert settings == Settings(
        database_url="postgresql://u:p@db:5432/adapter",
        partners_dir=Path("/etc/bank-adapter/partners"),
        signing_key_file=Path("/run/secrets/adapter.key.pem"),
        signing_kid="adapter-2027-01",
        admin_token="s3cret",
        host="10.0.0.5",
        port=9443,
        sandbox=True,
        otp_key=b"otp-secret",
        var_dir=Path("/var/lib/bank-adapter"),
        fees_file=Path("/etc/bank-adapter/fees.toml"),
        max_body_bytes=131072,
        internal_max_body_bytes=2097152,
        max_clock_skew_s=120,
        message_retention_days=30,
        db_busy_timeout_s=2.5,
        tls_cert_file=Path("/etc/tls/cert.pem"),
        tls_key_file=Path("/etc/tls/key.pem"),
        tls_client_ca_file=Path("/etc/tls/banks-ca.pem"),
        extra_public_keys=(
            ("adapter-2026-01", Path("/keys/a.pem")),
            ("adapter-2025-07", Path("b.pem")),
        ),
    )


def test_the_default_database_lives_in_the_var_dir():
    settings = Settings.from_env({"BANK_ADAPTER_VAR_DIR": "/data"})
    assert settings.database_url == "sqlite:////data/bank-adapter.db"


def test_empty_ordinary_variables_count_as_unset():
    env = {
        name: ""
        for name in [
            "BANK_ADAPTER_PORT", "BANK_ADAPTER_SANDBOX", "BANK_ADAPTER_HOST",
            "BANK_ADAPTER_PARTNERS_DIR", "BANK_ADAPTER_SIGNING_KID", "BANK_ADAPTER_VAR_DIR",
        ]
    }  # fmt: skip
    assert Settings.from_env(env) == Settings.from_env({})


def test_other_variables_are_ignored():
    env = {"DATABASE_URL": "postgresql://x/y", "PORT": "1", "bank_adapter_port": "1"}
    assert Settings.from_env(env) == Settings.from_env({})


def test_settings_are_frozen():
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True), ("true", True), ("TRUE", True), ("yes", True), ("Yes", True),
        ("0", False), ("false", False), ("no", False), ("False", False),
    ],
)  # fmt: skip
def test_flags(value, expected):
    assert Settings.from_env({"BANK_ADAPTER_SANDBOX": value}).sandbox is expected


@pytest.mark.parametrize("value", ["2", "on", "off", "y", "sandbox", " 1", "1.0"])
def test_bad_flag_names_the_variable(value):
    with pytest.raises(SettingsError, match="BANK_ADAPTER_SANDBOX"):
        Settings.from_env({"BANK_ADAPTER_SANDBOX": value})


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("PORT", 0, 65535),
        ("MAX_BODY_BYTES", 1024, 16 * 1024 * 1024),
        ("INTERNAL_MAX_BODY_BYTES", 1024, 64 * 1024 * 1024),
        ("MAX_CLOCK_SKEW", 1, 86_400),
        ("MESSAGE_RETENTION_DAYS", 7, 3650),
        ("DB_BUSY_TIMEOUT_MS", 1, 600_000),
        ("WORKERS", 1, 64),
        ("ADMIN_PORT", 1, 65535),
    ],
)
def test_integer_bounds(name, low, high):
    variable = f"BANK_ADAPTER_{name}"
    for good in (low, high):
        Settings.from_env({variable: str(good)})
    for bad in (str(low - 1), str(high + 1), "eighty", "80.5", "0x50", "1e3"):
        with pytest.raises(SettingsError, match=variable) as refused:
            Settings.from_env({variable: bad})
        assert bad in str(refused.value)


@pytest.mark.parametrize("value", ["adapter-1", "=/keys/a.pem", "adapter-1=", "a=/x.pem,,b=/y.pem"])
def test_bad_extra_public_keys_name_the_variable(value):
    with pytest.raises(SettingsError, match="BANK_ADAPTER_EXTRA_PUBLIC_KEYS"):
        Settings.from_env({"BANK_ADAPTER_EXTRA_PUBLIC_KEYS": value})


def test_retention_can_not_go_under_seven_days():
    """The contract keeps seen MessageIds at least 7 days."""
    with pytest.raises(SettingsError, match="BANK_ADAPTER_MESSAGE_RETENTION_DAYS"):
        Settings.from_env({"BANK_ADAPTER_MESSAGE_RETENTION_DAYS": "6"})


@pytest.mark.parametrize(
    ("name", "attribute", "expected"),
    [
        ("ADMIN_TOKEN", "admin_token", "token-from-file"),
        ("OTP_KEY", "otp_key", b"token-from-file"),
    ],
)
def test_secrets_from_files(tmp_path, name, attribute, expected):
    secret = tmp_path / "secret"
    secret.write_text("token-from-file\n")  # the trailing newline of `echo` is not the secret

    settings = Settings.from_env({f"BANK_ADAPTER_{name}_FILE": str(secret)})

    assert getattr(settings, attribute) == expected


@pytest.mark.parametrize("name", ["ADMIN_TOKEN", "OTP_KEY", "DATABASE_URL"])
def test_a_secret_given_twice_is_refused(tmp_path, name):
    """Which of the two counts would be a guess; the operator says which."""
    secret = tmp_path / "secret"
    secret.write_text("from-file")
    env = {f"BANK_ADAPTER_{name}": "direct", f"BANK_ADAPTER_{name}_FILE": str(secret)}
    with pytest.raises(SettingsError, match=f"BANK_ADAPTER_{name} and BANK_ADAPTER_{name}_FILE"):
        Settings.from_env(env)


@pytest.mark.parametrize("name", ["ADMIN_TOKEN", "OTP_KEY", "DATABASE_URL"])
def test_an_unreadable_secret_file_names_the_variable(tmp_path, name):
    missing = tmp_path / "missing"
    with pytest.raises(SettingsError, match=f"BANK_ADAPTER_{name}_FILE") as refused:
        Settings.from_env({f"BANK_ADAPTER_{name}_FILE": str(missing)})
    assert str(missing) in str(refused.value)


def test_the_database_url_from_a_file(tmp_path):
    """It holds the PostgreSQL password, so it can come from a secrets mount too."""
    secret = tmp_path / "database-url"
    secret.write_text("postgresql://adapter:pw@db:5432/adapter\n")
    settings = Settings.from_env({"BANK_ADAPTER_DATABASE_URL_FILE": str(secret)})
    assert settings.database_url == "postgresql://adapter:pw@db:5432/adapter"


def test_a_secret_file_error_does_not_show_the_secret(tmp_path):
    directory = tmp_path / "a-directory"
    directory.mkdir()
    with pytest.raises(SettingsError, match="BANK_ADAPTER_ADMIN_TOKEN_FILE"):
        Settings.from_env({"BANK_ADAPTER_ADMIN_TOKEN_FILE": str(directory)})


@pytest.mark.parametrize(
    "env",
    [
        {"BANK_ADAPTER_TLS_KEY": "/etc/tls/key.pem"},
        {"BANK_ADAPTER_TLS_CLIENT_CA": "/etc/tls/ca.pem"},
        {"BANK_ADAPTER_TLS_KEY": "/etc/tls/key.pem", "BANK_ADAPTER_TLS_CLIENT_CA": "/ca.pem"},
    ],
)
def test_tls_settings_without_a_certificate_are_refused(env):
    """Otherwise the service would quietly serve plain HTTP, client certificates unchecked."""
    with pytest.raises(SettingsError, match="BANK_ADAPTER_TLS_CERT"):
        Settings.from_env(env)


def test_a_certificate_alone_is_enough_for_tls():
    settings = Settings.from_env({"BANK_ADAPTER_TLS_CERT": "/etc/tls/both.pem"})
    assert settings.tls_cert_file == Path("/etc/tls/both.pem")
    assert settings.tls_key_file is None


# --- fail closed: a secret that is set but empty is a mistake, never "no secret" ----------

SECRET_VARIABLES = [
    "BANK_ADAPTER_ADMIN_TOKEN", "BANK_ADAPTER_OTP_KEY", "BANK_ADAPTER_DATABASE_URL",
    "BANK_ADAPTER_ADMIN_TOKEN_FILE", "BANK_ADAPTER_OTP_KEY_FILE", "BANK_ADAPTER_DATABASE_URL_FILE",
    "BANK_ADAPTER_SIGNING_KEY", "BANK_ADAPTER_TLS_CERT", "BANK_ADAPTER_TLS_KEY",
    "BANK_ADAPTER_TLS_CLIENT_CA",
]  # fmt: skip
BLANKS = ["", " ", "\t", "\n", " \r\n "]


@pytest.mark.parametrize("variable", SECRET_VARIABLES)
@pytest.mark.parametrize("blank", BLANKS)
def test_a_blank_secret_variable_is_refused_naming_it(variable, blank):
    env = {variable: blank, "BANK_ADAPTER_TLS_CERT": "/etc/tls/cert.pem"} | {variable: blank}
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    message = str(refused.value)
    assert message.startswith(variable + " ")
    assert "\n" not in message


@pytest.mark.parametrize("name", ["ADMIN_TOKEN", "OTP_KEY", "DATABASE_URL"])
@pytest.mark.parametrize("content", BLANKS)
def test_a_blank_secret_file_is_refused_naming_the_variable(tmp_path, name, content):
    secret = tmp_path / "secret"
    secret.write_text(content)
    with pytest.raises(SettingsError, match=f"^BANK_ADAPTER_{name}_FILE: ") as refused:
        Settings.from_env({f"BANK_ADAPTER_{name}_FILE": str(secret)})
    assert "empty" in str(refused.value)


def test_a_secret_file_that_is_not_text_is_refused(tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"\xff\xfe\x00token")
    with pytest.raises(SettingsError, match=r"^BANK_ADAPTER_ADMIN_TOKEN_FILE: "):
        Settings.from_env({"BANK_ADAPTER_ADMIN_TOKEN_FILE": str(secret)})


def test_a_secret_with_surrounding_spaces_is_kept_as_given():
    settings = Settings.from_env({"BANK_ADAPTER_ADMIN_TOKEN": " tok "})
    assert settings.admin_token == " tok "


# --- the optional config file (contract section 8) -----------------------------------------


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    config = tmp_path / "bank-adapter.toml"
    config.write_text(text)
    return {"BANK_ADAPTER_CONFIG": str(config)}


def test_the_config_file_holds_the_same_settings(tmp_path):
    token = tmp_path / "token"
    token.write_text("file-token\n")
    env = write_config(
        tmp_path,
        'database_url = "postgresql://u:p@db:5432/adapter"\n'
        f'admin_token_file = "{token}"\n'
        'otp_key = "otp-secret"\n'
        "port = 9443\n"
        "sandbox = true\n"
        'partners_dir = "/etc/bank-adapter/partners"\n'
        "max_clock_skew = 120\n",
    )
    settings = Settings.from_env(env)
    assert settings.database_url == "postgresql://u:p@db:5432/adapter"
    assert settings.admin_token == "file-token"
    assert settings.otp_key == b"otp-secret"
    assert settings.port == 9443
    assert settings.sandbox is True
    assert settings.partners_dir == Path("/etc/bank-adapter/partners")
    assert settings.max_clock_skew_s == 120


def test_the_environment_overrides_the_config_file(tmp_path):
    env = write_config(tmp_path, 'port = 9443\nhost = "10.0.0.5"\nadmin_token = "from-file"\n')
    env |= {"BANK_ADAPTER_PORT": "8443", "BANK_ADAPTER_HOST": ""}
    settings = Settings.from_env(env)
    assert settings.port == 8443
    assert settings.host == "10.0.0.5"  # an empty ordinary variable is unset: the file's value
    assert settings.admin_token == "from-file"


def test_a_secret_variable_replaces_both_forms_in_the_file(tmp_path):
    token = tmp_path / "token"
    token.write_text("from-env-file")
    env = write_config(tmp_path, 'admin_token = "from-file"\n')
    env["BANK_ADAPTER_ADMIN_TOKEN_FILE"] = str(token)
    assert Settings.from_env(env).admin_token == "from-env-file"


def test_an_empty_secret_in_the_environment_does_not_fall_back_to_the_file(tmp_path):
    env = write_config(tmp_path, 'admin_token = "from-file"\n')
    env["BANK_ADAPTER_ADMIN_TOKEN"] = ""
    with pytest.raises(SettingsError, match=r"^BANK_ADAPTER_ADMIN_TOKEN is set but empty"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ('admin_token = ""', "BANK_ADAPTER_ADMIN_TOKEN"),
        ('admin_token = "   "', "BANK_ADAPTER_ADMIN_TOKEN"),
        ('otp_key = ""', "BANK_ADAPTER_OTP_KEY"),
        ('signing_key = ""', "BANK_ADAPTER_SIGNING_KEY"),
        ('database_url_file = " "', "BANK_ADAPTER_DATABASE_URL_FILE"),
    ],
)
def test_blank_secrets_in_the_file_are_refused_like_variables(tmp_path, line, named):
    with pytest.raises(SettingsError, match=f"^{named} is set but empty"):
        Settings.from_env(write_config(tmp_path, line + "\n"))


def test_unknown_keys_in_the_config_file_are_refused_naming_them(tmp_path):
    env = write_config(tmp_path, 'prot = 8080\nadmin_tokn = "x"\nhost = "h"\n')
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    message = str(refused.value)
    assert message == f"{env['BANK_ADAPTER_CONFIG']}: unknown setting(s) admin_tokn, prot"


@pytest.mark.parametrize(
    "text",
    ["port = 1.5\n", "[database]\nurl = 'x'\n", "sandbox = [1]\n", "port = 'eighty'\n"],
)
def test_config_values_of_the_wrong_kind_are_refused(tmp_path, text):
    with pytest.raises(SettingsError):
        Settings.from_env(write_config(tmp_path, text))


@pytest.mark.parametrize("text", ["port = \n", "\xff"])
def test_a_config_file_that_does_not_parse_is_named(tmp_path, text):
    env = write_config(tmp_path, text)
    with pytest.raises(
        SettingsError, match=r"^BANK_ADAPTER_CONFIG: cannot read .*bank-adapter.toml"
    ):
        Settings.from_env(env)


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(SettingsError, match=r"^BANK_ADAPTER_CONFIG: cannot read"):
        Settings.from_env({"BANK_ADAPTER_CONFIG": str(tmp_path / "missing.toml")})


def test_an_empty_config_variable_is_refused():
    with pytest.raises(SettingsError, match=r"^BANK_ADAPTER_CONFIG is set but empty"):
        Settings.from_env({"BANK_ADAPTER_CONFIG": " "})


def test_the_config_file_keys_are_every_setting_but_the_config_itself():
    assert "config" not in FILE_KEYS
    assert {"admin_token", "admin_token_file", "port", "tls_client_ca", "fees_file"} <= FILE_KEYS


def test_the_admin_listener_is_off_unless_its_port_is_set():
    settings = Settings.from_env({})
    assert (settings.admin_host, settings.admin_port, settings.admin_address) == (None, None, None)


def test_the_admin_listener_shares_the_host_unless_given_its_own():
    env = {"BANK_ADAPTER_HOST": "10.0.0.1", "BANK_ADAPTER_ADMIN_PORT": "9090"}
    assert Settings.from_env(env).admin_address == ("10.0.0.1", 9090)
    env["BANK_ADAPTER_ADMIN_HOST"] = "10.0.0.5"
    assert Settings.from_env(env).admin_address == ("10.0.0.5", 9090)


@pytest.mark.parametrize("port", [None, "9443"])
def test_an_admin_port_equal_to_the_port_is_refused(port):
    env = {"BANK_ADAPTER_ADMIN_PORT": port or "8080"} | (
        {"BANK_ADAPTER_PORT": port} if port else {}
    )
    with pytest.raises(
        SettingsError, match=r"^BANK_ADAPTER_ADMIN_PORT: \d+ is also BANK_ADAPTER_PORT"
    ):
        Settings.from_env(env)


def test_an_admin_host_without_an_admin_port_is_refused():
    with pytest.raises(SettingsError, match="BANK_ADAPTER_ADMIN_HOST is set without"):
        Settings.from_env({"BANK_ADAPTER_ADMIN_HOST": "10.0.0.5"})


def test_workers_and_the_admin_listener_come_from_the_config_file_too(tmp_path):
    config = tmp_path / "bank-adapter.toml"
    config.write_text('workers = 4\nadmin_host = "10.0.0.5"\nadmin_port = 9090\n')
    settings = Settings.from_env({"BANK_ADAPTER_CONFIG": str(config)})
    assert (settings.workers, settings.admin_address) == (4, ("10.0.0.5", 9090))
