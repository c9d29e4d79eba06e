"""`make doctor`: each check decided on constructed answers, and the script against the fake
GitHub (tests/fake_github) for a healthy repository, a misconfigured one and every bad input."""

import base64
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from mlops import github_api
from mlops.doctor import (
    SELF_TESTS_VARIABLE,
    Project,
    Settings,
    diagnose,
    exit_code,
    project_files,
    read_settings,
    repository_from_remote,
)
from mlops.github_api import GitHubError
from tests.conftest import FAKE_GH, REPO, REPOSITORY, make_project

WEB = f"https://github.com/{REPOSITORY}"
PROJECT = project_files(REPO, monitoring_data=None)


def healthy_answers() -> dict[str, object]:
    """What GitHub answers for a repository set up as docs/github-setup.md says, by endpoint
    (relative to repos/owner/name; "repository" is the repository itself)."""
    return {
        "repository": {
            "full_name": REPOSITORY,
            "html_url": WEB,
            "default_branch": "main",
            "private": True,
            "fork": False,
            "has_issues": True,
            "owner": {"login": "acme", "type": "User"},
            "permissions": {"admin": True, "push": True, "pull": True},
        },
        "actions/permissions": {"enabled": True, "allowed_actions": "all"},
        "actions/permissions/workflow": {
            "default_workflow_permissions": "read",
            "can_approve_pull_request_reviews": False,
        },
        "actions/workflows": {
            "total_count": len(PROJECT.workflows),
            "workflows": [
                {"path": f".github/workflows/{name}", "state": "active"}
                for name in PROJECT.workflows
            ],
        },
        "environments/production": {
            "name": "production",
            "protection_rules": [
                {
                    "type": "required_reviewers",
                    "reviewers": [{"type": "User", "reviewer": {"login": "alice"}}],
                }
            ],
            "deployment_branch_policy": None,
        },
        "environments/production/secrets": {"total_count": 0, "secrets": []},
        "contents/.github/CODEOWNERS": {
            "encoding": "base64",
            "content": base64.b64encode(b"/config.yaml  @alice\n/.github/  @alice\n").decode(),
        },
        "codeowners/errors": {"errors": []},
        "rules/branches/main": [
            {
                "type": "pull_request",
                "parameters": {"require_code_owner_review": True},
                "ruleset_source_type": "Repository",
                "ruleset_source": REPOSITORY,
                "ruleset_id": 1,
            }
        ],
        "actions/secrets": {"total_count": 0, "secrets": []},
        "actions/variables": {"total_count": 0, "variables": []},
    }


def settings_from(answers: dict, **changes) -> Settings:
    """The Settings read_settings would build from `answers` (unit tests skip the calls)."""
    environment = answers.get("environments/production")
    rules = answers.get("rules/branches/main")
    codeowners = answers.get("contents/.github/CODEOWNERS")
    settings = Settings(
        repository=answers["repository"],
        actions=answers["actions/permissions"],
        selected_actions=None,
        workflow_permissions=answers["actions/permissions/workflow"],
        workflows=answers["actions/workflows"]["workflows"],
        environment=environment,
        branch_policies=None,
        immutable_releases=answers.get("immutable-releases"),
        codeowners=base64.b64decode(codeowners["content"]).decode() if codeowners else None,
        codeowners_errors=answers["codeowners/errors"]["errors"],
        branch_rules=rules,
        branch_protection=answers.get("branches/main/protection"),
        branch_rules_available=True,
        secrets=frozenset(s["name"] for s in answers["actions/secrets"]["secrets"]),
        environment_secrets=frozenset(),
        variables={},
    )
    return replace(settings, **changes)


def verdicts(settings: Settings, project: Project = PROJECT) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for finding in diagnose(settings, project):
        found.setdefault(finding.topic, []).append((finding.status, finding.message))
    return found


def status(settings: Settings, topic: str, project: Project = PROJECT) -> list[str]:
    return [state for state, _ in verdicts(settings, project)[topic]]


# ---------------------------------------------------------------- decisions


