"""`make doctor`: read a repository's settings the way GitHub will run its workflows, and say
what needs a click.

Every call is a read (`gh api`, its token from `gh auth login` or GH_TOKEN); nothing is changed.
Each check ends in a Finding: `ok`, `fix` (the settings page that fixes it), or `note` (how the
repository will behave; nothing to change). `read_settings` asks GitHub; `diagnose` decides, a
pure function of GitHub's answers and the project's own files. Standard library only.
"""

import base64
import fnmatch
import re
import textwrap
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlops import github_api
from mlops.errors import PipelineError

ENVIRONMENT = "production"
CODEOWNERS = ".github/CODEOWNERS"
PLACEHOLDER_OWNER = "@your-github-username"
# The repository variable that opts a copy of the template into its slow self-tests.
SELF_TESTS_VARIABLE = "TEMPLATE_SELF_TESTS"
TRACKING_SECRETS = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
# What GitHub says when a feature needs a paid plan for a private repository.
PLAN_LIMIT = "Upgrade to GitHub Pro"
# self-test.yml names the template's own repository in its job's condition.
TEMPLATE_CONDITION = re.compile(r"github\.repository\s*==\s*'([^']+)'")
REMOTE_ACTION = re.compile(r"uses:\s*([\w.-]+/[\w.-]+)@")

Status = Literal["ok", "fix", "note"]


@dataclass(frozen=True)
class Finding:
    topic: str
    status: Status
    message: str
    url: str | None = None


@dataclass(frozen=True)
class Project:
    """What the checkout's own files need from the repository."""

    workflows: tuple[str, ...]  # file names in .github/workflows/
    actions: tuple[str, ...]  # the actions they and the setup action use (owner/name)
    monitoring_data: str | None  # config.yaml's monitoring.data: drift alerts need Issues
    template_repository: str | None  # the name self-test.yml runs the self-tests for


@dataclass(frozen=True)
class Settings:
    """GitHub's answers about one repository (None where GitHub says there is no such thing)."""

    repository: dict
    actions: dict
    selected_actions: dict | None
    workflow_permissions: dict
    workflows: list[dict]
    environment: dict | None
    branch_policies: list[dict] | None  # production's custom deployment branch policies
    immutable_releases: dict | None
    codeowners: str | None  # the file on the default branch
    codeowners_errors: list[dict]
    branch_rules: list[dict]  # the active rules for the default branch
    branch_protection: dict | None  # its classic protection
    branch_rules_available: bool  # False: the plan has none for this (private) repository
    secrets: frozenset[str]  # the repository's and the organization's, by name
    environment_secrets: frozenset[str]  # production's own
    variables: dict[str, str]


def project_files(root: Path, monitoring_data: str | None) -> Project:
    """The workflows, their actions and the self-tests' repository, from the checkout at `root`."""
    github = root / ".github"
    self_test = github / "workflows" / "self-test.yml"
    named = TEMPLATE_CONDITION.search(self_test.read_text()) if self_test.is_file() else None
    workflows = sorted((github / "workflows").glob("*.yml"))
    used = {
        action
        for path in [*workflows, *github.glob("actions/*/action.yml")]
        for action in REMOTE_ACTION.findall(path.read_text())
    }
    return Project(
        workflows=tuple(path.name for path in workflows),
        actions=tuple(sorted(used)),
        monitoring_data=monitoring_data,
        template_repository=named[1] if named else None,
    )


# ---------------------------------------------------------------- reading


# What `read` returns when the repository's plan lacks the feature asked about.
PLAN_LIMITED = object()


