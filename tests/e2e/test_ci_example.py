"""examples/ci/: the GitHub Actions workflow and its plan, checked as a CI run would use them.

Every `lepton ...` line of the workflow is parsed by the CLI's own parser (so a typo'd option or
value in the example fails here, not in a user's first CI run), and the pull-request and merge
steps are run end to end against the sandbox, with the workflow's own command lines.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest
import yaml

from tests.e2e.conftest import REPO

CI = REPO / "examples" / "ci"
WORKFLOW = CI / ".github" / "workflows" / "lepton.yml"
SECRET = "tok-5d1e-never-printed"


def load_workflow(text: str | None = None) -> dict:
    return yaml.safe_load(WORKFLOW.read_text() if text is None else text)


def lepton_commands(workflow: dict) -> list[tuple[str, str, list[str]]]:
    """(job, step name, argv after `lepton`) for every lepton command in a `run:` block, with the
    workflow's and the step's `env` expanded; a command ends at the first shell operator."""
    found = []
    for job_name, job in workflow["jobs"].items():
        for step in job["steps"]:
            if "run" not in step:
                continue
            env = {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}
            for line in step["run"].replace("\\\n", " ").splitlines():
                lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
                lexer.whitespace_split = True
                tokens = list(lexer)
                for i, token in enumerate(tokens):
                    if token == "lepton" and (i == 0 or _is_operator(tokens[i - 1])):
                        argv = []
                        for arg in tokens[i + 1:]:
                            if _is_operator(arg):
                                break
                            argv.append(_expand(arg, env))
                        found.append((job_name, step.get("name", step["run"][:40]), argv))
    return found


def _is_operator(token: str) -> bool:
    return bool(token) and all(c in "();<>|&" for c in token)


def _expand(arg: str, env: dict) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: str(env.get(m.group(1), m.group(0))), arg)


def parse(argv: list[str]):
    """Parse a command line exactly as `lepton` would (global flags anywhere, then click),
    running nothing; a usage error raises click's exception."""
    import typer

    from lepton_cli.cli.main import GLOBAL_FLAGS, app

    command = typer.main.get_command(app)
    ctx = command.make_context("lepton", [a for a in argv if a not in GLOBAL_FLAGS])
    while hasattr(command, "resolve_command"):
        args = [*ctx._protected_args, *ctx.args]  # a group keeps its subcommand's name apart
        if not args:
            break
        name, command, rest = command.resolve_command(ctx, args)
        ctx = command.make_context(name, rest, parent=ctx)
    assert not hasattr(command, "resolve_command"), f"`lepton {' '.join(argv)}` names no command"
    return ctx


# -- the workflow file --------------------------------------------------------------------------

def test_the_workflow_parses_and_has_the_ci_essentials():
    workflow = load_workflow()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"pull_request", "push"} <= set(triggers)
    plan, apply = workflow["jobs"]["plan"], workflow["jobs"]["apply"]
    for job in (plan, apply):
        assert job["permissions"]["id-token"] == "write"
        uses = [step.get("uses", "") for step in job["steps"]]
        assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
        creds = next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure"))
        assert "role-to-assume" in creds["with"]
    assert apply["concurrency"]["cancel-in-progress"] is False
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") for s in plan["steps"])
    # pinned to the lepton these tests run
    from importlib.metadata import version

    assert workflow["env"]["LEPTON_VERSION"] == version("lepton-cli")
    installs = [s["run"] for job in (plan, apply) for s in job["steps"] if "pip install" in s.get("run", "")]
    assert installs and all("==${LEPTON_VERSION}" in run for run in installs)
    # secrets reach lepton only as LEPTON_VAR_* from repository secrets, never on a command line
    for job in (plan, apply):
        for step in job["steps"]:
            assert "secrets." not in step.get("run", "")
            for name, value in step.get("env", {}).items():
                if "secrets." in str(value) and name not in {"GH_TOKEN", "LEPTON_STACK_KEY"}:
                    assert name.startswith("LEPTON_VAR_")


def test_every_lepton_command_in_the_workflow_is_accepted_by_the_cli():
    commands = lepton_commands(load_workflow())
    plans = [argv for _, _, argv in commands if "plan" in argv]
    applies = [argv for _, _, argv in commands if "apply" in argv]
    assert plans and applies
    assert any({"--detailed-exitcode", "-o", "--format"} <= set(argv) for argv in plans)
    for job, step, argv in commands:
        assert "--no-color" in argv, f"{job}/{step}: lepton {' '.join(argv)}"
        parse(argv)  # raises on a usage error
    # none was missed (one written where this reader does not look would go unchecked)
    scripts = "\n".join(s.get("run", "") for job in load_workflow()["jobs"].values() for s in job["steps"])
    assert scripts.count("lepton --no-color") == len(commands)


@pytest.mark.parametrize("typo, replacement", [
    ("--detailed-exitcode", "--detailed-exit-code"),  # an unknown option
    ("--format markdown", "--format markdwon"),       # a value the option refuses
    ("apply saved/changes.json --yes", "aply saved/changes.json --yes"),  # an unknown command
    ("--yes", "--yes --parallelism 0"),               # a value out of range
])
def test_a_typo_in_a_workflow_command_fails_the_check(typo, replacement):
    text = WORKFLOW.read_text()
    assert typo in text
    commands = lepton_commands(load_workflow(text.replace(typo, replacement)))
    with pytest.raises(Exception) as caught:
        for _, _, argv in commands:
            parse(argv)
    assert type(caught.value).__name__ in {"NoSuchOption", "BadParameter", "UsageError"}