def test_a_repository_set_up_as_documented_needs_nothing():
    findings = diagnose(settings_from(healthy_answers()), PROJECT)
    assert [f for f in findings if f.status == "fix"] == [] and exit_code(findings) == 0
    found = verdicts(settings_from(healthy_answers()))
    assert "alice" in found["Environment production"][0][1]
    assert "embedded MLflow store" in found["Tracking server"][0][1]


def test_the_checkout_names_its_workflows_actions_and_template_repository():
    assert {"pipeline.yml", "pr-comment.yml", "self-test.yml", "monitor.yml"} <= set(
        PROJECT.workflows
    )
    assert "actions/checkout" in PROJECT.actions
    # The name and the variable self-test.yml's condition holds (tests/workflows check it).
    condition = f"github.repository == '{PROJECT.template_repository}' || "
    condition += f"vars.{SELF_TESTS_VARIABLE} == 'true'"
    assert condition in (REPO / ".github" / "workflows" / "self-test.yml").read_text()


@pytest.mark.parametrize(
    "actions, selected, expected",
    [
        ({"enabled": False}, None, "fix"),
        ({"enabled": True, "allowed_actions": "local_only"}, None, "fix"),
        ({"enabled": True, "allowed_actions": "selected"}, {"github_owned_allowed": True}, "ok"),
        (
            {"enabled": True, "allowed_actions": "selected"},
            {"github_owned_allowed": False, "patterns_allowed": ["actions/*"]},
            "ok",
        ),
        (
            {"enabled": True, "allowed_actions": "selected"},
            {"github_owned_allowed": False, "patterns_allowed": ["actions/checkout@*"]},
            "fix",
        ),
    ],
)
def test_actions_must_be_on_and_allow_the_workflows_actions(actions, selected, expected):
    settings = settings_from(healthy_answers(), actions=actions, selected_actions=selected)
    assert status(settings, "Actions") == [expected]


def test_workflows_off_in_a_fork_or_after_inactivity_need_enabling():
    answers = healthy_answers()
    fork = settings_from(answers, repository={**answers["repository"], "fork": True}, workflows=[])
    assert status(fork, "Workflows") == ["fix"]
    assert "I understand my workflows" in verdicts(fork)["Workflows"][0][1]
    states = {"monitor.yml": "disabled_inactivity", "self-test.yml": "disabled_manually"}
    workflows = [
        {"path": f".github/workflows/{name}", "state": states.get(name, "active")}
        for name in PROJECT.workflows
        if name != "rollback.yml"
    ]
    found = verdicts(settings_from(answers, workflows=workflows))["Workflows"]
    assert ("fix", "rollback.yml is not on GitHub's default branch: push it.") in found
    assert [s for s, m in found if "monitor.yml" in m] == ["fix"]
    assert [s for s, m in found if "self-test.yml" in m] == ["note"]


def test_a_writable_default_token_is_advice_not_a_miss():
    settings = settings_from(
        healthy_answers(), workflow_permissions={"default_workflow_permissions": "write"}
    )
    assert status(settings, "Workflow permissions") == ["note"]


def test_the_production_environment_exists_and_deploys_from_the_default_branch():
    answers = healthy_answers()
    assert status(settings_from(answers, environment=None), "Environment production") == ["fix"]
    open_environment = {"name": "production", "protection_rules": []}
    found = verdicts(settings_from(answers, environment=open_environment))
    assert found["Environment production"][0][0] == "ok"
    assert "deploys at once" in found["Environment production"][0][1]
    custom = {**open_environment, "deployment_branch_policy": {"custom_branch_policies": True}}
    for patterns, expected in ((["release/*"], "fix"), (["ma*"], "ok"), ([], "fix")):
        policies = [{"name": name, "type": "branch"} for name in patterns]
        settings = settings_from(answers, environment=custom, branch_policies=policies)
        assert status(settings, "Environment production") == [expected], patterns
    protected = {**open_environment, "deployment_branch_policy": {"protected_branches": True}}
    unprotected = settings_from(answers, environment=protected, branch_rules=[])
    assert status(unprotected, "Environment production") == ["fix"]
    assert status(settings_from(answers, environment=protected), "Environment production") == ["ok"]


