"""The command-line frame, through the installed `lepton` console script: usage errors, --version,
bare `lepton`, --json errors on every command, hints, `lepton init`, shell completion, and what
`lepton --help` imports (issue 8 items 1, 3, 9, 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO

LEPTON = str(Path(sys.executable).with_name("lepton"))  # the console script pip installed
TEMPLATES = sorted(p.stem for p in (REPO / "templates").glob("*.yaml"))


def lepton(*args: str, cwd: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEPTON_", "_LEPTON", "AWS_"))}
    env.update({"NO_COLOR": "1", **(env_extra or {})})
    return subprocess.run([LEPTON, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def clean(proc: subprocess.CompletedProcess) -> None:
    """No traceback, no rich markup shown literally, no bug report asked for."""
    for stream in (proc.stdout, proc.stderr):
        assert "Traceback" not in stream
        assert "[error]" not in stream and "[hint]" not in stream and "[/]" not in stream
        assert "Internal error" not in stream


# -- usage errors ------------------------------------------------------------------------------------
USAGE_ERRORS = [
    (["plan", "--bogus"], "No such option: --bogus", "lepton plan"),
    (["bogus"], "No such command 'bogus'", "lepton"),
    (["state", "show"], "Missing argument", "lepton state show"),
    (["plan", "--parallelism", "0"], "Invalid value for '--parallelism'", "lepton plan"),
    (["apply", "--parallelism", "many"], "Invalid value for '--parallelism'", "lepton apply"),
    (["state", "bogus"], "No such command 'bogus'", "lepton state"),
    (["plan", "--file"], "requires an argument", "lepton plan"),
    (["validate", "one", "two"], "Got unexpected extra argument", "lepton validate"),
    (["sandbox", "status", "--jsn"], "No such option: --jsn", "lepton sandbox status"),
]


@pytest.mark.parametrize("argv,message,command", USAGE_ERRORS, ids=[" ".join(a) for a, _, _ in USAGE_ERRORS])
def test_a_usage_error_is_one_error_line_and_a_try_line(tmp_path, argv, message, command):
    proc = lepton(*argv, cwd=tmp_path)
    clean(proc)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("Error: ") and message in lines[0], proc.stderr
    assert f"Try '{command} --help' for help." in lines
    assert proc.stderr.count("Error:") == 1


def test_a_usage_error_with_json_is_a_json_document(tmp_path):
    proc = lepton("plan", "--json", "--bogus", cwd=tmp_path)
    clean(proc)
    assert proc.returncode == 1
    [diagnostic] = json.loads(proc.stdout)["error"]["diagnostics"]
    assert "No such option: --bogus" in diagnostic["summary"]
    assert diagnostic["hint"] == "Try 'lepton plan --help' for help."
    assert diagnostic["location"] is None


@pytest.mark.parametrize("argv", [[], ["state"], ["sandbox"]], ids=["lepton", "lepton state", "lepton sandbox"])
def test_a_group_without_a_command_prints_its_help_and_exits_0(tmp_path, argv):
    proc = lepton(*argv, cwd=tmp_path)
    clean(proc)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"Usage: {' '.join(['lepton', *argv])} [OPTIONS] COMMAND")
    assert "Commands:" in proc.stdout


def test_version(tmp_path):
    proc = lepton("--version", cwd=tmp_path)
    clean(proc)
    assert proc.returncode == 0
    assert proc.stdout == f"lepton {version('lepton-cli')}\n"


def test_debug_and_no_color_are_accepted_anywhere(tmp_path):
    proc = lepton("plan", "--bogus", "--no-color", "--debug", cwd=tmp_path)
    assert proc.returncode == 1 and "No such option: --bogus" in proc.stderr


# -- --json: one document on stdout on every error path ---------------------------------------------
INVALID_PLAN = "stack: shop\nresources:\n  b:\n    kind: bukket\n"
VALID_PLAN = "stack: shop\nresources:\n  b:\n    kind: bucket\n"

JSON_ERRORS = [
    # (argv, the plan file, whether the stack's state file is corrupt)
    (["validate"], INVALID_PLAN, False),
    (["plan"], INVALID_PLAN, False),
    (["apply", "--yes"], INVALID_PLAN, False),
    (["destroy", "--yes"], INVALID_PLAN, False),
    (["plan", "-f", "missing.yaml"], VALID_PLAN, False),
    (["output", "nope"], VALID_PLAN, False),
    (["output"], VALID_PLAN, True),
    (["show"], VALID_PLAN, True),
    (["state", "list"], VALID_PLAN, True),
    (["state", "show", "b/aws.s3_bucket"], VALID_PLAN, True),
    (["apply", "no-such-changes.json"], VALID_PLAN, False),
    (["init", "nope"], VALID_PLAN, False),
]


@pytest.mark.parametrize("argv,plan,corrupt_state", JSON_ERRORS, ids=[" ".join(a) for a, _, _ in JSON_ERRORS])
def test_json_errors_are_one_json_document_on_stdout(tmp_path, argv, plan, corrupt_state):
    (tmp_path / "lepton.yaml").write_text(plan)
    if corrupt_state:
        (tmp_path / ".lepton").mkdir()
        (tmp_path / ".lepton" / "shop.state.json").write_text("{not json")
    proc = lepton(*argv, "--json", cwd=tmp_path)
    clean(proc)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    document = json.loads(proc.stdout)  # exactly one document: json.loads refuses trailing data
    diagnostics = document["error"]["diagnostics"]
    assert diagnostics and all(d["summary"] for d in diagnostics)
    for d in diagnostics:
        assert set(d) == {"summary", "detail", "location", "path", "address", "hint"}
        assert d["location"] is None or set(d["location"]) == {"file", "line", "column"}


def test_validate_json_keeps_valid_false_beside_the_common_error_shape(tmp_path):
    (tmp_path / "lepton.yaml").write_text(INVALID_PLAN)
    document = json.loads(lepton("validate", "--json", cwd=tmp_path).stdout)
    assert document["valid"] is False and document["diagnostics"] == document["error"]["diagnostics"]
    [d] = document["diagnostics"]
    assert d["location"]["file"].endswith("lepton.yaml") and d["location"]["line"] == 4


# -- hints are hints ---------------------------------------------------------------------------------
def test_a_remedy_is_an_indented_hint_not_a_second_error(tmp_path):
    (tmp_path / "lepton.yaml").write_text(VALID_PLAN)
    proc = lepton("init", cwd=tmp_path)
    clean(proc)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["Error: lepton.yaml already exists; nothing was written",
                                        "  `lepton init --force` overwrites it"]


# -- lepton init -------------------------------------------------------------------------------------
@pytest.mark.parametrize("template", TEMPLATES)
def test_init_then_validate(tmp_path, template):
    made = lepton("init", template, cwd=tmp_path)
    clean(made)
    assert made.returncode == 0, made.stderr
    assert f"Wrote lepton.yaml from the {template} template" in made.stdout
    assert (tmp_path / "lepton.yaml").read_text() == (REPO / "templates" / f"{template}.yaml").read_text()
    checked = lepton("validate", "--json", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["valid"] is True


def test_init_refuses_to_overwrite_without_force_and_names_the_stack(tmp_path):
    assert lepton("init", cwd=tmp_path).returncode == 0
    (tmp_path / "lepton.yaml").write_text("# mine\n")
    refused = lepton("init", "gpu", cwd=tmp_path)
    assert refused.returncode == 1 and "already exists" in refused.stderr
    assert (tmp_path / "lepton.yaml").read_text() == "# mine\n"
    forced = lepton("init", "static-site", "--force", "--stack", "my-site", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    document = json.loads(lepton("validate", "--json", cwd=tmp_path).stdout)
    assert document["valid"] is True and document["stack"] == "my-site"
    bad = lepton("init", "--stack", "My_Site", "-f", "other.yaml", cwd=tmp_path)
    assert bad.returncode == 1 and "not a valid stack name" in bad.stderr
    assert not (tmp_path / "other.yaml").exists()


def test_init_list_and_an_unknown_template(tmp_path):
    listed = lepton("init", "--list", cwd=tmp_path)
    assert listed.returncode == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == TEMPLATES
    assert json.loads(lepton("init", "--list", "--json", cwd=tmp_path).stdout)["templates"][0]["description"]
    typo = lepton("init", "gpus", cwd=tmp_path)
    clean(typo)
    assert typo.returncode == 1 and "no template named 'gpus'" in typo.stderr
    assert "  did you mean 'gpu'?" in typo.stderr.splitlines()
    assert not (tmp_path / "lepton.yaml").exists()


def test_the_wheel_carries_the_templates(tmp_path):
    """`lepton init` works from a non-editable install: the templates are package data."""
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    [wheel] = tmp_path.glob("lepton_cli-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"lepton_cli/templates/{t}.yaml" for t in TEMPLATES} <= names


# -- shell completion --------------------------------------------------------------------------------
def test_shell_completion(tmp_path):
    """`--install-completion`/`--show-completion` detect the user's shell from the process tree,
    which a test runner's tree may not show; the script they install is the one click prints for
    `_LEPTON_COMPLETE=source_bash`, so that is what is checked, plus that the options exist."""
    assert "--install-completion" in lepton("--help", cwd=tmp_path).stdout
    script = lepton(cwd=tmp_path, env_extra={"_LEPTON_COMPLETE": "source_bash"})
    assert script.returncode == 0, script.stderr
    assert "_LEPTON_COMPLETE" in script.stdout
    completed = lepton(cwd=tmp_path, env_extra={"_LEPTON_COMPLETE": "complete_bash",
                                                "COMP_WORDS": "lepton pl", "COMP_CWORD": "1"})
    assert completed.stdout.split() == ["plan"]


# -- start-up: --help and --version import only what they print -------------------------------------
HEAVY = ("lepton_cli.api", "lepton_cli.engine", "lepton_cli.spec", "lepton_cli.drivers", "lepton_cli.state",
         "pydantic", "boto3", "botocore", "jinja2", "yaml")


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_help_and_version_import_only_what_they_print(argv):
    code = (
        "import sys\n"
        "from lepton_cli.cli.main import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "sys.stderr.write('\\n'.join(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    loaded = proc.stderr.split()
    assert "lepton_cli.cli.main" in loaded  # the check itself works
    heavy = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert not heavy, heavy


def test_the_lazy_default_plan_file_is_the_apis():
    from lepton_cli import api
    from lepton_cli.cli.lazy import DEFAULT_PLAN_FILE

    assert DEFAULT_PLAN_FILE == api.DEFAULT_PLAN_FILE


# -- a bug in lepton ---------------------------------------------------------------------------------
@pytest.mark.parametrize("json_flag", [False, True], ids=["human", "json"])
def test_an_internal_error_is_one_plain_line_never_markup(json_flag):
    code = (
        "from lepton_cli.cli import main as m\n"
        "@m.app.command('boom')\n"
        "def boom(json: bool = False):\n"
        "    raise RuntimeError('[bold]not markup[/]')\n"
        f"m.main(['boom'] + (['--json'] if {json_flag!r} else []))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NO_COLOR": "1"})
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["Internal error: RuntimeError: [bold]not markup[/]",
                                        "  Run again with --debug for the traceback, and please report it."]
    if json_flag:
        [d] = json.loads(proc.stdout)["error"]["diagnostics"]
        assert d["summary"] == "RuntimeError: [bold]not markup[/]"
    else:
        assert proc.stdout == ""
