"""What the template says, checked from its text: everything moto does not model (stream mode and
encryption, PITR, SSE, TTL, alarms) is asserted here, and cfn-lint must be clean."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

from support import REPO, SCRIPTS, TEMPLATE, check_template, load_template

T = load_template()
R = T["Resources"]
P = T["Parameters"]


def props(name: str) -> dict:
    return R[name]["Properties"]


def ref(name: str) -> dict:
    return {"Ref": name}


def of_type(kind: str) -> dict[str, dict]:
    return {k: v for k, v in R.items() if v["Type"] == kind}


def actions(statement: dict) -> set[str]:
    a = statement["Action"]
    return {a} if isinstance(a, str) else set(a)


class Lint(unittest.TestCase):
    def test_cfn_lint_is_clean(self):
        exe = shutil.which("cfn-lint")
        command = [exe] if exe else [sys.executable, "-m", "cfnlint"]
        result = subprocess.run(command + [str(TEMPLATE)], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, f"cfn-lint:\n{result.stdout}{result.stderr}")

    def test_security_check_passes(self):
        self.assertEqual(check_template.check_template(T), [])
        with contextlib.redirect_stderr(io.StringIO()) as err:
            self.assertEqual(check_template.main([]), 0, err.getvalue())


class Stream(unittest.TestCase):
    def test_mode_shards_retention(self):
        self.assertEqual(P["StreamMode"]["AllowedValues"], ["ON_DEMAND", "PROVISIONED"])
        self.assertEqual(P["StreamMode"]["Default"], "ON_DEMAND")
        p = props("Stream")
        self.assertEqual(p["StreamModeDetails"], {"StreamMode": ref("StreamMode")})
        # ShardCount only in PROVISIONED mode (CloudFormation rejects it with ON_DEMAND).
        self.assertEqual(p["ShardCount"], {"Fn::If": ["IsProvisioned", ref("ShardCount"), ref("AWS::NoValue")]})
        self.assertEqual(T["Conditions"]["IsProvisioned"], {"Fn::Equals": [ref("StreamMode"), "PROVISIONED"]})
        self.assertEqual(p["RetentionPeriodHours"], ref("StreamRetentionHours"))
        self.assertEqual((P["StreamRetentionHours"]["MinValue"], P["StreamRetentionHours"]["MaxValue"]), (24, 8760))

    def test_encrypted_with_the_aws_managed_key(self):
        self.assertEqual(props("Stream")["StreamEncryption"], {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"})


class Table(unittest.TestCase):
    # Keys, index, projection and TTL are compared with the one definition in
    # table/src/schema.rs by table/tests/template.rs; these are the deployment choices.
    def test_named_after_the_stack(self):
        self.assertEqual(props("EventDataTable")["TableName"], {"Fn::Sub": "${AWS::StackName}-EventData"})

    def test_pitr_sse_and_retained(self):
        p = props("EventDataTable")
        self.assertEqual(p["PointInTimeRecoverySpecification"], {"PointInTimeRecoveryEnabled": True})
        self.assertEqual(p["SSESpecification"], {"SSEEnabled": True})
        self.assertEqual(R["EventDataTable"]["DeletionPolicy"], "Retain")
        self.assertEqual(R["EventDataTable"]["UpdateReplacePolicy"], "Retain")


class Function(unittest.TestCase):
    def test_runtime_code_and_sizing(self):
        p = props("ConsumerFunction")
        self.assertEqual((p["Runtime"], p["Handler"]), ("provided.al2023", "bootstrap"))
        self.assertEqual(p["Architectures"], [ref("Architecture")])
        self.assertEqual(P["Architecture"]["Default"], "arm64")
        self.assertEqual(sorted(P["Architecture"]["AllowedValues"]), ["arm64", "x86_64"])
        self.assertEqual(p["Code"], {"S3Bucket": ref("LambdaS3BucketName"), "S3Key": ref("LambdaZipfileName")})
        self.assertEqual(p["MemorySize"], ref("FunctionMemoryMB"))
        self.assertEqual(p["Timeout"], ref("FunctionTimeoutSeconds"))
        self.assertEqual(p["FunctionName"], {"Fn::Sub": "${AWS::StackName}-twitter-consumer"})

    def test_environment(self):
        env = props("ConsumerFunction")["Environment"]["Variables"]
        self.assertEqual(env["TABLE_NAME"], ref("EventDataTable"))
        self.assertEqual(env["DEAD_LETTER_QUEUE_URL"], ref("DeadLetterQueue"))
        self.assertEqual(env["RETENTION_DAYS"], {"Fn::If": ["HasRetention", ref("RetentionDays"), ref("AWS::NoValue")]})
        self.assertEqual(env["RUST_LOG"], ref("LogLevel"))
        self.assertEqual(P["RetentionDays"]["Default"], 0)

    def test_log_group_with_retention_exists_first(self):
        log = props("ConsumerLogGroup")
        self.assertEqual(log["RetentionInDays"], ref("LogRetentionDays"))
        self.assertEqual(log["LogGroupName"], {"Fn::Sub": "/aws/lambda/${AWS::StackName}-twitter-consumer"})
        self.assertEqual(R["ConsumerFunction"]["DependsOn"], "ConsumerLogGroup")


class Mapping(unittest.TestCase):
    def test_settings(self):
        p = props("StreamMapping")
        self.assertEqual(p["EventSourceArn"], {"Fn::GetAtt": ["Stream", "Arn"]})
        self.assertEqual(p["FunctionName"], ref("ConsumerFunction"))
        for name in ("BatchSize", "MaximumBatchingWindowInSeconds", "StartingPosition",
                     "ParallelizationFactor", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds"):
            self.assertEqual(p[name], ref(name), name)
        self.assertEqual(p["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertIs(p["BisectBatchOnFunctionError"], True)
        self.assertEqual(p["DestinationConfig"], {"OnFailure": {"Destination": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}})
        self.assertEqual(sorted(P["StartingPosition"]["AllowedValues"]), ["LATEST", "TRIM_HORIZON"])

    def test_retries_and_age_are_finite(self):
        # -1 would mean "forever": a poison batch would block its shard until the data expires.
        self.assertGreaterEqual(P["MaximumRetryAttempts"]["MinValue"], 0)
        self.assertGreaterEqual(P["MaximumRecordAgeInSeconds"]["MinValue"], 60)
        self.assertLessEqual(P["BatchSize"]["MaxValue"], 10000)
        self.assertLess(P["MaximumRecordAgeInSeconds"]["Default"], P["StreamRetentionHours"]["Default"] * 3600)


class DeadLetterQueue(unittest.TestCase):
    def test_encrypted_fourteen_days(self):
        p = props("DeadLetterQueue")
        self.assertEqual(p["MessageRetentionPeriod"], 14 * 24 * 3600)
        self.assertIs(p["SqsManagedSseEnabled"], True)


class Iam(unittest.TestCase):
    def consumer_statements(self) -> dict[str, dict]:
        (policy,) = props("ConsumerRole")["Policies"]
        return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}

    def test_consumer_role_exact_actions_on_exact_resources(self):
        s = self.consumer_statements()
        expected = {
            "ReadStream": ({"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                            "kinesis:GetShardIterator", "kinesis:ListShards"}, {"Fn::GetAtt": ["Stream", "Arn"]}),
            "WriteTable": ({"dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:DescribeTable"},
                           {"Fn::GetAtt": ["EventDataTable", "Arn"]}),
            "DeadLetters": ({"sqs:SendMessage"}, {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}),
        }
        self.assertEqual(set(s), set(expected) | {"Logs"})
        for sid, (acts, resource) in expected.items():
            self.assertEqual(actions(s[sid]), acts, sid)
            self.assertEqual(s[sid]["Resource"], resource, sid)
            self.assertEqual(s[sid]["Effect"], "Allow")
        self.assertEqual(actions(s["Logs"]), {"logs:CreateLogStream", "logs:PutLogEvents"})
        self.assertIn("log-group:${ConsumerLogGroup}:*", s["Logs"]["Resource"]["Fn::Sub"])
        trust = props("ConsumerRole")["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual(trust, [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}])
        self.assertNotIn("ManagedPolicyArns", props("ConsumerRole"))

    def test_producer_policy_both_branches(self):
        statement = props("ProducerPolicy")["PolicyDocument"]["Statement"]
        condition, with_token, without_token = statement["Fn::If"]
        self.assertEqual(condition, "HasTokenParameter")
        for branch in (with_token, without_token):
            write = branch[0]
            self.assertEqual(actions(write), {"kinesis:DescribeStreamSummary", "kinesis:PutRecords"})
            self.assertEqual(write["Resource"], {"Fn::GetAtt": ["Stream", "Arn"]})
        self.assertEqual(len(without_token), 1)
        self.assertEqual(len(with_token), 2)
        self.assertEqual(actions(with_token[1]), {"ssm:GetParameter"})
        self.assertTrue(with_token[1]["Resource"]["Fn::Sub"].endswith(":parameter${TokenParameterName}"))
        # The name must start with "/" for that ARN to be right.
        self.assertTrue(re.fullmatch(P["TokenParameterName"]["AllowedPattern"], "/twitter-pipeline/bearer-token"))
        self.assertIsNone(re.fullmatch(P["TokenParameterName"]["AllowedPattern"], "no-slash"))

    def test_query_policy_reads_only_the_table_and_its_index(self):
        s = {st["Sid"]: st for st in props("QueryPolicy")["PolicyDocument"]["Statement"]}
        self.assertEqual(set(s), {"ReadTable", "ReadKeywordIndex"})
        self.assertEqual(actions(s["ReadTable"]), {"dynamodb:Query", "dynamodb:BatchGetItem"})
        self.assertEqual(s["ReadTable"]["Resource"], {"Fn::GetAtt": ["EventDataTable", "Arn"]})
        self.assertEqual(actions(s["ReadKeywordIndex"]), {"dynamodb:Query", "dynamodb:Scan"})
        # The index in the ARN is the one the table defines.
        index_names = [g["IndexName"] for g in props("EventDataTable")["GlobalSecondaryIndexes"]]
        self.assertEqual(s["ReadKeywordIndex"]["Resource"], {"Fn::Sub": f"${{EventDataTable.Arn}}/index/{index_names[0]}"})

    def test_instance_role_and_profile_optional(self):
        for name in ("ProducerInstanceRole", "ProducerInstanceProfile"):
            self.assertEqual(R[name]["Condition"], "CreateInstanceRole")
        role = props("ProducerInstanceRole")
        self.assertEqual(role["ManagedPolicyArns"], [ref("ProducerPolicy")])
        self.assertEqual(role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"], {"Service": "ec2.amazonaws.com"})
        self.assertEqual(props("ProducerInstanceProfile")["Roles"], [ref("ProducerInstanceRole")])
        self.assertEqual(P["CreateProducerInstanceRole"]["Default"], "false")

    def test_no_users_or_keys(self):
        kinds = {r["Type"] for r in R.values()}
        self.assertFalse(kinds & {"AWS::IAM::User", "AWS::IAM::AccessKey", "AWS::IAM::Group"})


class Alarms(unittest.TestCase):
    def test_four_alarms_on_the_right_metrics(self):
        alarms = {p["Properties"]["MetricName"]: p["Properties"] for p in of_type("AWS::CloudWatch::Alarm").values()}
        self.assertEqual(set(alarms), {"IteratorAge", "Errors", "Throttles", "ApproximateNumberOfMessagesVisible"})
        for metric in ("IteratorAge", "Errors", "Throttles"):
            self.assertEqual(alarms[metric]["Namespace"], "AWS/Lambda")
            self.assertEqual(alarms[metric]["Dimensions"], [{"Name": "FunctionName", "Value": ref("ConsumerFunction")}])
        dlq = alarms["ApproximateNumberOfMessagesVisible"]
        self.assertEqual(dlq["Namespace"], "AWS/SQS")
        self.assertEqual(dlq["Dimensions"], [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}])
        self.assertEqual((dlq["Threshold"], dlq["ComparisonOperator"]), (0, "GreaterThanThreshold"))
        self.assertEqual(alarms["IteratorAge"]["Threshold"], ref("IteratorAgeAlarmMilliseconds"))
        for alarm in alarms.values():
            self.assertEqual(alarm["AlarmActions"], {"Fn::If": ["HasAlarmTopic", [ref("AlarmTopicArn")], ref("AWS::NoValue")]})
        self.assertEqual(P["AlarmTopicArn"]["Default"], "")


class Dashboard(unittest.TestCase):
    def test_charts_the_consumers_metrics(self):
        body_template, variables = props("Dashboard")["DashboardBody"]["Fn::Sub"]
        emf = (REPO / "consumer" / "src" / "emf.rs").read_text()
        namespace = re.search(r'pub const NAMESPACE: &str = "([^"]+)";', emf).group(1)
        self.assertIn(f"SEARCH('{{{namespace},Keyword}} MetricName=\\\"PostsWritten\\\"', 'Sum', 60)", body_template)
        # The metric and dimension names the consumer emits.
        for word in ('"PostsWritten"', '"Keyword"', '"Function"', '"PoisonRecords"', '"RetriedRecords"', '"Records"'):
            self.assertIn(word, emf)
        for widget in ("IteratorAge", "Errors", "Throttles", "ApproximateNumberOfMessagesVisible"):
            self.assertIn(f'"{widget}"', body_template)
        self.assertEqual(variables, {"Function": ref("ConsumerFunction"), "Queue": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}})


class Outputs(unittest.TestCase):
    def test_names(self):
        outputs = T["Outputs"]
        for name in ("StreamName", "StreamArn", "TableName", "FunctionName", "DeadLetterQueueUrl", "ProducerPolicyArn"):
            self.assertIn(name, outputs)
            self.assertNotIn("Condition", outputs[name])
        self.assertEqual(outputs["ProducerInstanceProfileName"]["Condition"], "CreateInstanceRole")


class ProducerService(unittest.TestCase):
    UNIT = (SCRIPTS / "twitter-producer.service").read_text()
    ENV = (SCRIPTS / "twitter-producer.env.example").read_text()

    def setting(self, name: str) -> str:
        match = re.search(rf"^{name}=(.*)$", self.UNIT, re.M)
        self.assertIsNotNone(match, name)
        return match.group(1)

    def test_restart_policy_and_environment(self):
        self.assertEqual(self.setting("Restart"), "on-failure")
        self.assertEqual(self.setting("RestartPreventExitStatus"), "2")
        self.assertGreater(int(self.setting("TimeoutStopSec")), 10)
        self.assertEqual(self.setting("EnvironmentFile"), "/etc/twitter-producer/twitter-producer.env")
        self.assertEqual(self.setting("StateDirectory"), "twitter-producer")
        self.assertIn("$TWITTER_PRODUCER_ARGS", self.setting("ExecStart"))

    def test_env_example_names_the_producer_variables_and_no_keys(self):
        names = set(re.findall(r"^([A-Z_]+)=", self.ENV, re.M))
        self.assertTrue({"AWS_REGION", "AWS_STREAM_NAME", "TWITTER_BEARER_TOKEN_PARAMETER", "TWITTER_PRODUCER_ARGS"} <= names)
        self.assertFalse(names & {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "TWITTER_BEARER_TOKEN"})

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_systemd_accepts_the_unit(self):
        with tempfile.TemporaryDirectory() as tmp:
            unit = Path(tmp) / "twitter-producer.service"
            unit.write_text(self.UNIT.replace("/usr/local/bin/twitter-producer", shutil.which("true")))
            result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertNotIn("Unknown", result.stderr)


if __name__ == "__main__":
    unittest.main()