def test_issues_are_needed_once_monitoring_alerts_are_on():
    answers = healthy_answers()
    off = settings_from(answers, repository={**answers["repository"], "has_issues": False})
    assert status(off, "Issues") == ["note"]
    monitored = replace(PROJECT, monitoring_data="exports/*.csv")
    assert status(off, "Issues", monitored) == ["fix"]
    assert status(settings_from(answers), "Issues", monitored) == ["ok"]


def test_immutable_releases_cannot_hold_the_release_store():
    answers = healthy_answers()
    immutable = settings_from(answers, immutable_releases={"enabled": True})
    assert status(immutable, "Releases") == ["fix"]
    message = verdicts(immutable)["Releases"][0][1]
    assert "turn off 'Enable release immutability'" in message and "tracking server" in message
    enforced = replace(immutable, immutable_releases={"enabled": True, "enforced_by_owner": True})
    assert "organization owner" in verdicts(enforced)["Releases"][0][1]
    with_server = replace(immutable, secrets=frozenset({"MLFLOW_TRACKING_URI"}))
    assert status(with_server, "Releases") == ["note"]
    off = settings_from(answers, immutable_releases={"enabled": False})
    assert status(off, "Releases") == ["ok"]


def test_codeowners_must_name_real_owners_and_be_required():
    answers = healthy_answers()
    placeholder = settings_from(answers, codeowners="/config.yaml @your-github-username\n")
    assert status(placeholder, "CODEOWNERS") == ["fix"]
    assert status(settings_from(answers, codeowners=None), "CODEOWNERS") == ["fix"]
    unknown = [{"line": 1, "kind": "Unknown owner", "source": "/config.yaml @ghost"}]
    assert status(settings_from(answers, codeowners_errors=unknown), "CODEOWNERS") == ["fix"]
    assert "@alice" in verdicts(settings_from(answers))["CODEOWNERS"][0][1]

    unrequired = [{"type": "pull_request", "parameters": {"require_code_owner_review": False}}]
    assert status(settings_from(answers, branch_rules=unrequired), "Code-owner review") == ["fix"]
    classic = {"required_pull_request_reviews": {"require_code_owner_reviews": True}}
    settings = settings_from(answers, branch_rules=[], branch_protection=classic)
    assert status(settings, "Code-owner review") == ["ok"]
    # A private repository on GitHub Free has no branch rules at all.
    unavailable = settings_from(answers, branch_rules=[], branch_rules_available=False)
    assert status(unavailable, "Code-owner review") == ["note"]


@pytest.mark.parametrize(
    "secrets, environment_secrets, expected",
    [
        (set(), set(), ["ok"]),
        ({"MLFLOW_TRACKING_URI"}, set(), ["ok"]),
        (
            {"MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"},
            set(),
            ["ok"],
        ),
        ({"MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME"}, set(), ["fix", "ok"]),
        ({"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"}, set(), ["fix", "ok"]),
        (set(), {"MLFLOW_TRACKING_URI"}, ["fix", "ok"]),
    ],
)
def test_tracking_server_secrets_say_where_the_champion_lives(
    secrets, environment_secrets, expected
):
    settings = settings_from(
        healthy_answers(),
        secrets=frozenset(secrets),
        environment_secrets=frozenset(environment_secrets),
    )
    assert status(settings, "Tracking server") == expected


def test_self_tests_run_on_the_template_and_on_copies_that_opt_in():
    answers = healthy_answers()
    copy = verdicts(settings_from(answers))["Self-tests"][0][1]
    assert "skips" in copy and SELF_TESTS_VARIABLE in copy
    opted = settings_from(answers, variables={SELF_TESTS_VARIABLE: "true"})
    assert "runs the template's whole suite" in verdicts(opted)["Self-tests"][0][1]
    template = replace(PROJECT, template_repository=REPOSITORY.upper())
    assert "template's repository" in verdicts(settings_from(answers), template)["Self-tests"][0][1]