def _reader(repository: str) -> Callable[..., Any]:
    def read(endpoint: str, *, absent: bool = False, plan: bool = False) -> Any:
        """`endpoint`'s JSON; None for a 404 where `absent` allows it, PLAN_LIMITED for a
        feature the plan lacks where `plan` allows it. Any other refusal: the token cannot
        read the settings, which is one clear error."""
        try:
            return github_api.call(endpoint)
        except github_api.GitHubError as error:
            if error.status == 404 and absent:
                return None
            if error.status == 403 and plan and PLAN_LIMIT in str(error):
                return PLAN_LIMITED
            if error.status in (401, 403, 404):
                raise PipelineError(
                    f"this token cannot read the settings of {repository} ({error}); "
                    "run `make doctor` as an admin of the repository (`gh auth login`), or with "
                    "a fine-grained token that may read its administration, actions, contents, "
                    "environments, secrets and variables"
                ) from None
            raise

    return read


def read_settings(repository: str) -> Settings:
    """Everything `diagnose` needs, read from GitHub with read-only calls."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
        raise PipelineError(f"{repository!r} is not a repository name; expected owner/name")
    base = f"repos/{repository}"
    info = github_api.get(base)
    if info is None:
        raise PipelineError(
            f"no repository {repository} on GitHub, or this token cannot see it "
            "(a private repository needs a token with access to it)"
        )
    if not info.get("permissions", {}).get("admin"):
        raise PipelineError(
            f"you can read {repository} but are not an admin of it, and only admins can read "
            "the settings `make doctor` checks; run it as an admin (`gh auth login`)"
        )
    read = _reader(repository)
    branch = info["default_branch"]
    organization = info.get("owner", {}).get("type") == "Organization"
    calls = {
        "actions": (f"{base}/actions/permissions", {}),
        "workflow_permissions": (f"{base}/actions/permissions/workflow", {}),
        "workflows": (f"{base}/actions/workflows?per_page=100", {}),
        "environment": (f"{base}/environments/{ENVIRONMENT}", {"absent": True}),
        "immutable_releases": (f"{base}/immutable-releases", {"absent": True}),
        "codeowners": (f"{base}/contents/{CODEOWNERS}?ref={branch}", {"absent": True}),
        "codeowners_errors": (f"{base}/codeowners/errors?ref={branch}", {"absent": True}),
        "branch_rules": (f"{base}/rules/branches/{branch}", {"plan": True}),
        "branch_protection": (
            f"{base}/branches/{branch}/protection",
            {"absent": True, "plan": True},
        ),
        "secrets": (f"{base}/actions/secrets?per_page=100", {}),
        "variables": (f"{base}/actions/variables?per_page=30", {}),
    }
    if organization:
        calls["organization_secrets"] = (f"{base}/actions/organization-secrets?per_page=100", {})
        calls["organization_variables"] = (f"{base}/actions/organization-variables?per_page=30", {})
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = {
            name: pool.submit(read, endpoint, **how) for name, (endpoint, how) in calls.items()
        }
        answers = {name: future.result() for name, future in futures.items()}
    actions, environment = answers["actions"], answers["environment"]
    policy = (environment or {}).get("deployment_branch_policy") or {}
    protection = answers["branch_protection"]
    rules = answers["branch_rules"]
    codeowners = answers["codeowners"]
    variables = {
        variable["name"]: variable["value"]
        for name in ("organization_variables", "variables")  # the repository's win
        for variable in (answers.get(name) or {}).get("variables", [])
    }
    return Settings(
        repository=info,
        actions=actions,
        selected_actions=read(f"{base}/actions/permissions/selected-actions")
        if actions.get("allowed_actions") == "selected"
        else None,
        workflow_permissions=answers["workflow_permissions"],
        workflows=answers["workflows"]["workflows"],
        environment=environment,
        branch_policies=read(f"{base}/environments/{ENVIRONMENT}/deployment-branch-policies")[
            "branch_policies"
        ]
        if policy.get("custom_branch_policies")
        else None,
        immutable_releases=answers["immutable_releases"],
        codeowners=base64.b64decode(codeowners["content"]).decode("utf-8", "replace")
        if codeowners
        else None,
        codeowners_errors=(answers["codeowners_errors"] or {}).get("errors", []),
        branch_rules=[] if rules is PLAN_LIMITED else rules,
        branch_protection=None if protection is PLAN_LIMITED else protection,
        branch_rules_available=PLAN_LIMITED not in (rules, protection),
        secrets=frozenset(
            secret["name"]
            for name in ("secrets", "organization_secrets")
            for secret in (answers.get(name) or {}).get("secrets", [])
        ),
        environment_secrets=frozenset(
            secret["name"]
            for secret in read(f"{base}/environments/{ENVIRONMENT}/secrets")["secrets"]
        )
        if environment
        else frozenset(),
        variables=variables,
    )


# ---------------------------------------------------------------- deciding


def diagnose(settings: Settings, project: Project) -> list[Finding]:
    """Every check, in the order a new repository meets them."""
    info = settings.repository
    web, branch = info["html_url"], info["default_branch"]
    tracking_server = "MLFLOW_TRACKING_URI" in settings.secrets
    return [
        _actions(settings, project, web),
        *_workflows(settings, project, web),
        _workflow_permissions(settings, web),
        _environment(settings, web, branch),
        _issues(settings, project, web),
        _releases(settings, web, tracking_server),
        _codeowners(settings, web, branch),
        _code_owner_review(settings, web, branch),
        *_tracking_server(settings, web),
        _self_tests(settings, project, web),
        _visibility(settings),
    ]


def _actions(settings: Settings, project: Project, web: str) -> Finding:
    url = f"{web}/settings/actions"
    if not settings.actions.get("enabled"):
        return Finding("Actions", "fix", "Actions are disabled: no workflow runs.", url)
    allowed = settings.actions.get("allowed_actions", "all")
    if allowed == "local_only":
        return Finding(
            "Actions",
            "fix",
            "only this repository's own actions may run, but the workflows use "
            f"{', '.join(project.actions)}: allow them (or all actions).",
            url,
        )
    if allowed == "selected":
        chosen = settings.selected_actions or {}
        patterns = chosen.get("patterns_allowed", [])
        refused = [
            action
            for action in project.actions
            if not (action.startswith("actions/") and chosen.get("github_owned_allowed"))
            and not any(fnmatch.fnmatch(f"{action}@x", pattern) for pattern in patterns)
        ]
        if refused:
            return Finding(
                "Actions",
                "fix",
                f"the allowed actions leave out {', '.join(refused)}, which the workflows use.",
                url,
            )
    return Finding("Actions", "ok", f"enabled ({allowed} actions allowed).")


def _workflows(settings: Settings, project: Project, web: str) -> list[Finding]:
    listed = {Path(workflow["path"]).name: workflow["state"] for workflow in settings.workflows}
    if settings.repository.get("fork") and not listed:
        return [
            Finding(
                "Workflows",
                "fix",
                "a fork starts with its workflows off: open the Actions tab and click "
                "'I understand my workflows, go ahead and enable them'.",
                f"{web}/actions",
            )
        ]
    findings = []
    for name in project.workflows:
        state, url = listed.get(name), f"{web}/actions/workflows/{name}"
        if state is None:
            findings.append(
                Finding("Workflows", "fix", f"{name} is not on GitHub's default branch: push it.")
            )
        elif state == "disabled_fork":
            findings.append(
                Finding(
                    "Workflows",
                    "fix",
                    f"{name} is off, as in every new fork: open the Actions tab and enable "
                    "the workflows.",
                    f"{web}/actions",
                )
            )
        elif state == "disabled_inactivity":
            findings.append(
                Finding(
                    "Workflows",
                    "fix",
                    f"{name} was turned off after 60 days without activity in the repository "
                    "(its schedule stopped): enable it.",
                    url,
                )
            )
        elif state != "active":
            findings.append(
                Finding("Workflows", "note", f"{name} is {state}: it does not run.", url)
            )
    if not findings:
        findings.append(Finding("Workflows", "ok", f"{len(project.workflows)} active."))
    return findings


def _workflow_permissions(settings: Settings, web: str) -> Finding:
    if settings.workflow_permissions.get("default_workflow_permissions") == "write":
        return Finding(
            "Workflow permissions",
            "note",
            "the default GITHUB_TOKEN may write. Every job here declares its own permissions, "
            "so this only affects workflows you add; 'Read repository contents' is safer.",
            f"{web}/settings/actions",
        )
    return Finding(
        "Workflow permissions",
        "ok",
        "the default GITHUB_TOKEN is read-only; each job asks for what it needs.",
    )


def _environment(settings: Settings, web: str, branch: str) -> Finding:
    topic = f"Environment {ENVIRONMENT}"
    environment = settings.environment
    if environment is None:
        return Finding(
            topic,
            "fix",
            "missing: the first deploy would create it with no protection. Create it, and add "
            "required reviewers if every deploy and rollback should wait for an approval "
            "(a private repository needs GitHub Pro, Team or Enterprise for environments).",
            f"{web}/settings/environments/new",
        )
    url = f"{web}/settings/environments"
    policy = environment.get("deployment_branch_policy") or {}
    patterns = [
        rule["name"]
        for rule in settings.branch_policies or []
        if rule.get("type", "branch") == "branch"
    ]
    if policy.get("custom_branch_policies") and not any(
        fnmatch.fnmatch(branch, pattern) for pattern in patterns
    ):
        return Finding(
            topic,
            "fix",
            f"its deployment branches ({', '.join(patterns) or 'none'}) leave out {branch}: "
            "every deploy from it would be refused.",
            url,
        )
    if policy.get("protected_branches") and not _branch_is_protected(settings):
        return Finding(
            topic,
            "fix",
            f"it deploys from protected branches only, and {branch} is not protected: every "
            "deploy would be refused.",
            url,
        )
    reviewers = [
        reviewer.get("reviewer", {}).get("login") or reviewer.get("reviewer", {}).get("slug", "?")
        for rule in environment.get("protection_rules", [])
        if rule.get("type") == "required_reviewers"
        for reviewer in rule.get("reviewers", [])
    ]
    if reviewers:
        return Finding(
            topic,
            "ok",
            f"every deploy and rollback waits for an approval by one of: {', '.join(reviewers)}.",
        )
    return Finding(
        topic,
        "ok",
        "no required reviewers: a push to the default branch whose gate passes deploys at once. "
        "Add reviewers for a manual approval before each deploy and rollback.",
    )


def _issues(settings: Settings, project: Project, web: str) -> Finding:
    if settings.repository.get("has_issues"):
        return Finding("Issues", "ok", "enabled: the drift alert can open its issue.")
    url = f"{web}/settings#features"
    if project.monitoring_data:
        return Finding(
            "Issues",
            "fix",
            "disabled (as on every fork), but config.yaml sets monitoring.data: when the weekly "
            "monitor finds drift, its alert job fails to open the issue. Turn Issues on "
            "(Settings → General → Features).",
            url,
        )
    return Finding(
        "Issues",
        "note",
        "disabled (as on every fork). Nothing needs them while monitoring.data is unset; turn "
        "them on before you set it, or the drift alert job fails.",
        url,
    )


def _releases(settings: Settings, web: str, tracking_server: bool) -> Finding:
    immutable = settings.immutable_releases or {}
    if not immutable.get("enabled"):
        return Finding(
            "Releases",
            "ok",
            "mutable: the release store can keep the champion (a release per version, and "
            "one whose pointer and MLflow store each deploy and rollback replace).",
        )
    if tracking_server:
        return Finding(
            "Releases",
            "note",
            "immutable, which is fine while MLFLOW_TRACKING_URI is set: the tracking server "
            "keeps the champion and no release is written.",
        )
    who = (
        "your organization enforces it, so ask an organization owner to exempt this repository"
        if immutable.get("enforced_by_owner")
        else "turn off 'Enable release immutability' (Settings → General → Releases)"
    )
    return Finding(
        "Releases",
        "fix",
        "immutable: the release store cannot keep the champion here. Each deploy and rollback "
        "replaces the assets of the `-champion` release, and an immutable release refuses to "
        "change or delete its assets (nor can a deleted release's tag be used again). "
        f"Either {who}, or keep the champion on a tracking server (docs/tracking-server.md).",
        f"{web}/settings#releases-settings",
    )


def _codeowners(settings: Settings, web: str, branch: str) -> Finding:
    if settings.codeowners is None:
        return Finding(
            "CODEOWNERS",
            "fix",
            f"no {CODEOWNERS} on {branch}: nobody is asked to review changes to the gate, "
            "config.yaml or the workflows.",
            f"{web}/new/{branch}?filename={CODEOWNERS}",
        )
    url = f"{web}/edit/{branch}/{CODEOWNERS}"
    if PLACEHOLDER_OWNER in settings.codeowners:
        return Finding(
            "CODEOWNERS",
            "fix",
            f"still names the placeholder {PLACEHOLDER_OWNER}: replace it with your user or a "
            "team (@org/team) with write access, on the default branch.",
            url,
        )
    if settings.codeowners_errors:
        problems = "; ".join(
            f"line {error.get('line')}: {error.get('kind')} {error.get('source', '').strip()}"
            for error in settings.codeowners_errors[:3]
        )
        return Finding("CODEOWNERS", "fix", f"GitHub cannot use it: {problems}.", url)
    owners = sorted(
        {
            word
            for line in settings.codeowners.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
            for word in line.split()[1:]
        }
    )
    return Finding("CODEOWNERS", "ok", f"owners: {', '.join(owners) or 'none'}.")


def _branch_is_protected(settings: Settings) -> bool:
    return bool(settings.branch_protection) or bool(settings.branch_rules)


def _code_owner_review(settings: Settings, web: str, branch: str) -> Finding:
    topic = "Code-owner review"
    for rule in settings.branch_rules:
        if rule.get("type") == "pull_request" and rule.get("parameters", {}).get(
            "require_code_owner_review"
        ):
            source = rule.get("ruleset_source_type", "Repository").lower()
            return Finding(
                topic, "ok", f"a {source} ruleset requires code-owners' review on {branch}."
            )
    reviews = (settings.branch_protection or {}).get("required_pull_request_reviews") or {}
    if reviews.get("require_code_owner_reviews"):
        return Finding(topic, "ok", f"branch protection requires code-owners' review on {branch}.")
    if not settings.branch_rules_available:
        return Finding(
            topic,
            "note",
            "branch rules are not available for this private repository on its plan: "
            "CODEOWNERS only asks for reviews, it cannot require them.",
        )
    return Finding(
        topic,
        "fix",
        f"nothing requires the code owners' approval on {branch}: a pull request can change "
        "the gate, config.yaml or the workflows without it. Add a branch ruleset for the "
        "default branch with 'Require a pull request before merging' and 'Require review "
        "from Code Owners'.",
        f"{web}/settings/rules",
    )


def _tracking_server(settings: Settings, web: str) -> list[Finding]:
    url, secrets = f"{web}/settings/secrets/actions", settings.secrets
    uri, user, password = (name in secrets for name in TRACKING_SECRETS)
    findings = []
    only_environment = sorted(set(TRACKING_SECRETS) & (settings.environment_secrets - secrets))
    if only_environment:
        findings.append(
            Finding(
                "Tracking server",
                "fix",
                f"{', '.join(only_environment)} is a secret of the {ENVIRONMENT} environment "
                "only: deploy and rollback would see it, but train-evaluate and monitor, which "
                "run outside that environment, would not. Make it a repository secret.",
                url,
            )
        )
    if user != password and uri:
        missing = "MLFLOW_TRACKING_PASSWORD" if user else "MLFLOW_TRACKING_USERNAME"
        findings.append(
            Finding(
                "Tracking server",
                "fix",
                f"{missing} is missing: the server's basic auth needs both user name and password.",
                url,
            )
        )
    if (user or password) and not uri:
        stray = " and ".join(name for name in TRACKING_SECRETS[1:] if name in secrets)
        findings.append(
            Finding(
                "Tracking server",
                "fix",
                f"{stray} set but MLFLOW_TRACKING_URI is not: ignored, the jobs use the "
                "embedded store. Add the URI, or delete the stray secret.",
                url,
            )
        )
    if uri:
        auth = "with basic auth" if user and password else "without credentials"
        message = (
            f"MLFLOW_TRACKING_URI is set ({auth}): the jobs log to that server and it keeps the "
            "champion; no release is written. Pull requests from forks get no secrets and use "
            "the embedded store."
        )
    else:
        message = (
            "no MLFLOW_TRACKING_URI secret: each job uses the embedded MLflow store, and the "
            "champion lives in this repository's releases."
        )
    return [*findings, Finding("Tracking server", "ok", message)]


def _self_tests(settings: Settings, project: Project, web: str) -> Finding:
    name = settings.repository.get("full_name", "")
    if project.template_repository and name.lower() == project.template_repository.lower():
        return Finding("Self-tests", "note", "this is the template's repository: they run here.")
    if settings.variables.get(SELF_TESTS_VARIABLE) == "true":
        return Finding(
            "Self-tests",
            "note",
            f"{SELF_TESTS_VARIABLE}=true: self-test.yml runs the template's whole suite here "
            "(act workflow runs, PostgreSQL, serving; several minutes) on changes and nightly.",
            f"{web}/settings/variables/actions",
        )
    return Finding(
        "Self-tests",
        "note",
        "self-test.yml skips the template's slow self-tests in a copy; your pipeline still runs "
        f"your tests and the template's fast ones. Set the variable {SELF_TESTS_VARIABLE}=true "
        "to run them here too.",
        f"{web}/settings/variables/actions",
    )


def _visibility(settings: Settings) -> Finding:
    if settings.repository.get("private"):
        return Finding("Visibility", "ok", "private.")
    return Finding(
        "Visibility",
        "note",
        "public: anyone can read what you commit, data/ included, and the release store "
        "(models, and the MLflow store with every deployed run's parameters and metrics).",
    )


# ---------------------------------------------------------------- reporting

SYMBOLS = {"ok": "ok  ", "fix": "FIX ", "note": "note"}
WIDTH = 100


def report(repository: str, findings: list[Finding]) -> str:
    """The findings as the terminal shows them, and the verdict last."""
    lines = [f"GitHub settings of {repository}:"]
    for finding in findings:
        lines += textwrap.wrap(
            f"{finding.topic}: {finding.message}",
            width=WIDTH,
            initial_indent=f"  {SYMBOLS[finding.status]}  ",
            subsequent_indent=" " * 8,
        )
        if finding.url and finding.status != "ok":
            lines.append(f"        → {finding.url}")
    fixes = sum(finding.status == "fix" for finding in findings)
    lines.append(
        f"{fixes} setting(s) need a click (FIX above)."
        if fixes
        else "Nothing needs a click: GitHub will run the workflows as intended."
    )
    return "\n".join(lines)


def exit_code(findings: list[Finding]) -> int:
    return 1 if any(finding.status == "fix" for finding in findings) else 0


def repository_from_remote(url: str) -> str | None:
    """owner/name from a GitHub remote URL (https or ssh), else None."""
    match = re.search(r"github\.com[:/]([\w.-]+/[\w.-]+?)(?:\.git)?/?$", url.strip())
    return match[1] if match else None
