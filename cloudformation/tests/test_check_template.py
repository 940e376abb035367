"""scripts/check_template.py finds what it is meant to find: each case breaks the real template
(or a log) in one way and expects exactly that finding."""

from __future__ import annotations

import copy
import subprocess
import sys
import unittest

from support import SCRIPTS, TEMPLATE, check_template, load_template

BASE = load_template()


def broken(change) -> list[str]:
    template = copy.deepcopy(BASE)
    change(template)
    return check_template.check_template(template)


def consumer_statement(template: dict, sid: str) -> dict:
    (policy,) = template["Resources"]["ConsumerRole"]["Properties"]["Policies"]
    return next(s for s in policy["PolicyDocument"]["Statement"] if s["Sid"] == sid)


class TemplateFindings(unittest.TestCase):
    def assertFinds(self, problems: list[str], *fragments: str):
        self.assertTrue(problems, "expected a finding, got none")
        joined = "\n".join(problems)
        for fragment in fragments:
            self.assertIn(fragment, joined)

    def test_real_template_is_clean(self):
        self.assertEqual(check_template.check_template(BASE), [])

    def test_star_action(self):
        def change(t):
            consumer_statement(t, "WriteTable")["Action"] = "*"
        self.assertFinds(broken(change), "ConsumerRole", "WriteTable", "wildcard action '*'")

    def test_service_star_action(self):
        def change(t):
            consumer_statement(t, "DeadLetters")["Action"] = ["sqs:*"]
        self.assertFinds(broken(change), "wildcard action 'sqs:*'")

    def test_prefix_wildcard_action(self):
        def change(t):
            consumer_statement(t, "ReadStream")["Action"].append("kinesis:Get*")
        self.assertFinds(broken(change), "wildcard action 'kinesis:Get*'")

    def test_wildcard_inside_a_condition_branch(self):
        def change(t):
            branch = t["Resources"]["ProducerPolicy"]["Properties"]["PolicyDocument"]["Statement"]["Fn::If"][1]
            branch[1]["Action"] = "ssm:Get*"
        self.assertFinds(broken(change), "ProducerPolicy", "ssm:Get*")

    def test_not_action(self):
        def change(t):
            statement = consumer_statement(t, "DeadLetters")
            statement["NotAction"] = statement.pop("Action")
        self.assertFinds(broken(change), "NotAction")

    def test_resource_star_for_resource_level_action(self):
        def change(t):
            consumer_statement(t, "WriteTable")["Resource"] = "*"
        self.assertFinds(broken(change), "Resource '*'", "dynamodb:BatchWriteItem")

    def test_resource_star_allowed_for_actions_without_resource_level_permissions(self):
        def change(t):
            (policy,) = t["Resources"]["ConsumerRole"]["Properties"]["Policies"]
            policy["PolicyDocument"]["Statement"].append(
                {"Sid": "Metrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"}
            )
        self.assertEqual(broken(change), [])

    def test_aws_managed_policy(self):
        def change(t):
            t["Resources"]["ConsumerRole"]["Properties"]["ManagedPolicyArns"] = [
                "arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole"
            ]
        self.assertFinds(broken(change), "AWSLambdaKinesisExecutionRole")

    def test_iam_user_and_access_key_with_secret_output(self):
        def change(t):
            t["Resources"]["ProducerUser"] = {"Type": "AWS::IAM::User", "Properties": {}}
            t["Resources"]["ProducerKey"] = {"Type": "AWS::IAM::AccessKey", "Properties": {"UserName": {"Ref": "ProducerUser"}}}
            t["Outputs"]["ProducerKeyId"] = {"Value": {"Ref": "ProducerKey"}}
            t["Outputs"]["Credentials"] = {"Value": {"Fn::GetAtt": ["ProducerKey", "SecretAccessKey"]}}
        problems = broken(change)
        self.assertFinds(problems, "ProducerUser is an IAM user", "ProducerKey is an IAM access key",
                         "output ProducerKeyId holds AWS::IAM::AccessKey",
                         "output Credentials is named like a secret",
                         "output Credentials holds attribute SecretAccessKey")

    def test_secret_like_output_values(self):
        def change(t):
            t["Parameters"]["ApiPassword"] = {"Type": "String", "NoEcho": True}
            t["Outputs"]["Pw"] = {"Value": {"Fn::Sub": ["x-${P}", {"P": {"Ref": "ApiPassword"}}]}}
            t["Outputs"]["Resolved"] = {"Value": "{{resolve:secretsmanager:prod/x:SecretString:token}}"}
            t["Outputs"]["Literal"] = {"Value": "AKIAIOSFODNN7EXAMPLE"}
        self.assertFinds(broken(change), "output Pw holds NoEcho parameter ApiPassword",
                         "output Resolved holds a dynamic secret reference",
                         "output Literal holds an AWS access key id")

    def test_output_named_token(self):
        def change(t):
            t["Outputs"]["BearerToken"] = {"Value": {"Ref": "TokenParameterName"}}
        self.assertFinds(broken(change), "output BearerToken is named like a secret")


class LogFindings(unittest.TestCase):
    ENV = {"AWS_SECRET_ACCESS_KEY": "s3cr3t-value-for-the-check", "TWITTER_BEARER_TOKEN": "short"}

    def lines(self, *lines: str) -> list[str]:
        return check_template.check_lines("log", lines, self.ENV)

    def test_clean_deploy_output(self):
        self.assertEqual(self.lines(
            "  StreamName  demo-Stream-ABC",
            "  AWS_STREAM_NAME=demo-Stream-ABC",
            "  TWITTER_BEARER_TOKEN_PARAMETER=/twitter-pipeline/bearer-token",
            "  # TWITTER_BEARER_TOKEN in the environment",
            "TWITTER_BEARER_TOKEN=<your token>",
        ), [])

    def test_secret_shapes(self):
        problems = self.lines(
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            '{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG"}',
            "TWITTER_BEARER_TOKEN=AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid",
            "Authorization: Bearer abcdefghijklmnopqrstuvwx",
            "-----BEGIN RSA PRIVATE KEY-----",
            "TWITTER_API_CONSUMER_SECRET=abc123",
        )
        joined = "\n".join(problems)
        for fragment in ("log:1: an AWS access key id", "log:2: a value for AWS_SECRET_ACCESS_KEY",
                         "log:3: a value for SecretAccessKey", "log:4: an X bearer token",
                         "log:5: a bearer token", "log:6: a private key",
                         "log:7: a value for TWITTER_API_CONSUMER_SECRET"):
            self.assertIn(fragment, joined)
        self.assertNotIn("wJalrXUtnFEMI", joined, "a finding must not print the secret")

    def test_value_of_a_secret_environment_variable(self):
        problems = self.lines("connecting with s3cr3t-value-for-the-check as the key")
        self.assertEqual(problems, ["log:1: the value of $AWS_SECRET_ACCESS_KEY"])
        # Too short to search for without false alarms.
        self.assertEqual(self.lines("short"), [])


class CommandLine(unittest.TestCase):
    def run_check(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(SCRIPTS / "check_template.py"), *args],
                              input=stdin, capture_output=True, text=True)

    def test_exit_codes(self):
        ok = self.run_check("--template", str(TEMPLATE))
        self.assertEqual(ok.returncode, 0, ok.stderr)
        bad = self.run_check("--log", "-", stdin="key AKIAIOSFODNN7EXAMPLE\n")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("<stdin>:1: an AWS access key id", bad.stderr)
        self.assertNotIn("AKIAIOSFODNN7EXAMPLE", bad.stderr)


if __name__ == "__main__":
    unittest.main()