def test_a_public_repository_publishes_its_data():
    answers = healthy_answers()
    public = settings_from(answers, repository={**answers["repository"], "private": False})
    assert "data/ included" in verdicts(public)["Visibility"][0][1]


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://github.com/acme/ml-project.git\n", "acme/ml-project"),
        ("git@github.com:acme/ml-project.git", "acme/ml-project"),
        ("https://github.com/acme/ml.project", "acme/ml.project"),
        ("https://gitlab.com/acme/ml-project.git", None),
        ("", None),
    ],
)
def test_the_repository_is_read_from_a_github_remote(url, expected):
    assert repository_from_remote(url) == expected


def test_read_settings_turns_githubs_answers_into_settings(monkeypatch):
    """Organization secrets and variables count, production's own secrets are told apart,
    a 404 means absent, and "Upgrade to GitHub Pro" means the plan has no branch rules."""
    answers = healthy_answers()
    answers["repository"]["owner"]["type"] = "Organization"
    answers["actions/permissions"] = {"enabled": True, "allowed_actions": "selected"}
    answers["actions/permissions/selected-actions"] = {"github_owned_allowed": True}
    answers["environments/production"]["deployment_branch_policy"] = {
        "protected_branches": False,
        "custom_branch_policies": True,
    }
    answers["environments/production/deployment-branch-policies"] = {
        "branch_policies": [{"name": "main", "type": "branch"}]
    }
    answers["environments/production/secrets"] = {"secrets": [{"name": "MLFLOW_TRACKING_URI"}]}
    answers["actions/organization-secrets"] = {"secrets": [{"name": "MLFLOW_TRACKING_PASSWORD"}]}
    answers["actions/organization-variables"] = {
        "variables": [{"name": SELF_TESTS_VARIABLE, "value": "true"}, {"name": "X", "value": "1"}]
    }
    answers["actions/variables"] = {"variables": [{"name": "X", "value": "2"}]}
    del answers["contents/.github/CODEOWNERS"], answers["codeowners/errors"]
    refused = {
        "branches/main/protection": (403, "Upgrade to GitHub Pro or make this repository public")
    }

    def call(endpoint: str):
        name = endpoint.split("?")[0].removeprefix(f"repos/{REPOSITORY}").strip("/") or "repository"
        if name in refused:
            status, message = refused[name]
            raise GitHubError(f"gh api {endpoint}: gh: {message} (HTTP {status})", status)
        if name not in answers:
            raise GitHubError(f"gh api {endpoint}: gh: Not Found (HTTP 404)", 404)
        return answers[name]

    monkeypatch.setattr(github_api, "call", call)
    settings = read_settings(REPOSITORY)
    assert settings.selected_actions == {"github_owned_allowed": True}
    assert settings.branch_policies == [{"name": "main", "type": "branch"}]
    assert settings.secrets == {"MLFLOW_TRACKING_PASSWORD"}
    assert settings.environment_secrets == {"MLFLOW_TRACKING_URI"}
    assert settings.variables == {SELF_TESTS_VARIABLE: "true", "X": "2"}
    assert settings.codeowners is None and settings.codeowners_errors == []
    assert settings.immutable_releases is None and settings.branch_protection is None
    assert settings.branch_rules_available is False
    found = verdicts(settings)
    assert [state for state, _ in found["Tracking server"]] == ["fix", "fix", "ok"]


# ---------------------------------------------------------------- the script


def github_state(root: Path, answers: dict, errors: dict | None = None) -> Path:
    """The fake GitHub's folder, answering `answers` for REPOSITORY (tests/fake_github/gh)."""
    api = root / REPOSITORY / "api"
    root.mkdir(parents=True, exist_ok=True)
    for endpoint, answer in answers.items():
        path = api / f"{endpoint}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(answer))
    if errors:
        (api / "errors.json").write_text(json.dumps(errors))
    return root


