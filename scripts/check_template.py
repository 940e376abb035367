#!/usr/bin/env python3
"""Security checks cfn-lint does not make, for the CloudFormation template and what deploys it.

Fails (exit 1, one line per finding) on:
  - an IAM statement that allows a wildcard action: "*", "service:*", or any "*"/"?" in an action
    name ("kinesis:Get*"), or NotAction with Allow;
  - an Allow statement on Resource "*" whose actions are not in NO_RESOURCE_LEVEL_ACTIONS (actions
    AWS gives no resource-level permission for);
  - an AWS managed policy attached by ARN (its actions are not reviewed here);
  - an IAM user, access key, or login profile resource;
  - an Output whose name looks like a secret, or whose value is an access key's secret, a NoEcho
    parameter, a {{resolve:secretsmanager/ssm-secure}} reference, or a literal that looks like a key;
  - a line of any --log FILE (deploy.sh's output, a log) holding a secret-like value: AWS key ids,
    secret-key or token assignments with a value, bearer tokens, private keys, or the value of any
    secret environment variable set in this process (AWS_SECRET_ACCESS_KEY, TWITTER_BEARER_TOKEN...).

Usage:
  scripts/check_template.py [--template PATH] [--log FILE ...] [--no-producer-files]

With no --template it checks cloudformation/template.yaml; it also scans the producer's systemd
unit and environment example under scripts/ (unless --no-producer-files). --log - reads stdin.
Findings never print the secret itself.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = REPO / "cloudformation" / "template.yaml"
PRODUCER_FILES = [
    REPO / "scripts" / "twitter-producer.service",
    REPO / "scripts" / "twitter-producer.env.example",
]

# Actions with no resource-level permissions in the Service Authorization Reference, which only
# work on Resource "*". Add one only with such a reason.
NO_RESOURCE_LEVEL_ACTIONS = {
    "cloudwatch:putmetricdata",
    "xray:puttracesegments",
    "xray:puttelemetryrecords",
    "kinesis:liststreams",
}

POLICY_RESOURCE_TYPES = {
    "AWS::IAM::Role": ["Policies"],
    "AWS::IAM::Policy": ["PolicyDocument"],
    "AWS::IAM::ManagedPolicy": ["PolicyDocument"],
    "AWS::IAM::User": ["Policies"],
    "AWS::IAM::Group": ["Policies"],
    "AWS::SQS::QueuePolicy": ["PolicyDocument"],
    "AWS::SNS::TopicPolicy": ["PolicyDocument"],
    "AWS::S3::BucketPolicy": ["PolicyDocument"],
    "AWS::KMS::Key": ["KeyPolicy"],
}
FORBIDDEN_RESOURCE_TYPES = {
    "AWS::IAM::User": "an IAM user (run the producer under a role)",
    "AWS::IAM::AccessKey": "an IAM access key (long-lived secret)",
    "AWS::IAM::UserToGroupAddition": "IAM users",
}

SECRET_NAME = re.compile(
    r"secret|passw(or)?d|token|credential|private.?key|access.?key|api.?key|bearer", re.I
)
# Literal values that are, or hold, credentials.
SECRET_VALUE_PATTERNS = [
    (re.compile(r"\b(AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\bBearer\s+[A-Za-z0-9%._~+/-]{16,}=*", re.I), "a bearer token"),
    # X app-only bearer tokens start with a long run of 'A's.
    (re.compile(r"\bAAAAAAAAAAAAAAAAAAAAA[A-Za-z0-9%]{20,}"), "an X bearer token"),
    (re.compile(r"\{\{resolve:(secretsmanager|ssm-secure):"), "a dynamic secret reference"),
]
# NAME=value / "Name": "value" / name: value where NAME is a secret-bearing variable or field.
SECRET_ASSIGNMENT = re.compile(
    r"""(?P<name>AWS_SECRET_ACCESS_KEY|AWS_SECRET_KEY|AWS_SESSION_TOKEN|SecretAccessKey|
        SessionToken|aws_secret_access_key|aws_session_token|TWITTER_BEARER_TOKEN|
        TWITTER_API_CONSUMER_SECRET|TWITTER_API_CONSUMER_KEY)
        (?![A-Za-z0-9_])["']?\s*[=:]\s*["']?(?P<value>[^\s"',}]+)""",
    re.X,
)
PLACEHOLDER = re.compile(r"^(<.*|\$\{?[A-Za-z_]+\}?|\.\.\.|REPLACE.*|xxx+|\*+|none|null)$", re.I)
SECRET_ENV = [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_SESSION_TOKEN",
    "TWITTER_BEARER_TOKEN",
    "TWITTER_API_CONSUMER_SECRET",
    "TWITTER_API_CONSUMER_KEY",
]
MIN_SECRET_ENV_LEN = 8  # shorter values (moto's "testing") are too common to search for


# ---------------------------------------------------------------------------- template loading


def load_template(path: Path) -> dict[str, Any]:
    """YAML (with CloudFormation's short tags, as long-form dicts) or JSON."""
    try:
        import yaml
    except ImportError:
        sys.exit("error: PyYAML is missing: python3 -m pip install pyyaml (cfn-lint brings it)")

    class Loader(yaml.SafeLoader):
        pass

    def construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if suffix == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    Loader.add_multi_constructor("!", construct)
    # CloudFormation keeps "on"/"yes" as strings and dates as text: only plain YAML 1.2-ish types.
    with path.open() as f:
        data = yaml.load(f, Loader=Loader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict) or "Resources" not in data:
        sys.exit(f"error: {path} is not a CloudFormation template (no Resources)")
    return data


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(document: Any) -> Iterator[dict[str, Any]]:
    """Every statement in a policy document, including those inside Fn::If branches."""
    for node in walk(document):
        if isinstance(node, dict) and "Effect" in node and ("Action" in node or "NotAction" in node):
            yield node


# ---------------------------------------------------------------------------- template checks


def wildcard_action(action: Any) -> bool:
    return isinstance(action, str) and ("*" in action or "?" in action)


def check_statement(where: str, statement: dict[str, Any]) -> list[str]:
    problems = []
    if statement.get("Effect") != "Allow":
        return problems
    sid = statement.get("Sid", "?")
    if "NotAction" in statement:
        problems.append(f"{where} statement {sid}: Allow with NotAction grants every other action")
    actions = as_list(statement.get("Action", []))
    for action in actions:
        if wildcard_action(action):
            problems.append(f"{where} statement {sid}: wildcard action {action!r}")
    resources = as_list(statement.get("Resource", []))
    if "NotResource" in statement:
        problems.append(f"{where} statement {sid}: Allow with NotResource")
    if "*" in resources:
        broad = [a for a in actions if not (isinstance(a, str) and a.lower() in NO_RESOURCE_LEVEL_ACTIONS)]
        if broad:
            problems.append(
                f"{where} statement {sid}: Resource '*' for {', '.join(map(str, broad))} "
                "(these actions take resource ARNs)"
            )
    return problems


def parameter_no_echo(template: dict[str, Any]) -> set[str]:
    return {
        name
        for name, spec in (template.get("Parameters") or {}).items()
        if isinstance(spec, dict) and str(spec.get("NoEcho", "")).lower() == "true"
    }


def secret_in_value(template: dict[str, Any], value: Any) -> str | None:
    resources = template.get("Resources") or {}
    no_echo = parameter_no_echo(template)
    for node in walk(value):
        if isinstance(node, dict):
            if "Fn::GetAtt" in node:
                target = node["Fn::GetAtt"]
                target = target.split(".", 1) if isinstance(target, str) else target
                if len(target) == 2 and SECRET_NAME.search(str(target[1])):
                    return f"attribute {target[1]} of {target[0]}"
            if "Ref" in node:
                ref = node["Ref"]
                if ref in no_echo:
                    return f"NoEcho parameter {ref}"
                kind = (resources.get(ref) or {}).get("Type")
                if kind in ("AWS::IAM::AccessKey",):
                    return f"{kind} {ref}"
        elif isinstance(node, str):
            for pattern, what in SECRET_VALUE_PATTERNS:
                if pattern.search(node):
                    return what
    return None


def check_template(template: dict[str, Any], label: str = "template") -> list[str]:
    problems = []
    for name, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type", "")
        props = resource.get("Properties") or {}
        if kind in FORBIDDEN_RESOURCE_TYPES:
            problems.append(f"{label}: {name} is {FORBIDDEN_RESOURCE_TYPES[kind]}")
        if kind == "AWS::IAM::LoginProfile" or (kind == "AWS::IAM::User" and "LoginProfile" in props):
            problems.append(f"{label}: {name} gives an IAM user a password")
        for key in POLICY_RESOURCE_TYPES.get(kind, []):
            for statement in statements(props.get(key)):
                problems += check_statement(f"{label}: {name}.{key}", statement)
        for arn in as_list(props.get("ManagedPolicyArns", [])):
            if isinstance(arn, str) and ":iam::aws:policy/" in arn:
                problems.append(
                    f"{label}: {name} attaches the AWS managed policy {arn.rsplit('/', 1)[-1]} "
                    "(grant exact actions instead)"
                )
    for name, output in (template.get("Outputs") or {}).items():
        if SECRET_NAME.search(name):
            problems.append(f"{label}: output {name} is named like a secret")
        if isinstance(output, dict):
            found = secret_in_value(template, output.get("Value"))
            if found:
                problems.append(f"{label}: output {name} holds {found}")
            export = (output.get("Export") or {}).get("Name")
            if isinstance(export, str) and SECRET_NAME.search(export):
                problems.append(f"{label}: output {name} is exported under a secret-like name")
    return problems


# ---------------------------------------------------------------------------- log checks


def secret_env_values(environ: dict[str, str]) -> dict[str, str]:
    return {
        name: environ[name]
        for name in SECRET_ENV
        if len(environ.get(name, "").strip()) >= MIN_SECRET_ENV_LEN
    }


def check_lines(label: str, lines: Iterable[str], environ: dict[str, str] | None = None) -> list[str]:
    secrets = secret_env_values(dict(os.environ if environ is None else environ))
    problems = []
    for number, line in enumerate(lines, 1):
        where = f"{label}:{number}"
        for pattern, what in SECRET_VALUE_PATTERNS:
            if pattern.search(line):
                problems.append(f"{where}: {what}")
        for match in SECRET_ASSIGNMENT.finditer(line):
            if line.lstrip().startswith("#"):
                continue
            value = match.group("value")
            if not PLACEHOLDER.match(value):
                problems.append(f"{where}: a value for {match.group('name')}")
        for name, value in secrets.items():
            if value in line:
                problems.append(f"{where}: the value of ${name}")
    return problems


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Fail on wildcard IAM actions and on secrets in outputs and logs.",
    )
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    parser.add_argument("--log", action="append", default=[], help="a file to scan ('-' = stdin)")
    parser.add_argument("--no-producer-files", action="store_true",
                        help="skip the systemd unit and environment example")
    args = parser.parse_args(argv)

    problems = check_template(load_template(args.template), str(args.template))
    files = [] if args.no_producer_files else [p for p in PRODUCER_FILES if p.exists()]
    for path in files:
        problems += check_lines(str(path), path.read_text().splitlines())
    for log in args.log:
        if log == "-":
            problems += check_lines("<stdin>", sys.stdin.read().splitlines())
        else:
            problems += check_lines(log, Path(log).read_text(errors="replace").splitlines())

    for problem in problems:
        print(problem, file=sys.stderr)
    checked = 1 + len(files) + len(args.log)
    if problems:
        print(f"check_template: {len(problems)} problem(s) in {checked} file(s)", file=sys.stderr)
        return 1
    print(f"check_template: no wildcard IAM action and no secret in {checked} file(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
