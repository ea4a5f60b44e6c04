"""The executor and change sets with a sensitive value: sealed in state and change set, kept out
of progress and failure messages, compared by keyed hash on the next plan."""

from __future__ import annotations

from lepton_cli.engine.changeset import load_changeset, save_changeset
from lepton_cli.engine.model import Action
from lepton_cli.engine.sensitive import Secrets, key_path, note_plan, unsealed_state
from lepton_cli.errors import CloudError
from lepton_cli.spec.loader import load_plan_text

SECRET = "pa55-w0rd-xyz"
PLAN = """\
stack: shop
variables:
  db_password: {sensitive: true}
resources:
  web:
    kind: compute
    instance_type: small
    user_data: "export PW={{ var.db_password }} BUCKET=${assets.name}"
  assets:
    kind: bucket
outputs:
  dsn: "db://{{ var.db_password }}@${assets.name}"
"""


def plan(harness, secret: str):
    """As the API plans: the state's seals unsealed for comparison, the secrets on the plan."""
    from lepton_cli.engine.planner import make_plan

    loaded = load_plan_text(PLAN, variables={"db_password": secret})
    secrets = Secrets.of(loaded.variables, loaded.sensitive, key_path(harness.store.directory, "shop"))
    state = harness.store.read()
    the_plan = make_plan(loaded.stack, harness.drivers("shop"), unsealed_state(secrets, state),
                         plan_digest=loaded.digest, resource_graph=loaded.graph)
    note_plan(secrets, the_plan, state)
    the_plan.secrets = secrets
    return the_plan


def test_state_and_messages_never_hold_the_secret_and_an_unchanged_one_is_a_no_op(harness):
    def quote_the_value(operation, address):  # a cloud whose error message quotes the request
        if address == "web/mem.group":
            raise CloudError(f"rejected user data 'export PW={SECRET} BUCKET=shop-assets'")

    harness.cloud.on_operation = quote_the_value
    failed = harness.apply(plan(harness, SECRET))
    assert SECRET not in failed.failed["web/mem.group"] and "(sensitive)" in failed.failed["web/mem.group"]
    assert all(SECRET not in e.message for e in harness.events)

    harness.cloud.on_operation = None
    result = harness.apply(plan(harness, SECRET))
    assert result.ok, result.failed
    text = harness.store.path.read_text()
    assert SECRET not in text and "hmac-sha256:" in text
    state = harness.store.read()
    assert state.outputs["dsn"] == "(sensitive)" and "dsn" in state.sealed_outputs
    assert [c.action for c in plan(harness, SECRET).changes if c.action is not Action.NOOP] == []

    changed = plan(harness, "another-secret")
    assert [(c.address, c.action) for c in changed.actionable] == [("web/mem.group", Action.UPDATE)]


def test_a_change_set_holds_seals_and_is_rebuilt_from_the_same_secret(harness, tmp_path):
    saved = tmp_path / "changes.json"
    save_changeset(plan(harness, SECRET), saved)
    assert SECRET not in saved.read_text() and "$sensitive" in saved.read_text()
    loaded = load_changeset(saved, {"db_password": SECRET})
    user_data = [c for c in loaded.changes if c.address == "web/mem.group"][0].desired.properties["user_data"]
    assert SECRET in str(user_data)
    assert harness.apply(loaded).ok