def doctor(
    github: Path, config: Path, *args: str, **env: str | None
) -> subprocess.CompletedProcess:
    environment = {
        "PATH": f"{FAKE_GH}{os.pathsep}{os.environ['PATH']}",
        "FAKE_GITHUB_DIR": str(github),
        "GH_TOKEN": "token",
        **env,
    }
    return subprocess.run(
        [sys.executable, str(REPO / "doctor.py"), "--config", str(config), *args],
        env={k: v for k, v in environment.items() if v is not None},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_doctor_on_a_healthy_repository_exits_0(tmp_path):
    github = github_state(tmp_path / "github", healthy_answers())
    project = make_project(tmp_path)
    project.data_path.unlink()  # data CI fetches (docs/adapt.md): the doctor does not need it
    result = doctor(github, project.config_path, "--repo", REPOSITORY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FIX" not in result.stdout and "Nothing needs a click" in result.stdout
    calls = [json.loads(line)["args"] for line in (github / "calls.jsonl").open()]
    assert all(call[:1] == ["api"] and "-X" not in call and "--input" not in call for call in calls)


@pytest.mark.slow
def test_doctor_on_a_misconfigured_repository_names_each_fix_and_its_page(tmp_path):
    answers = healthy_answers()
    answers["repository"] = {**answers["repository"], "fork": True, "has_issues": False}
    answers["actions/permissions"] = {"enabled": True, "allowed_actions": "local_only"}
    del answers["environments/production"]
    answers["immutable-releases"] = {"enabled": True, "enforced_by_owner": False}
    answers["contents/.github/CODEOWNERS"] = {
        "encoding": "base64",
        "content": base64.b64encode(b"/config.yaml @your-github-username\n").decode(),
    }
    answers["rules/branches/main"] = []
    answers["actions/secrets"] = {
        "total_count": 1,
        "secrets": [{"name": "MLFLOW_TRACKING_USERNAME"}],
    }
    github = github_state(tmp_path / "github", answers)
    project = make_project(tmp_path)
    config = project.config()
    config["monitoring"] = {**config.get("monitoring", {}), "data": "data/*.csv"}
    project.write_config(config)

    result = doctor(github, project.config_path, "--repo", REPOSITORY)
    assert result.returncode == 1, result.stdout + result.stderr
    fixes = [line for line in result.stdout.splitlines() if line.strip().startswith("FIX")]
    topics = [line.split("FIX", 1)[1].strip().split(":")[0] for line in fixes]
    assert topics == [
        "Actions",
        "Environment production",
        "Issues",
        "Releases",
        "CODEOWNERS",
        "Code-owner review",
        "Tracking server",
    ], result.stdout
    for page in (
        "settings/actions",
        "settings/environments/new",
        "settings#features",
        "settings#releases-settings",
        "edit/main/.github/CODEOWNERS",
        "settings/rules",
        "settings/secrets/actions",
    ):
        assert f"→ {WEB}/{page}" in result.stdout, page
    assert result.stdout.rstrip().endswith("7 setting(s) need a click (FIX above).")


@pytest.mark.slow
@pytest.mark.parametrize(
    "case, message",
    [
        ("no gh", "the GitHub CLI `gh` is not installed"),
        ("no token", "gh has no GitHub token: run `gh auth login`, or set GH_TOKEN"),
        (
            "no such repository",
            f"no repository {REPOSITORY} on GitHub, or this token cannot see it",
        ),
        ("not an admin", f"you can read {REPOSITORY} but are not an admin of it"),
        ("settings refused", f"this token cannot read the settings of {REPOSITORY}"),
        ("settings hidden", f"this token cannot read the settings of {REPOSITORY}"),
        ("not a name", "'acme' is not a repository name; expected owner/name"),
    ],
)
def test_doctor_refuses_bad_input_with_one_message(tmp_path, case, message):
    answers = healthy_answers()
    errors = None
    env: dict[str, str | None] = {}
    repository = REPOSITORY
    if case == "no gh":
        env["PATH"] = str(tmp_path / "empty")
    elif case == "no token":
        env["GH_TOKEN"] = None
    elif case == "no such repository":
        answers = {}
    elif case == "not an admin":
        answers["repository"] = {**answers["repository"], "permissions": {"admin": False}}
    elif case == "settings refused":
        errors = {"actions/permissions": [403, "Resource not accessible by personal access token"]}
    elif case == "settings hidden":
        del answers["actions/secrets"]
    else:
        repository = "acme"
    github = github_state(tmp_path / "github", answers, errors)
    # GitHub is asked before the config is read: a missing config shows it is never reached.
    result = doctor(github, tmp_path / "missing.yaml", "--repo", repository, **env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(f"error: {message}"), result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
