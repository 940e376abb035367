"""scripts/deploy.sh and scripts/destroy.sh against a private moto server: deploy, describe what
was created, update, destroy.

moto is not a validator: it ignores Kinesis StreamModeDetails and encryption, DynamoDB PITR, SSE
and TTL, an S3 bucket's public access block, ownership controls, lifecycle rules and metrics
configurations, AWS::S3::BucketPolicy resources, and creates no CloudWatch alarms. Those are
checked from the template text in test_template.py; here every property moto does keep is read
back from the live resources.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import subprocess
import tempfile
import unittest
import zipfile
from pathlib import Path

import boto3

from support import SCRIPTS, Moto, check_template

REGION = "eu-west-1"  # not us-east-1: the bucket is created with a LocationConstraint
ACCOUNT = "123456789012"  # moto's
SECRET = "moto-secret-key-that-must-never-be-printed-4f9c"
TOKEN = "AAAAAAAAAAAAAAAAAAAAAtest-bearer-token-never-printed"
TOKEN_PARAMETER = "/twitter-pipeline/test-token"

moto: Moto | None = None
tmp: tempfile.TemporaryDirectory | None = None


def setUpModule():
    global moto, tmp
    moto = Moto()
    tmp = tempfile.TemporaryDirectory()


def tearDownModule():
    if moto:
        moto.stop()
    if tmp:
        tmp.cleanup()


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    e.update(
        AWS_ENDPOINT_URL=moto.endpoint,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.path.join(tmp.name, "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=os.path.join(tmp.name, "no-credentials"),
        TWITTER_BEARER_TOKEN=TOKEN,
    )
    return e


def client(service: str):
    return boto3.client(service, endpoint_url=moto.endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key=SECRET)


def run(script: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPTS / script), *args], env=env(), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def dummy_zip(name: str, body: bytes) -> Path:
    """A zip with an executable 'bootstrap' at its root (a script: moto never runs it)."""
    path = Path(tmp.name) / name
    with zipfile.ZipFile(path, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        z.writestr(info, body)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def policy_document(document) -> dict:
    """moto hands inline role policies back as a Python repr string."""
    if isinstance(document, dict):
        return document
    try:
        return json.loads(document)
    except ValueError:
        return ast.literal_eval(document)


def by_sid(document: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in document["Statement"]}


def action_set(statement: dict) -> set[str]:
    a = statement["Action"]
    return {a} if isinstance(a, str) else set(a)


def read_env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


class Deployed(unittest.TestCase):
    """One stack with every parameter away from its default, so each is seen to flow through
    (StreamMode stays PROVISIONED so that ShardCount applies: OnDemand deploys the other mode)."""

    STACK = "tpfull"
    PARAMS = {
        "StreamMode": "PROVISIONED",
        "ShardCount": "2",
        "StreamRetentionHours": "48",
        "FunctionMemoryMB": "512",
        "FunctionTimeoutSeconds": "90",
        "LogLevel": "twitter_consumer=debug",
        "LogRetentionDays": "14",
        "RetentionDays": "30",
        "MetricKeywords": "rust,rust lang",
        "BatchSize": "250",
        "MaximumBatchingWindowInSeconds": "10",
        "StartingPosition": "LATEST",
        "ParallelizationFactor": "2",
        "MaximumRetryAttempts": "7",
        "MaximumRecordAgeInSeconds": "3600",
        "TokenParameterName": TOKEN_PARAMETER,
        "CreateProducerInstanceRole": "true",
        "AlarmTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:pipeline-alerts",
    }

    @classmethod
    def setUpClass(cls):
        cls.zip = dummy_zip("full.zip", b"#!/bin/sh\necho full\n")
        cls.outputs_file = Path(tmp.name) / "full.env"
        cls.result = run("deploy.sh", cls.STACK, "--arch", "x86_64", "--zip", str(cls.zip),
                         "--outputs-env", str(cls.outputs_file),
                         *(f"{k}={v}" for k, v in cls.PARAMS.items()))
        if cls.result.returncode != 0:
            raise AssertionError(f"deploy.sh failed ({cls.result.returncode}):\n{cls.result.stdout}\n{cls.result.stderr}")
        stack = client("cloudformation").describe_stacks(StackName=cls.STACK)["Stacks"][0]
        cls.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    def test_outputs(self):
        self.assertEqual(set(self.outputs), {
            "StreamName", "StreamArn", "TableName", "FunctionName", "DeadLetterQueueUrl",
            "DeadLetterQueueArn", "ProducerPolicyArn", "DashboardName", "ProducerInstanceProfileName",
            "ProducerInstanceProfileArn", "ProducerRoleArn", "QueryPolicyArn", "FailedBatchBucketName",
            "ReplayPolicyArn",
        })
        self.assertEqual(self.outputs["TableName"], f"{self.STACK}-EventData")
        self.assertEqual(self.outputs["FunctionName"], f"{self.STACK}-twitter-consumer")

    def test_printed_outputs_and_producer_environment(self):
        out = self.result.stdout
        for key, value in self.outputs.items():
            self.assertRegex(out, rf"(?m)^  {key} +{value}$")
        self.assertIn(f"  AWS_STREAM_NAME={self.outputs['StreamName']}\n", out)
        self.assertIn(f"  AWS_REGION={REGION}\n", out)
        self.assertIn(f"  TWITTER_BEARER_TOKEN_PARAMETER={TOKEN_PARAMETER}\n", out)
        self.assertIn(f"  TABLE_NAME={self.outputs['TableName']} twitter-query keywords\n", out)
        written = read_env_file(self.outputs_file)
        self.assertEqual({k: written[k] for k in self.outputs}, self.outputs)
        self.assertEqual(written["AWS_STREAM_NAME"], self.outputs["StreamName"])
        self.assertEqual(written["TWITTER_BEARER_TOKEN_PARAMETER"], TOKEN_PARAMETER)

    def test_no_secret_in_output(self):
        text = self.result.stdout + self.result.stderr
        self.assertNotIn(SECRET, text)
        self.assertNotIn(TOKEN, text)
        self.assertEqual(check_template.check_lines("deploy.sh", text.splitlines(), env()), [])
        self.assertEqual(check_template.check_lines("outputs-env", self.outputs_file.read_text().splitlines(), env()), [])

    def test_stream(self):
        summary = client("kinesis").describe_stream_summary(StreamName=self.outputs["StreamName"])["StreamDescriptionSummary"]
        self.assertEqual(summary["StreamARN"], self.outputs["StreamArn"])
        self.assertEqual(summary["OpenShardCount"], 2)
        self.assertEqual(summary["RetentionPeriodHours"], 48)
        # moto reports NONE (it ignores StreamEncryption); real Kinesis must say KMS.
        self.assertIn(summary.get("EncryptionType", "NONE"), ("KMS", "NONE"))
        if summary.get("EncryptionType") == "KMS":
            self.assertEqual(summary["KeyId"], "alias/aws/kinesis")

    def test_table(self):
        table = client("dynamodb").describe_table(TableName=self.outputs["TableName"])["Table"]
        self.assertEqual(table["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual(table["KeySchema"], [{"AttributeName": "Id", "KeyType": "HASH"},
                                              {"AttributeName": "Keyword", "KeyType": "RANGE"}])
        self.assertEqual(sorted((a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]),
                         [("Id", "S"), ("Keyword", "S"), ("Timestamp", "S")])
        (gsi,) = table["GlobalSecondaryIndexes"]
        self.assertEqual(gsi["IndexName"], "ByKeyword")
        self.assertEqual(gsi["KeySchema"], [{"AttributeName": "Keyword", "KeyType": "HASH"},
                                            {"AttributeName": "Timestamp", "KeyType": "RANGE"}])
        self.assertEqual(gsi["Projection"], {"ProjectionType": "INCLUDE", "NonKeyAttributes":
                                             ["Lang", "Country", "CountryCode", "AuthorId", "Username", "Hashtags"]})
        # SSE, PITR and TTL: moto ignores them (checked in test_template.py); when reported, they must be on.
        if "SSEDescription" in table:
            self.assertEqual(table["SSEDescription"]["Status"], "ENABLED")

    def test_function(self):
        fn = client("lambda").get_function(FunctionName=self.outputs["FunctionName"])
        c = fn["Configuration"]
        self.assertEqual((c["Runtime"], c["Handler"], c["Architectures"]), ("provided.al2023", "bootstrap", ["x86_64"]))
        self.assertEqual((c["MemorySize"], c["Timeout"]), (512, 90))
        # moto keeps a Number parameter's type (30); Lambda itself holds strings.
        self.assertEqual({k: str(v) for k, v in c["Environment"]["Variables"].items()}, {
            "TABLE_NAME": self.outputs["TableName"],
            "DEAD_LETTER_QUEUE_URL": self.outputs["DeadLetterQueueUrl"],
            "FAILED_BATCH_BUCKET": self.outputs["FailedBatchBucketName"],
            "RETENTION_DAYS": "30",
            "METRIC_KEYWORDS": "rust,rust lang",
            "RUST_LOG": "twitter_consumer=debug",
        })
        # The code is the zip deploy.sh was given, under its content hash.
        self.assertTrue(fn["Code"]["Location"].endswith(f"twitter-consumer/x86_64/{sha256(self.zip)}.zip"), fn["Code"])
        params = {p["ParameterKey"]: p["ParameterValue"] for p in
                  client("cloudformation").describe_stacks(StackName=self.STACK)["Stacks"][0]["Parameters"]}
        self.assertEqual(params["LambdaZipfileName"], f"twitter-consumer/x86_64/{sha256(self.zip)}.zip")
        self.assertEqual(params["LambdaS3BucketName"], f"twitter-pipeline-artifacts-{ACCOUNT}-{REGION}")
        s3 = client("s3")
        self.assertEqual(s3.get_bucket_location(Bucket=params["LambdaS3BucketName"])["LocationConstraint"], REGION)
        block = s3.get_public_access_block(Bucket=params["LambdaS3BucketName"])["PublicAccessBlockConfiguration"]
        self.assertTrue(all(block.values()), block)

    def test_log_group(self):
        groups = client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{self.outputs['FunctionName']}")["logGroups"]
        self.assertEqual([(g["logGroupName"], g.get("retentionInDays")) for g in groups],
                         [(f"/aws/lambda/{self.outputs['FunctionName']}", 14)])

    def test_event_source_mapping(self):
        (m,) = client("lambda").list_event_source_mappings(FunctionName=self.outputs["FunctionName"])["EventSourceMappings"]
        self.assertEqual(m["EventSourceArn"], self.outputs["StreamArn"])
        self.assertEqual(m["StartingPosition"], "LATEST")
        self.assertEqual(m["BatchSize"], 250)
        self.assertEqual(m["MaximumBatchingWindowInSeconds"], 10)
        self.assertEqual(m["ParallelizationFactor"], 2)
        self.assertEqual(m["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertIs(m["BisectBatchOnFunctionError"], True)
        self.assertEqual(m["MaximumRetryAttempts"], 7)
        self.assertEqual(m["MaximumRecordAgeInSeconds"], 3600)
        # The discarded batch goes whole to the bucket; the queue keeps only the function's poison records.
        self.assertEqual(m["DestinationConfig"],
                         {"OnFailure": {"Destination": f"arn:aws:s3:::{self.outputs['FailedBatchBucketName']}"}})

    def test_failed_batch_bucket(self):
        s3 = client("s3")
        name = self.outputs["FailedBatchBucketName"]
        # A generated name, from the stack's and the resource's (lower-cased, as bucket names are).
        self.assertTrue(name.startswith(f"{self.STACK}-failedbatchbucket-"), name)
        self.assertEqual(s3.get_bucket_location(Bucket=name)["LocationConstraint"], REGION)
        (rule,) = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
        self.assertEqual(rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256")
        # moto drops the public access block, ownership controls, lifecycle and policy of a
        # template's bucket (test_template.py checks them); what it does report must be right.
        try:
            block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        except s3.exceptions.ClientError as error:
            self.assertEqual(error.response["Error"]["Code"], "NoSuchPublicAccessBlockConfiguration")
        else:
            self.assertTrue(all(block.values()), block)
        try:
            (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
        except s3.exceptions.ClientError as error:
            self.assertEqual(error.response["Error"]["Code"], "NoSuchLifecycleConfiguration")
        else:
            self.assertEqual(lifecycle["Expiration"]["Days"], 90)

    def test_dead_letter_queue(self):
        attrs = client("sqs").get_queue_attributes(QueueUrl=self.outputs["DeadLetterQueueUrl"],
                                                   AttributeNames=["All"])["Attributes"]
        self.assertEqual(attrs["QueueArn"], self.outputs["DeadLetterQueueArn"])
        self.assertEqual(attrs["MessageRetentionPeriod"], "1209600")
        self.assertEqual(attrs.get("SqsManagedSseEnabled"), "true")

    def test_consumer_role(self):
        iam = client("iam")
        role_name = client("lambda").get_function(FunctionName=self.outputs["FunctionName"])["Configuration"]["Role"].rsplit("/", 1)[1]
        self.assertEqual(iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"], [])
        (name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
        s = by_sid(policy_document(iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]))
        table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.outputs['TableName']}"
        expected = {
            "ReadStream": ({"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                            "kinesis:GetShardIterator", "kinesis:ListShards"}, self.outputs["StreamArn"]),
            "WriteTable": ({"dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:DescribeTable"}, table_arn),
            "DeadLetters": ({"sqs:SendMessage"}, self.outputs["DeadLetterQueueArn"]),
            "ListFailedBatchBucket": ({"s3:ListBucket"}, f"arn:aws:s3:::{self.outputs['FailedBatchBucketName']}"),
            "WriteFailedBatches": ({"s3:PutObject"}, f"arn:aws:s3:::{self.outputs['FailedBatchBucketName']}/*"),
            "Logs": ({"logs:CreateLogStream", "logs:PutLogEvents"},
                     f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{self.outputs['FunctionName']}:*"),
        }
        self.assertEqual(set(s), set(expected))
        for sid, (actions, resource) in expected.items():
            self.assertEqual((action_set(s[sid]), s[sid]["Resource"]), (actions, resource), sid)

    def test_query_policy(self):
        iam = client("iam")
        arn = self.outputs["QueryPolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = policy_document(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
        s = by_sid(document)
        table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.outputs['TableName']}"
        self.assertEqual(
            {sid: (action_set(st), st["Resource"]) for sid, st in s.items()},
            {
                "ReadTable": ({"dynamodb:Query", "dynamodb:BatchGetItem"}, table_arn),
                "ReadKeywordIndex": ({"dynamodb:Query", "dynamodb:Scan"}, f"{table_arn}/index/ByKeyword"),
            },
        )

    def test_replay_policy(self):
        iam = client("iam")
        arn = self.outputs["ReplayPolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = policy_document(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
        s = by_sid(document)
        table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.outputs['TableName']}"
        bucket_arn = f"arn:aws:s3:::{self.outputs['FailedBatchBucketName']}"
        queue_arn = self.outputs["DeadLetterQueueArn"]
        self.assertEqual(
            {sid: (action_set(st), st["Resource"]) for sid, st in s.items()},
            {
                "ListFailedBatches": ({"s3:ListBucket"}, bucket_arn),
                "TakeFailedBatches": ({"s3:GetObject", "s3:DeleteObject"}, f"{bucket_arn}/*"),
                "DeadLetterQueue": ({"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                                     "sqs:SendMessage"}, queue_arn),
                "ReadStream": ({"kinesis:GetShardIterator", "kinesis:GetRecords"}, self.outputs["StreamArn"]),
                "WriteTable": ({"dynamodb:BatchWriteItem", "dynamodb:PutItem"}, table_arn),
            },
        )

    def test_producer_policy_role_and_profile(self):
        iam = client("iam")
        arn = self.outputs["ProducerPolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = policy_document(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
        s = by_sid(document)
        self.assertEqual(set(s), {"WriteStream", "ReadTokenParameter"})
        self.assertEqual(action_set(s["WriteStream"]), {"kinesis:DescribeStreamSummary", "kinesis:PutRecords"})
        self.assertEqual(s["WriteStream"]["Resource"], self.outputs["StreamArn"])
        self.assertEqual(action_set(s["ReadTokenParameter"]), {"ssm:GetParameter"})
        self.assertEqual(s["ReadTokenParameter"]["Resource"], f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{TOKEN_PARAMETER}")

        role_name = self.outputs["ProducerRoleArn"].rsplit("/", 1)[1]
        attached = iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
        # moto ignores ManagedPolicyArns in a template (test_template.py checks the attachment);
        # whatever is attached must be the producer policy alone.
        self.assertIn([p["PolicyArn"] for p in attached], ([], [arn]))
        self.assertEqual(iam.list_role_policies(RoleName=role_name)["PolicyNames"], [])
        trust = policy_document(iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"])
        self.assertEqual(trust["Statement"][0]["Principal"], {"Service": "ec2.amazonaws.com"})
        profile = iam.get_instance_profile(InstanceProfileName=self.outputs["ProducerInstanceProfileName"])["InstanceProfile"]
        self.assertEqual([r["RoleName"] for r in profile["Roles"]], [role_name])
        # No IAM user and no access key anywhere.
        self.assertEqual(iam.list_users()["Users"], [])

    def test_dashboard(self):
        body = json.loads(client("cloudwatch").get_dashboard(DashboardName=self.outputs["DashboardName"])["DashboardBody"])
        text = json.dumps(body)
        function = self.outputs["FunctionName"]
        self.assertIn(f"SEARCH('{{TwitterPipeline,FunctionName,Keyword}} FunctionName=\\\"{function}\\\" "
                      f"MetricName=\\\"PostsWritten\\\"', 'Sum', 60)", text)
        queue_name = self.outputs["DeadLetterQueueArn"].rsplit(":", 1)[1]
        metrics = [m for w in body["widgets"] for m in w["properties"]["metrics"] if isinstance(m[0], str)]
        self.assertIn(["AWS/Lambda", "IteratorAge", "FunctionName", self.outputs["FunctionName"]], metrics)
        self.assertIn(["AWS/Lambda", "Errors", "FunctionName", self.outputs["FunctionName"]], metrics)
        self.assertIn(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue_name], metrics)
        self.assertIn(["AWS/S3", "PutRequests", "BucketName", self.outputs["FailedBatchBucketName"], "FilterId", "EntireBucket"],
                      metrics)
        self.assertIn(["TwitterPipeline", "PostsWritten", "FunctionName", self.outputs["FunctionName"]], metrics)


class Lifecycle(unittest.TestCase):
    """Defaults, then an update with a new build, then destroy (the table stays), then --delete-table."""

    STACK = "tplife"

    def test_lifecycle(self):
        cfn, lam = client("cloudformation"), client("lambda")
        first = dummy_zip("v1.zip", b"#!/bin/sh\necho v1\n")
        created = run("deploy.sh", self.STACK, "--arch", "x86_64", "--zip", str(first))
        self.assertEqual(created.returncode, 0, created.stderr)
        self.assertIn(f"creating stack {self.STACK}", created.stderr)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=self.STACK)["Stacks"][0]["Outputs"]}
        self.assertNotIn("ProducerInstanceProfileName", outputs)  # CreateProducerInstanceRole defaults to false

        # Defaults: no RETENTION_DAYS (keep forever), no token statement, the documented mapping.
        env_vars = lam.get_function(FunctionName=outputs["FunctionName"])["Configuration"]["Environment"]["Variables"]
        self.assertEqual(set(env_vars), {"TABLE_NAME", "DEAD_LETTER_QUEUE_URL", "FAILED_BATCH_BUCKET", "RUST_LOG"})
        iam = client("iam")
        version = iam.get_policy(PolicyArn=outputs["ProducerPolicyArn"])["Policy"]["DefaultVersionId"]
        document = policy_document(iam.get_policy_version(PolicyArn=outputs["ProducerPolicyArn"], VersionId=version)["PolicyVersion"]["Document"])
        self.assertEqual(set(by_sid(document)), {"WriteStream"})
        self.assertNotIn("TWITTER_BEARER_TOKEN_PARAMETER=", created.stdout)
        (m,) = lam.list_event_source_mappings(FunctionName=outputs["FunctionName"])["EventSourceMappings"]
        self.assertEqual((m["StartingPosition"], m["BatchSize"], m["MaximumRetryAttempts"], m["MaximumRecordAgeInSeconds"],
                          m["ParallelizationFactor"], m["MaximumBatchingWindowInSeconds"]), ("TRIM_HORIZON", 100, 10, 21600, 1, 5))
        # One provisioned shard by default.
        params = {p["ParameterKey"]: p["ParameterValue"] for p in cfn.describe_stacks(StackName=self.STACK)["Stacks"][0]["Parameters"]}
        self.assertEqual((params["StreamMode"], params["ShardCount"]), ("PROVISIONED", "1"))
        summary = client("kinesis").describe_stream_summary(StreamName=outputs["StreamName"])["StreamDescriptionSummary"]
        self.assertEqual(summary["OpenShardCount"], 1)
        sha_before = lam.get_function(FunctionName=outputs["FunctionName"])["Configuration"]["CodeSha256"]

        # Update: a new build redeploys (new key), the architecture and other parameters are kept.
        second = dummy_zip("v2.zip", b"#!/bin/sh\necho v2\n")
        updated = run("deploy.sh", self.STACK, "--zip", str(second), "BatchSize=50")
        self.assertEqual(updated.returncode, 0, updated.stderr)
        self.assertIn("aws cloudformation deploy", updated.stderr)
        self.assertIn(f"AWS_STREAM_NAME={outputs['StreamName']}", updated.stdout)
        stack = cfn.describe_stacks(StackName=self.STACK)["Stacks"][0]
        params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
        self.assertEqual(params["LambdaZipfileName"], f"twitter-consumer/x86_64/{sha256(second)}.zip")
        self.assertEqual(params["Architecture"], "x86_64")
        self.assertEqual(params["BatchSize"], "50")
        config = lam.get_function(FunctionName=outputs["FunctionName"])["Configuration"]
        self.assertNotEqual(config["CodeSha256"], sha_before)
        self.assertEqual(config["Architectures"], ["x86_64"])

        # Deploying the same build again changes nothing and succeeds.
        again = run("deploy.sh", self.STACK, "--zip", str(second))
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("already uploaded", again.stderr)

        # A batch Lambda discarded, as it names it (the key layout of an S3 on-failure destination).
        bucket = outputs["FailedBatchBucketName"]
        key = f"aws/lambda/{m['UUID']}/shardId-000000000000/2026/01/02/2026-01-02T03.04.05-{m['UUID']}"
        s3 = client("s3")
        s3.put_object(Bucket=bucket, Key=key, Body=b'{"payload": "{}"}')

        # Destroy: everything goes but the table and the failed-batch bucket, and the script says
        # so and how to delete them.
        destroyed = run("destroy.sh", self.STACK)
        self.assertEqual(destroyed.returncode, 0, destroyed.stderr)
        self.assertIn(f"Kept: DynamoDB table {self.STACK}-EventData", destroyed.stdout)
        self.assertIn(f"aws dynamodb delete-table --region {REGION} --table-name {self.STACK}-EventData", destroyed.stdout)
        self.assertIn(f"Kept: S3 bucket {bucket}, the batches Lambda discarded (1 object(s); DeletionPolicy Retain)",
                      destroyed.stdout)
        self.assertIn(f"aws s3 rb s3://{bucket} --force --region {REGION}", destroyed.stdout)
        self.assertEqual([o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]], [key])
        self.assertNotIn(self.STACK, [s["StackName"] for s in cfn.list_stacks(StackStatusFilter=["CREATE_COMPLETE", "UPDATE_COMPLETE"])["StackSummaries"]])
        self.assertNotIn(outputs["FunctionName"], [f["FunctionName"] for f in lam.list_functions()["Functions"]])
        self.assertIn(f"{self.STACK}-EventData", client("dynamodb").list_tables()["TableNames"])

        gone = run("destroy.sh", self.STACK, "--delete-table")
        self.assertEqual(gone.returncode, 0, gone.stderr)
        self.assertNotIn(f"{self.STACK}-EventData", client("dynamodb").list_tables()["TableNames"])
        missing = run("destroy.sh", self.STACK)
        self.assertEqual(missing.returncode, 2)
        self.assertIn(f"no stack named {self.STACK}", missing.stderr)
        # The bucket's name went with the stack: the script says how to delete it by name, and
        # deletes nothing.
        unknown = run("destroy.sh", self.STACK, "--delete-failed-batches")
        self.assertEqual(unknown.returncode, 2)
        self.assertIn("aws s3 rb s3://NAME --force", unknown.stderr)
        self.assertIn(bucket, [b["Name"] for b in s3.list_buckets()["Buckets"]])


class DeleteFailedBatches(unittest.TestCase):
    """--delete-failed-batches empties and deletes the bucket in the run that deletes the stack."""

    STACK = "tpwipe"

    def test_bucket_and_its_batches_are_deleted(self):
        zip_path = dummy_zip("wipe.zip", b"#!/bin/sh\necho wipe\n")
        created = run("deploy.sh", self.STACK, "--arch", "x86_64", "--zip", str(zip_path))
        self.assertEqual(created.returncode, 0, created.stderr)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in
                   client("cloudformation").describe_stacks(StackName=self.STACK)["Stacks"][0]["Outputs"]}
        bucket = outputs["FailedBatchBucketName"]
        s3 = client("s3")
        for n in range(3):
            s3.put_object(Bucket=bucket, Key=f"aws/lambda/uuid/shardId-000000000000/2026/01/02/batch-{n}", Body=b"{}")

        gone = run("destroy.sh", self.STACK, "--delete-failed-batches", "--delete-table")
        self.assertEqual(gone.returncode, 0, gone.stderr)
        self.assertIn(f"Deleted bucket {bucket} and the discarded batches in it.", gone.stdout)
        self.assertNotIn("Kept: S3 bucket", gone.stdout)
        self.assertNotIn(bucket, [b["Name"] for b in s3.list_buckets()["Buckets"]])
        self.assertNotIn(f"{self.STACK}-EventData", client("dynamodb").list_tables()["TableNames"])


class OnDemand(unittest.TestCase):
    """StreamMode=ON_DEMAND with a ShardCount given: the stream is created without one (CloudFormation
    refuses ShardCount beside ON_DEMAND)."""

    STACK = "tpondemand"

    def test_no_shard_count_reaches_the_stream(self):
        zip_path = dummy_zip("ondemand.zip", b"#!/bin/sh\necho on-demand\n")
        result = run("deploy.sh", self.STACK, "--arch", "x86_64", "--zip", str(zip_path),
                     "StreamMode=ON_DEMAND", "ShardCount=3")
        self.assertEqual(result.returncode, 0, result.stderr)
        stack = client("cloudformation").describe_stacks(StackName=self.STACK)["Stacks"][0]
        params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
        self.assertEqual(params["StreamMode"], "ON_DEMAND")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        summary = client("kinesis").describe_stream_summary(StreamName=outputs["StreamName"])["StreamDescriptionSummary"]
        # moto ignores StreamModeDetails from a template and makes one shard when no ShardCount
        # is given; had the template passed ShardCount=3 through, there would be three.
        self.assertEqual(summary["OpenShardCount"], 1)
        self.assertIn(summary["StreamModeDetails"]["StreamMode"], ("ON_DEMAND", "PROVISIONED"))


class ScriptErrors(unittest.TestCase):
    def test_help(self):
        for script in ("deploy.sh", "destroy.sh"):
            result = run(script, "--help")
            self.assertEqual(result.returncode, 0, script)
            self.assertIn(f"Usage: scripts/{script} STACK", result.stdout)

    def assertFails(self, result: subprocess.CompletedProcess, message: str):
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        self.assertIn(message, result.stderr)

    def test_bad_arguments(self):
        self.assertFails(run("deploy.sh"), "STACK is required")
        self.assertFails(run("deploy.sh", "s", "--bogus"), "unknown option: --bogus")
        self.assertFails(run("deploy.sh", "s", "--arch", "sparc"), "--arch must be arm64 or x86_64")
        self.assertFails(run("deploy.sh", "1bad"), "stack name '1bad'")
        self.assertFails(run("deploy.sh", "s", "LambdaZipfileName=x.zip"), "LambdaZipfileName is set by deploy.sh")
        self.assertFails(run("deploy.sh", "s", "--zip", "/nonexistent.zip"), "no such file")
        self.assertFails(run("destroy.sh"), "STACK is required")

    def test_zip_without_bootstrap(self):
        path = Path(tmp.name) / "nobootstrap.zip"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("main", b"x")
        self.assertFails(run("deploy.sh", "tpbad", "--arch", "x86_64", "--zip", str(path)), "has no 'bootstrap'")

    def test_zip_built_for_the_other_architecture(self):
        # An ELF header whose e_machine says x86-64 (0x3e).
        elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\x3e\x00" + b"\x00" * 40
        path = dummy_zip("x86.zip", elf)
        self.assertFails(run("deploy.sh", "tpbad", "--arch", "arm64", "--zip", str(path)),
                         "is built for x86_64, not arm64")

    def test_arm64_build_without_the_rust_target_names_the_fix(self):
        installed = subprocess.run(["rustup", "target", "list", "--installed"], capture_output=True, text=True) \
            if any(Path(p, "rustup").exists() for p in os.environ.get("PATH", "").split(os.pathsep)) else None
        if installed is None or installed.returncode != 0:
            self.skipTest("rustup not available")
        if "aarch64-unknown-linux-gnu" in installed.stdout.split():
            self.skipTest("the arm64 target is installed here: deploy.sh would build")
        self.assertFails(run("deploy.sh", "tpbad", "--arch", "arm64"),
                         "rustup target add aarch64-unknown-linux-gnu")
        self.assertNotIn("tpbad", [s["StackName"] for s in client("cloudformation").list_stacks()["StackSummaries"]])


if __name__ == "__main__":
    unittest.main()