def test_the_example_plan_validates(lepton):
    """With the CI secret given as the workflow gives it; without it, the error names the variable."""
    missing = lepton("validate", "-f", str(CI / "lepton.yaml"), check=1)
    assert "LEPTON_VAR_api_token" in missing.stderr
    lepton.env["LEPTON_VAR_api_token"] = SECRET
    result = lepton("validate", "-f", str(CI / "lepton.yaml"))
    assert "is valid: stack ci-demo" in result.stdout


# -- the workflow's steps, run against the sandbox ------------------------------------------------

STATE_BUCKET = "acme-lepton-state"  # the example's `backend:` bucket, made in the sandbox's S3


def _step(name: str) -> dict:
    workflow = load_workflow()
    steps = [s for job in workflow["jobs"].values() for s in job["steps"] if s.get("name") == name]
    assert steps, f"no step {name!r} in the workflow"
    return steps[0]


def _step_commands(step_name: str) -> list[list[str]]:
    commands = [argv for _, step, argv in lepton_commands(load_workflow()) if step == step_name]
    assert commands, f"no lepton command in step {step_name!r}"
    return commands


class Runner:
    """A fresh CI runner's checkout at one path (GitHub checks a repository out at the same path
    on every runner, and a change set names its plan file by that path)."""

    def __init__(self, lepton, key: str):
        self.lepton, self.key = lepton, key

    def fresh(self, *, restore_key: bool = True):
        """Wipe the checkout, as a new runner starts, and run the workflow's key step."""
        shutil.rmtree(self.lepton.cwd)
        self.lepton.cwd.mkdir()
        shutil.copy(CI / "lepton.yaml", self.lepton.cwd / "lepton.yaml")
        if restore_key:
            step = _step("Restore the stack's key")
            subprocess.run(["bash", "-e", "-c", step["run"]], cwd=self.lepton.cwd, check=True,
                           env={**self.lepton.env, "LEPTON_STACK_KEY": self.key})
            # --sandbox keeps its local files in .lepton/sandbox/, a real run in .lepton/
            sandbox_dir = self.lepton.cwd / ".lepton" / "sandbox"
            sandbox_dir.mkdir()
            (self.lepton.cwd / ".lepton" / "ci-demo.key").rename(sandbox_dir / "ci-demo.key")

    def download_artifact(self, changes: str) -> None:
        (self.lepton.cwd / "saved").mkdir()
        (self.lepton.cwd / "saved" / "changes.json").write_text(changes)


@pytest.fixture
def runner(lepton, sandbox_aws):
    """The example plan as is, its state in the sandbox's S3 (the bucket made first, as lepton
    never makes it), the CI secrets as the workflow passes them."""
    s3 = sandbox_aws("s3")
    if STATE_BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=STATE_BUCKET)
    lepton.env.update({"LEPTON_SANDBOX": "1", "LEPTON_VAR_api_token": SECRET})
    lepton.cwd = lepton.cwd / "repo"
    lepton.cwd.mkdir()
    run = Runner(lepton, key="5e" * 32)
    run.fresh()
    yield run
    run.fresh()
    lepton("destroy", "--yes", check=None)


def test_pull_request_plan_then_merge_applies_the_saved_change_set_on_another_runner(runner):
    lepton = runner.lepton
    (plan_cmd,) = _step_commands("Plan")
    (apply_cmd,) = _step_commands("Apply the saved change set")
    # the pull request: exit 2 (changes) is a success for the step; markdown on stdout
    pr = lepton(*plan_cmd, check=2)
    assert pr.stdout.startswith("### lepton plan: stack `ci-demo`")
    assert "user_data: (sensitive)" in pr.stdout
    artifact = (lepton.cwd / "changes.json").read_text()
    for text in (pr.stdout, pr.stderr, artifact):
        assert SECRET not in text

    # the merge, on a new runner: without the stack's key the change set cannot be checked...
    runner.fresh(restore_key=False)
    runner.download_artifact(artifact)
    refused = lepton(*apply_cmd, check=1)
    assert "the stack's key" in refused.stderr and "Traceback" not in refused.stderr
    # ...with the key step, it is applied exactly, the state going to the bucket
    runner.fresh()
    runner.download_artifact(artifact)
    applied = lepton(*apply_cmd)
    assert SECRET not in applied.stdout + applied.stderr

    # the next pull request, on yet another runner, sees the shared state: nothing to change
    runner.fresh()
    again = lepton(*plan_cmd, check=0)
    assert "No changes." in again.stdout


def test_a_change_set_made_stale_by_an_earlier_merge_is_refused_and_the_replan_path_applies(runner):
    lepton = runner.lepton
    (plan_cmd,) = _step_commands("Plan")
    (apply_cmd,) = _step_commands("Apply the saved change set")
    replan_cmds = _step_commands("Re-plan and apply (no reviewed change set)")

    lepton(*plan_cmd, check=2)  # a pull request planned now...
    artifact = (lepton.cwd / "changes.json").read_text()
    runner.fresh()
    for argv in replan_cmds:    # ...but another merge (re-planned, no artifact) applies first
        lepton(*argv)
    lepton(*plan_cmd, check=0)

    runner.fresh()
    runner.download_artifact(artifact)
    stale = lepton(*apply_cmd, check=1)  # the older change set no longer describes the stack
    assert stale.stderr.startswith("Error: the saved change set is stale"), stale.stderr
    assert "Traceback" not in stale.stderr
    lepton(*plan_cmd, check=0)  # and the refused apply changed nothing

    lepton.env["LEPTON_VAR_web_count"] = "3"  # a merged change, applied by the re-plan path
    runner.fresh()
    lepton(*plan_cmd, check=2)
    runner.fresh()
    for argv in replan_cmds:
        result = lepton(*argv)
        assert SECRET not in result.stdout + result.stderr
    runner.fresh()
    lepton(*plan_cmd, check=0)
