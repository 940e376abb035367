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


def resolve(node, parameters: dict):
    """A template fragment as CloudFormation would deploy it with these parameters: Ref to a
    parameter, Fn::If on the template's Fn::Equals conditions, AWS::NoValue dropped."""
    def condition(name: str) -> bool:
        left, right = (resolve(v, parameters) for v in T["Conditions"][name]["Fn::Equals"])
        return str(left) == str(right)

    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in parameters:
            return parameters[node["Ref"]]
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return resolve(yes if condition(name) else no, parameters)
        out = {k: resolve(v, parameters) for k, v in node.items()}
        return {k: v for k, v in out.items() if v != ref("AWS::NoValue")}
    if isinstance(node, list):
        return [resolve(v, parameters) for v in node]
    return node


class Stream(unittest.TestCase):
    def test_mode_shards_retention(self):
        self.assertEqual(P["StreamMode"]["AllowedValues"], ["ON_DEMAND", "PROVISIONED"])
        # One provisioned shard holds one X connection at full speed (250 posts/s, ~625 KB/s, within
        # 1 MB/s and 1,000 records/s) for $10.95 a month; ON_DEMAND costs $29.20 before a post.
        self.assertEqual(P["StreamMode"]["Default"], "PROVISIONED")
        self.assertEqual(P["ShardCount"]["Default"], 1)
        # AWS::Kinesis::Stream takes 1 to 100,000 shards (the account's quota applies on top).
        self.assertEqual((P["ShardCount"]["MinValue"], P["ShardCount"]["MaxValue"]), (1, 100000))
        p = props("Stream")
        self.assertEqual(p["StreamModeDetails"], {"StreamMode": ref("StreamMode")})
        # ShardCount only in PROVISIONED mode (CloudFormation rejects it with ON_DEMAND).
        self.assertEqual(p["ShardCount"], {"Fn::If": ["IsProvisioned", ref("ShardCount"), ref("AWS::NoValue")]})
        self.assertEqual(T["Conditions"]["IsProvisioned"], {"Fn::Equals": [ref("StreamMode"), "PROVISIONED"]})
        self.assertEqual(p["RetentionPeriodHours"], ref("StreamRetentionHours"))
        self.assertEqual((P["StreamRetentionHours"]["MinValue"], P["StreamRetentionHours"]["MaxValue"]), (24, 8760))

    def test_on_demand_deploys_without_a_shard_count(self):
        # CloudFormation refuses ShardCount beside StreamMode ON_DEMAND.
        on_demand = resolve(props("Stream"), {"StreamMode": "ON_DEMAND", "ShardCount": 3, "StreamRetentionHours": 24})
        self.assertNotIn("ShardCount", on_demand)
        self.assertEqual(on_demand["StreamModeDetails"], {"StreamMode": "ON_DEMAND"})
        provisioned = resolve(props("Stream"), {"StreamMode": "PROVISIONED", "ShardCount": 3, "StreamRetentionHours": 24})
        self.assertEqual(provisioned["ShardCount"], 3)
        self.assertEqual(provisioned["StreamModeDetails"], {"StreamMode": "PROVISIONED"})
        defaults = {name: P[name]["Default"] for name in ("StreamMode", "ShardCount", "StreamRetentionHours")}
        self.assertEqual(resolve(props("Stream"), defaults)["ShardCount"], 1)

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
        self.assertEqual(env["FAILED_BATCH_BUCKET"], ref("FailedBatchBucket"))
        self.assertEqual(env["RETENTION_DAYS"], {"Fn::If": ["HasRetention", ref("RetentionDays"), ref("AWS::NoValue")]})
        self.assertEqual(env["RUST_LOG"], ref("LogLevel"))
        self.assertEqual(P["RetentionDays"]["Default"], 0)
        self.assertEqual(env["METRIC_KEYWORDS"], {"Fn::If": ["HasMetricKeywords", ref("MetricKeywords"), ref("AWS::NoValue")]})
        self.assertEqual(T["Conditions"]["HasMetricKeywords"], {"Fn::Not": [{"Fn::Equals": [ref("MetricKeywords"), ""]}]})
        self.assertEqual(P["MetricKeywords"]["Default"], "")

    def test_metric_keywords_are_bounded_as_the_consumer_bounds_them(self):
        source = (REPO / "consumer" / "src" / "metric_keywords.rs").read_text()
        cap = int(re.search(r"pub const MAX_METRIC_KEYWORDS: usize = (\d+);", source).group(1))
        pattern = P["MetricKeywords"]["AllowedPattern"]
        self.assertIn(f"{{0,{cap - 1}}}", pattern)

        def accepted(value: str) -> bool:
            return re.fullmatch(pattern, value) is not None

        names = [f"keyword {i}" for i in range(cap + 1)]
        self.assertTrue(accepted(""))
        self.assertTrue(accepted(",".join(names[:cap])))
        self.assertFalse(accepted(",".join(names)))
        self.assertTrue(accepted("rust lang,coca-cola,#tag,@who,(none)"))
        # CloudWatch dimension values are printable ASCII: the consumer refuses anything else.
        for value in ("寿司", "a\tb", "rust,\u00e9t\u00e9"):
            self.assertFalse(accepted(value), value)

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
        # A discarded batch goes whole to the bucket (an SQS destination gets only its sequence range).
        self.assertEqual(p["DestinationConfig"], {"OnFailure": {"Destination": {"Fn::GetAtt": ["FailedBatchBucket", "Arn"]}}})
        self.assertEqual(sorted(P["StartingPosition"]["AllowedValues"]), ["LATEST", "TRIM_HORIZON"])

    def test_batching_window(self):
        # 5 s: at a keyword's few posts a second, one invocation for several posts rather than one
        # per post (the poller reads a shard about once a second), for a few seconds of latency.
        self.assertEqual(P["MaximumBatchingWindowInSeconds"]["Default"], 5)
        # Kinesis event source mappings take 0 to 300 seconds.
        window = P["MaximumBatchingWindowInSeconds"]
        self.assertEqual((window["MinValue"], window["MaxValue"]), (0, 300))

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


