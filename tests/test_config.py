"""Settings: TOML plus KILN_* variables, and errors that name the key and its source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiln.config import Settings, describe_settings, load_settings
from kiln.errors import ConfigError


def test_defaults_need_no_file() -> None:
    s = load_settings(environ={})
    assert (s.server.host, s.server.port) == ("127.0.0.1", 8000)
    assert s.store.path == Path("data/kiln.duckdb")


def test_the_file_is_read_and_variables_override_it(tmp_path: Path) -> None:
    f = tmp_path / "kiln.toml"
    f.write_text('[server]\nport = 9000\nhost = "0.0.0.0"\n[simulator]\nenterprises = 12\n')
    s = load_settings(f, environ={"KILN_SERVER__PORT": "9100"})
    assert (s.server.host, s.server.port, s.simulator.enterprises) == ("0.0.0.0", 9100, 12)


def test_kiln_config_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text("[simulator]\nseed = 3\n")
    assert load_settings(environ={"KILN_CONFIG": str(f)}).simulator.seed == 3


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        (
            "[server]\nport = 70000\n",
            {},
            "kiln.toml: server.port: Input should be less than or equal to 65535",
        ),
        ("[server]\nprot = 1\n", {}, "kiln.toml: server.prot: Extra inputs are not permitted"),
        (
            "",
            {"KILN_SIMULATOR__SPEED": "fast"},
            "KILN_SIMULATOR__SPEED: simulator.speed: Input should be a valid number",
        ),
        ("[server\n", {}, "kiln.toml: not valid TOML"),
    ],
)
def test_a_bad_value_names_the_key_and_its_source(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    f = tmp_path / "kiln.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(f, environ=env)
    assert str(err.value).replace(str(tmp_path) + "/", "").startswith(message)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=re.escape(f"{tmp_path}/none.toml: configuration file not found")
    ):
        load_settings(tmp_path / "none.toml", environ={})


def test_every_setting_is_described() -> None:
    rows = describe_settings()
    assert all(description for _, _, description in rows)
    sections = {k.split(".")[0] for k, _, _ in rows}
    assert sections == set(Settings.model_fields)


def test_every_setting_is_in_the_readme() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    missing = [key for key, _, _ in describe_settings() if f"`{key}`" not in readme]
    assert missing == []


def test_an_opcua_adapter_with_half_its_security_is_refused_by_name(tmp_path: Path) -> None:
    conf = tmp_path / "kiln.toml"
    conf.write_text(
        '[[ingest.opcua]]\nname = "cell"\nendpoint = "opc.tcp://plc:4840"\n'
        'enterprise = "acme-auto"\nsecurity_mode = "SignAndEncrypt"\n'
        'security_policy = "Basic256Sha256"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"ingest\.opcua\.0.*needs certificate and private_key"):
        load_settings(conf, environ={})
