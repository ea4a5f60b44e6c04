"""The `variables:` block (declared before rendering) and the sealing of sensitive values."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lepton_cli.drivers.base import SENSITIVE
from lepton_cli.engine.sensitive import Secrets, is_seal
from lepton_cli.errors import LeptonError, PlanFileError
from lepton_cli.spec.loader import load_plan_text

PLAN = """stack: demo
variables:
  db_password: {sensitive: true}
  web_count: {default: 2, type: number, description: "web servers"}
  tag: {type: string, default: blue}
resources:
  web:
    kind: compute
    size: {cpus: 1}
    count: {{ var.web_count }}
    user_data: "export DB_PASSWORD={{ var.db_password }} TAG={{ var.tag }}"
"""


def lepton(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("lepton")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LEPTON_"))}
    return subprocess.run([str(script) if script.exists() else shutil.which("lepton"), *args], cwd=tmp_path,
                          env={**base, "NO_COLOR": "1", **(env or {})}, capture_output=True, text=True, timeout=120)


# -- declaring -----------------------------------------------------------------------------------------
def test_defaults_apply_and_given_values_win():
    loaded = load_plan_text(PLAN, variables={"db_password": "s3cret-pw"})
    assert loaded.stack.resources["web"].count == 2
    assert loaded.variables == {"db_password": "s3cret-pw", "web_count": 2, "tag": "blue"}
    assert loaded.sensitive == {"db_password"}
    assert load_plan_text(PLAN, variables={"db_password": "x1234", "web_count": 3}).stack.resources["web"].count == 3


def test_a_string_variable_takes_a_number_given_on_the_command_line_as_text():
    loaded = load_plan_text(PLAN, variables={"db_password": "s3cret-pw", "tag": 42})
    assert loaded.variables["tag"] == "42"


def test_every_variable_problem_is_reported_at_once_with_its_place():
    with pytest.raises(PlanFileError) as caught:
        load_plan_text(PLAN, variables={"db_pasword": "x", "web_count": "many"})
    text = str(caught.value)
    assert "'db_pasword' is given but not declared" in text and "did you mean 'db_password'?" in text
    assert "lepton.yaml:3:3: variable 'db_password' is declared without a default and not given" in text
    assert "variable 'web_count' must be a number, not a string" in text


def test_variables_from_the_environment_need_not_be_declared():
    loaded = load_plan_text(PLAN, variables={"db_password": "s3cret-pw", "unrelated": 1}, explicit={"db_password"})
    assert "unrelated" not in loaded.variables


def test_without_a_variables_block_any_variable_is_accepted():
    loaded = load_plan_text("stack: demo\nresources: {}\n", variables={"anything": 1})
    assert loaded.sensitive == frozenset()


@pytest.mark.parametrize("block, message", [
    ("variables:\n  pw: {sensitive: {{ 1 }}}\n", "cannot use template syntax"),
    ("variables:\n  pw: {sensitiv: true}\n", "sensitiv"),
    ("variables:\n  pw: {type: text}\n", "variables.pw.type"),
])
def test_a_bad_variables_block_is_one_readable_error(block, message):
    with pytest.raises(PlanFileError) as caught:
        load_plan_text("stack: demo\n" + block + "resources: {}\n")
    assert message in str(caught.value)


def test_a_sensitive_variable_holds_a_string_or_a_number():
    with pytest.raises(PlanFileError, match="sensitive variable 'pw' must be a string or a number, not a list"):
        load_plan_text("stack: demo\nvariables:\n  pw: {sensitive: true}\nresources: {}\n", variables={"pw": [1]})


def test_an_error_quoting_a_sensitive_value_does_not_quote_it():
    text = PLAN.replace("count: {{ var.web_count }}", "count: {{ var.db_password }}")
    with pytest.raises(PlanFileError) as caught:
        load_plan_text(text, variables={"db_password": "s3cret-pw"})
    assert "s3cret-pw" not in str(caught.value) and "(sensitive)" in str(caught.value)


# -- through the CLI -------------------------------------------------------------------------------------
def test_validate_names_an_undeclared_var_and_a_missing_one(tmp_path):
    (tmp_path / "lepton.yaml").write_text(PLAN)
    result = lepton(tmp_path, "validate", "--var", "db_pasword=x")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "did you mean 'db_password'?" in result.stderr
    assert "variable 'db_password' is declared without a default and not given" in result.stderr
    ok = lepton(tmp_path, "validate", env={"LEPTON_VAR_db_password": "s3cret-pw", "LEPTON_VAR_other": "1"})
    assert ok.returncode == 0, ok.stderr


def test_the_schema_describes_the_variables_block(tmp_path):
    schema = json.loads(lepton(tmp_path, "schema").stdout)
    text = json.dumps(schema)
    assert "variables" in schema["properties"] and "sensitive" in text


# -- sealing ---------------------------------------------------------------------------------------------
def test_a_sealed_value_holds_a_keyed_hash_and_rebuilds_only_from_the_same_secret(tmp_path):
    key = tmp_path / "demo.key"
    secrets = Secrets.of({"pw": "s3cret-pw"}, ["pw"], key)
    sealed = secrets.seal({"user_data": "export PW=s3cret-pw\n", "other": "plain", "n": [1, "s3cret-pw"]})
    assert "s3cret-pw" not in json.dumps(sealed) and sealed["other"] == "plain"
    assert is_seal(sealed["user_data"]) and key.stat().st_mode & 0o777 == 0o600
    assert Secrets.of({"pw": "s3cret-pw"}, ["pw"], key).unseal(sealed)["user_data"] == "export PW=s3cret-pw\n"
    changed = Secrets.of({"pw": "another-pw"}, ["pw"], key)
    assert is_seal(changed.unseal(sealed)["user_data"])  # compares as changed
    with pytest.raises(LeptonError, match="differs from the one the change set was planned with"):
        changed.unseal(sealed, strict=True)
    with pytest.raises(LeptonError, match="needs the sensitive variable 'pw'"):
        Secrets.of({}, ["pw"], key).unseal(sealed, strict=True)


def test_a_short_secret_marks_only_strings_equal_to_it():
    secrets = Secrets.of({"pin": "abc"}, ["pin"])
    assert secrets.redact({"a": "abc", "b": "abcdef", "c": "a"}) == {"a": SENSITIVE, "b": "abcdef", "c": "a"}
    long = Secrets.of({"pw": "s3cret-pw"}, ["pw"])
    assert long.redact(["x s3cret-pw y", "plain"]) == [SENSITIVE, "plain"]
    assert long.redact_text("failed: s3cret-pw rejected") == "failed: (sensitive) rejected"


def test_a_sensitive_number_is_sealed_and_rebuilt_as_a_number(tmp_path):
    secrets = Secrets.of({"pin": 48213}, ["pin"], tmp_path / "k.key")
    sealed = secrets.seal({"port": 48213})
    assert is_seal(sealed["port"]) and secrets.unseal(sealed) == {"port": 48213}