class FailedBatchBucket(unittest.TestCase):
    def test_private_encrypted_and_owned_by_the_account(self):
        p = props("FailedBatchBucket")
        self.assertEqual(p["PublicAccessBlockConfiguration"], {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True})
        self.assertEqual(p["OwnershipControls"], {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        # SSE-S3: Lambda's delivery needs no kms: permission (the role has none).
        self.assertEqual(p["BucketEncryption"], {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        # Unversioned: an expired batch is gone, not kept as a noncurrent version.
        self.assertNotIn("VersioningConfiguration", p)
        # A generated name: a stack deployed again under its old name does not collide with the
        # bucket the first one kept.
        self.assertNotIn("BucketName", p)

    def test_kept_on_delete_and_replace(self):
        self.assertEqual(R["FailedBatchBucket"]["DeletionPolicy"], "Retain")
        self.assertEqual(R["FailedBatchBucket"]["UpdateReplacePolicy"], "Retain")

    def test_lifecycle_expires_after_the_parameter(self):
        (rule,) = props("FailedBatchBucket")["LifecycleConfiguration"]["Rules"]
        self.assertEqual(rule["Status"], "Enabled")
        self.assertEqual(rule["ExpirationInDays"], ref("FailedBatchRetentionDays"))
        self.assertEqual(rule["AbortIncompleteMultipartUpload"], {"DaysAfterInitiation": 1})
        # The whole bucket: no filter narrows the rule.
        self.assertFalse({"Prefix", "Filter", "TagFilters"} & set(rule))
        days = P["FailedBatchRetentionDays"]
        self.assertEqual((days["Type"], days["Default"], days["MinValue"]), ("Number", 90, 1))
        # Longer than the stream keeps a record, or the bucket would be no better than Kinesis.
        self.assertGreater(days["Default"] * 24, P["StreamRetentionHours"]["Default"])

    def test_policy_refuses_every_request_without_tls(self):
        p = props("FailedBatchBucketPolicy")
        self.assertEqual(p["Bucket"], ref("FailedBatchBucket"))
        (statement,) = p["PolicyDocument"]["Statement"]
        self.assertEqual(statement, {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [{"Fn::GetAtt": ["FailedBatchBucket", "Arn"]}, {"Fn::Sub": "${FailedBatchBucket.Arn}/*"}],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        })

    def test_request_metrics_for_the_whole_bucket(self):
        (config,) = props("FailedBatchBucket")["MetricsConfigurations"]
        self.assertEqual(config, {"Id": "EntireBucket"})


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
            # What the Lambda guide lists for an S3 on-failure destination, each on its resource:
            # ListBucket is a bucket action, PutObject an object one.
            "ListFailedBatchBucket": ({"s3:ListBucket"}, {"Fn::GetAtt": ["FailedBatchBucket", "Arn"]}),
            "WriteFailedBatches": ({"s3:PutObject"}, {"Fn::Sub": "${FailedBatchBucket.Arn}/*"}),
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
    def test_five_alarms_on_the_right_metrics(self):
        alarms = {p["Properties"]["MetricName"]: p["Properties"] for p in of_type("AWS::CloudWatch::Alarm").values()}
        self.assertEqual(set(alarms), {"IteratorAge", "Errors", "Throttles", "ApproximateNumberOfMessagesVisible", "PutRequests"})
        for metric in ("IteratorAge", "Errors", "Throttles"):
            self.assertEqual(alarms[metric]["Namespace"], "AWS/Lambda")
            self.assertEqual(alarms[metric]["Dimensions"], [{"Name": "FunctionName", "Value": ref("ConsumerFunction")}])
        dlq = alarms["ApproximateNumberOfMessagesVisible"]
        self.assertEqual(dlq["Namespace"], "AWS/SQS")
        self.assertEqual(dlq["Dimensions"], [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}])
        self.assertEqual((dlq["Threshold"], dlq["ComparisonOperator"]), (0, "GreaterThanThreshold"))
        self.assertEqual(alarms["IteratorAge"]["Threshold"], ref("IteratorAgeAlarmMilliseconds"))
        # Any object written to the failed-batch bucket: the request metrics of its one metrics
        # configuration, whose Id is the FilterId dimension.
        failed = alarms["PutRequests"]
        (config,) = props("FailedBatchBucket")["MetricsConfigurations"]
        self.assertEqual(failed["Namespace"], "AWS/S3")
        self.assertEqual(failed["Dimensions"], [{"Name": "BucketName", "Value": ref("FailedBatchBucket")},
                                                {"Name": "FilterId", "Value": config["Id"]}])
        self.assertEqual((failed["Statistic"], failed["Threshold"], failed["ComparisonOperator"], failed["TreatMissingData"]),
                         ("Sum", 0, "GreaterThanThreshold", "notBreaching"))
        for alarm in alarms.values():
            self.assertEqual(alarm["AlarmActions"], {"Fn::If": ["HasAlarmTopic", [ref("AlarmTopicArn")], ref("AWS::NoValue")]})
        self.assertEqual(P["AlarmTopicArn"]["Default"], "")


class Dashboard(unittest.TestCase):
    EMF = (REPO / "consumer" / "src" / "emf.rs").read_text()

    def constant(self, name: str) -> str:
        match = re.search(rf'pub const {name}: &str = "([^"]+)";', self.EMF)
        self.assertIsNotNone(match, name)
        return match.group(1)

    def test_charts_the_consumers_metrics(self):
        body_template, variables = props("Dashboard")["DashboardBody"]["Fn::Sub"]
        namespace = self.constant("NAMESPACE")
        function = self.constant("FUNCTION_DIMENSION")
        keyword = self.constant("KEYWORD_DIMENSION")
        # By keyword: this stack's function only, under the dimensions the keyword lines carry.
        self.assertIn(f"SEARCH('{{{namespace},{function},{keyword}}} {function}=\\\"${{Function}}\\\" "
                      f"MetricName=\\\"PostsWritten\\\"', 'Sum', 60)", body_template)
        totals = re.search(r"pub const TOTALS_METRICS: \[&str; \d+\] = \[([^\]]*)\]", self.EMF).group(1)
        emitted = re.findall(r'"([A-Za-z]+)"', totals)
        keyword_metrics = re.findall(r'"([A-Za-z]+)"', re.search(r"pub const KEYWORD_METRICS: \[&str; \d+\] = \[([^\]]*)\]", self.EMF).group(1))
        self.assertIn("PostsWritten", keyword_metrics)
        charted = re.findall(rf'\["{namespace}", "([A-Za-z]+)", "([A-Za-z]+)", "\$\{{Function\}}"\]', body_template)
        self.assertEqual([m for m, _ in charted], ["Records", "PostsWritten", "PoisonRecords", "RetriedRecords"])
        for metric, dimension in charted:
            self.assertIn(metric, emitted)
            self.assertEqual(dimension, function)
        # No chart of the consumer's namespace without the function's dimension.
        self.assertNotRegex(body_template, rf'"{namespace}", "[A-Za-z]+", "(?!{function}")')
        for widget in ("IteratorAge", "Errors", "Throttles", "ApproximateNumberOfMessagesVisible"):
            self.assertIn(f'"{widget}"', body_template)
        self.assertIn('["AWS/S3", "PutRequests", "BucketName", "${Bucket}", "FilterId", "EntireBucket"]', body_template)
        self.assertEqual(variables, {"Function": ref("ConsumerFunction"), "Queue": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]},
                                     "Bucket": ref("FailedBatchBucket")})

    def test_no_alarm_watches_the_consumers_namespace_without_the_function(self):
        namespace = self.constant("NAMESPACE")
        function = self.constant("FUNCTION_DIMENSION")
        for name, alarm in of_type("AWS::CloudWatch::Alarm").items():
            p = alarm["Properties"]
            if p.get("Namespace") == namespace:
                self.assertIn(function, [d["Name"] for d in p["Dimensions"]], name)


class Outputs(unittest.TestCase):
    def test_names(self):
        outputs = T["Outputs"]
        for name in ("StreamName", "StreamArn", "TableName", "FunctionName", "DeadLetterQueueUrl", "ProducerPolicyArn",
                     "FailedBatchBucketName"):
            self.assertIn(name, outputs)
            self.assertNotIn("Condition", outputs[name])
        self.assertEqual(outputs["FailedBatchBucketName"]["Value"], ref("FailedBatchBucket"))
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
