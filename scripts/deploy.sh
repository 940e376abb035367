#!/usr/bin/env bash
# Builds the twitter-consumer Lambda zip, uploads it under its content hash, and creates or
# updates the CloudFormation stack in cloudformation/template.yaml. Works against moto too
# (AWS_ENDPOINT_URL), which is how the tests run it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: scripts/deploy.sh STACK [OPTIONS] [ParameterName=Value ...]

Builds twitter-consumer with cargo-lambda for the chosen architecture, uploads the zip to an S3
bucket under a key made of its SHA-256 (so a changed build always redeploys the function),
creates the stack STACK (first run) or updates it with 'aws cloudformation deploy', then prints
the stack outputs and the environment lines to start twitter-producer.

Options:
  --arch arm64|x86_64   architecture to build and run the function on (default: the stack's
                        current Architecture, else arm64). arm64 needs the Rust target
                        aarch64-unknown-linux-gnu (rustup target add aarch64-unknown-linux-gnu)
  --zip PATH            deploy this zip (a 'bootstrap' executable at its root) instead of building
  --bucket NAME         artifacts bucket (default: twitter-pipeline-artifacts-ACCOUNT-REGION),
                        created private and encrypted when missing, reused otherwise
  --region REGION       AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or the CLI profile)
  --outputs-env FILE    also write the outputs and the producer environment to FILE as
                        KEY=VALUE lines (one per line, shell- and systemd-readable)
  -h, --help            this text

ParameterName=Value arguments are template parameters, for example ShardCount=2 (or
StreamMode=ON_DEMAND) MaximumBatchingWindowInSeconds=1 RetentionDays=90
TokenParameterName=/twitter-pipeline/bearer-token CreateProducerInstanceRole=true
AlarmTopicArn=arn:aws:sns:... (see cloudformation/template.yaml; scripts/cost.py prices them).
On an update, parameters not given keep their current values.

Needs: python3, the AWS CLI (installed with pip when missing), and for a build cargo and
cargo-lambda (installed with pip when missing). Credentials: the standard AWS chain.
USAGE
}

stack=""
arch=""
zip=""
bucket=""
region=""
outputs_env=""
overrides=()
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --arch) arch="${2:?--arch needs arm64 or x86_64}"; shift 2 ;;
    --arch=*) arch="${1#*=}"; shift ;;
    --zip) zip="${2:?--zip needs a path}"; shift 2 ;;
    --zip=*) zip="${1#*=}"; shift ;;
    --bucket) bucket="${2:?--bucket needs a name}"; shift 2 ;;
    --bucket=*) bucket="${1#*=}"; shift ;;
    --region) region="${2:?--region needs a region}"; shift 2 ;;
    --region=*) region="${1#*=}"; shift ;;
    --outputs-env) outputs_env="${2:?--outputs-env needs a file}"; shift 2 ;;
    --outputs-env=*) outputs_env="${1#*=}"; shift ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *=*)
      key="${1%%=*}"
      [[ "$key" =~ ^[A-Za-z0-9]+$ ]] || die "not a template parameter: $1"
      case "$key" in
        LambdaS3BucketName|LambdaZipfileName) die "$key is set by deploy.sh (use --bucket)" ;;
        Architecture) die "Architecture is set by deploy.sh (use --arch)" ;;
      esac
      overrides+=("$1"); shift ;;
    *)
      [[ -z "$stack" ]] || die "one STACK only (got '$stack' and '$1'); parameters are Name=Value"
      stack="$1"; shift ;;
  esac
done
[[ -n "$stack" ]] || { usage >&2; die "STACK is required"; }
# The function is named STACK-twitter-consumer, and a function name has at most 64 characters.
[[ "$stack" =~ ^[A-Za-z][A-Za-z0-9-]{0,46}$ ]] \
  || die "stack name '$stack': a letter, then letters, digits or '-', 47 characters at most"
case "$arch" in
  ""|arm64|x86_64) ;;
  *) die "--arch must be arm64 or x86_64, not '$arch'" ;;
esac
[[ -z "$zip" || -f "$zip" ]] || die "--zip: no such file: $zip"

ensure_aws_cli
template="$REPO_ROOT/cloudformation/template.yaml"
[[ -f "$template" ]] || die "template not found: $template"
# No wildcard IAM action and no secret-bearing output goes out (needs PyYAML, which awscli brings).
if python3 -c 'import yaml' 2>/dev/null; then
  python3 "$REPO_ROOT/scripts/check_template.py" --template "$template" --no-producer-files \
    || die "the template fails scripts/check_template.py (see above)"
fi

if [[ -z "$region" ]]; then
  region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null || true)}}"
fi
[[ -n "$region" ]] || die "no region: pass --region or set AWS_REGION"
export AWS_REGION="$region" AWS_DEFAULT_REGION="$region"
cfn() { aws --region "$region" cloudformation "$@"; }

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

account="$(aws --region "$region" sts get-caller-identity --query Account --output text 2>"$workdir/sts.err")" \
  || die "no usable AWS credentials: $(tail -n1 "$workdir/sts.err")"

# What is there now: NONE, or the stack's status.
status="NONE"
if ! status="$(cfn describe-stacks --stack-name "$stack" --query 'Stacks[0].StackStatus' --output text 2>"$workdir/describe.err")"; then
  grep -q "does not exist" "$workdir/describe.err" || die "describe-stacks $stack: $(tail -n1 "$workdir/describe.err")"
  status="NONE"
fi
case "$status" in
  NONE|CREATE_COMPLETE|UPDATE_COMPLETE|UPDATE_ROLLBACK_COMPLETE|IMPORT_COMPLETE|IMPORT_ROLLBACK_COMPLETE) ;;
  ROLLBACK_COMPLETE|ROLLBACK_FAILED)
    die "stack $stack is $status (its first creation failed and cannot be updated): see its events, then scripts/destroy.sh $stack and deploy again" ;;
  *) die "stack $stack is $status; wait for it to settle, or fix it, then deploy again" ;;
esac
if [[ -z "$arch" ]]; then
  if [[ "$status" != NONE ]]; then
    arch="$(cfn describe-stacks --stack-name "$stack" \
      --query "Stacks[0].Parameters[?ParameterKey=='Architecture'].ParameterValue" --output text)"
  fi
  [[ "$arch" == arm64 || "$arch" == x86_64 ]] || arch=arm64
fi

# ---- the function zip
if [[ -z "$zip" ]]; then
  case "$arch" in
    arm64) triple=aarch64-unknown-linux-gnu; arch_flag=--arm64 ;;
    x86_64) triple=x86_64-unknown-linux-gnu; arch_flag=--x86-64 ;;
  esac
  ensure_cargo_lambda
  if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
    die "the Rust target $triple (for --arch $arch) is not installed: rustup target add $triple"
  fi
  echo "== building twitter-consumer for $arch (cargo lambda build --release)" >&2
  (cd "$REPO_ROOT" && cargo lambda build --release --output-format zip "$arch_flag" \
    -p twitter-consumer --bin twitter-consumer) >&2 || die "cargo lambda build failed (see above)"
  target_dir="$(cd "$REPO_ROOT" && cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  zip="$target_dir/lambda/twitter-consumer/bootstrap.zip"
  [[ -f "$zip" ]] || die "cargo lambda did not produce $zip"
fi

# The zip must hold an executable 'bootstrap' at its root for provided.al2023, built for $arch.
sha="$(python3 - "$zip" "$arch" <<'PY'
import hashlib, sys, zipfile
path, arch = sys.argv[1], sys.argv[2]
try:
    archive = zipfile.ZipFile(path)
except zipfile.BadZipFile:
    sys.exit(f"error: {path} is not a zip file")
if "bootstrap" not in archive.namelist():
    sys.exit(f"error: {path} has no 'bootstrap' at its root (provided.al2023 runs ./bootstrap)")
head = archive.open("bootstrap").read(20)
if head[:4] == b"\x7fELF" and len(head) >= 20:
    machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    built = {0x3E: "x86_64", 0xB7: "arm64"}.get(machine, f"machine {machine:#x}")
    if built != arch:
        sys.exit(f"error: bootstrap in {path} is built for {built}, not {arch} (use --arch {built} or rebuild)")
print(hashlib.sha256(open(path, "rb").read()).hexdigest())
PY
)" || exit 2
zip_bytes="$(wc -c <"$zip" | tr -d ' ')"

# ---- the artifacts bucket
bucket="${bucket:-twitter-pipeline-artifacts-$account-$region}"
[[ "$bucket" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die "not a valid bucket name: $bucket"
s3() { aws --region "$region" s3api "$@"; }
if s3 head-bucket --bucket "$bucket" --expected-bucket-owner "$account" >/dev/null 2>"$workdir/head.err"; then
  echo "== reusing bucket s3://$bucket" >&2
else
  if grep -Eq "403|Forbidden" "$workdir/head.err"; then
    die "bucket $bucket exists but is not this account's ($account): pass --bucket"
  fi
  echo "== creating bucket s3://$bucket" >&2
  if [[ "$region" == us-east-1 ]]; then
    s3 create-bucket --bucket "$bucket" >/dev/null
  else
    s3 create-bucket --bucket "$bucket" --create-bucket-configuration "LocationConstraint=$region" >/dev/null
  fi
  s3 put-public-access-block --bucket "$bucket" --public-access-block-configuration \
    BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
  s3 put-bucket-encryption --bucket "$bucket" --server-side-encryption-configuration \
    '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'
fi
key="twitter-consumer/$arch/$sha.zip"
if s3 head-object --bucket "$bucket" --key "$key" --expected-bucket-owner "$account" >/dev/null 2>&1; then
  echo "== s3://$bucket/$key already uploaded" >&2
else
  echo "== uploading $zip ($zip_bytes bytes) to s3://$bucket/$key" >&2
  s3 put-object --bucket "$bucket" --key "$key" --body "$zip" --expected-bucket-owner "$account" >/dev/null
fi

# ---- the stack
code_params=("LambdaS3BucketName=$bucket" "LambdaZipfileName=$key" "Architecture=$arch")
show_failures() {
  echo "Failed resources of $stack:" >&2
  cfn describe-stack-events --stack-name "$stack" --max-items 50 \
    --query "StackEvents[?contains(ResourceStatus, 'FAILED')].[LogicalResourceId, ResourceStatus, ResourceStatusReason]" \
    --output text >&2 || true
}
if [[ "$status" == NONE ]]; then
  # A first deploy uses CreateStack: the same call on AWS and on moto, whose change-set path
  # leaves a new stack without Outputs. Updates below go through change sets.
  echo "== creating stack $stack in $region" >&2
  python3 - "$workdir/parameters.json" "${code_params[@]}" ${overrides[@]+"${overrides[@]}"} <<'PY'
import json, sys
pairs = [arg.split("=", 1) for arg in sys.argv[2:]]
json.dump([{"ParameterKey": k, "ParameterValue": v} for k, v in pairs], open(sys.argv[1], "w"))
PY
  cfn create-stack --stack-name "$stack" --template-body "file://$template" \
    --parameters "file://$workdir/parameters.json" --capabilities CAPABILITY_IAM \
    --tags Key=project,Value=twitter-pipeline >/dev/null \
    || die "create-stack $stack was refused (see above)"
  if ! cfn wait stack-create-complete --stack-name "$stack"; then
    show_failures
    die "stack $stack was not created"
  fi
else
  echo "== updating stack $stack in $region (aws cloudformation deploy)" >&2
  deployed=0
  cfn deploy --stack-name "$stack" --template-file "$template" --capabilities CAPABILITY_IAM \
    --no-fail-on-empty-changeset --parameter-overrides "${code_params[@]}" ${overrides[@]+"${overrides[@]}"} \
    2>"$workdir/deploy.err" >&2 || deployed=$?
  cat "$workdir/deploy.err" >&2
  if ((deployed)); then
    # AWS reports "nothing to change" as an empty change set, which --no-fail-on-empty-changeset
    # accepts; moto refuses CreateChangeSet with this message instead.
    if grep -q "No updates are to be performed" "$workdir/deploy.err"; then
      echo "== no changes to deploy" >&2
    else
      show_failures
      die "stack $stack was not updated"
    fi
  fi
fi

# ---- what to tell the user
cfn describe-stacks --stack-name "$stack" --output json >"$workdir/stack.json"
python3 - "$workdir/stack.json" "$region" "$outputs_env" <<'PY'
import json, re, sys
stack = json.load(open(sys.argv[1]))["Stacks"][0]
region, env_file = sys.argv[2], sys.argv[3]
outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
params = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters") or []}
if "StreamName" not in outputs:
    sys.exit(f"error: stack {stack['StackName']} has no StreamName output ({stack['StackStatus']})")

producer = {"AWS_REGION": region, "AWS_STREAM_NAME": outputs["StreamName"]}
if params.get("TokenParameterName"):
    producer["TWITTER_BEARER_TOKEN_PARAMETER"] = params["TokenParameterName"]

print(f"Stack {stack['StackName']} ({region}): {stack['StackStatus']}")
print("Outputs:")
width = max(map(len, outputs))
for key in sorted(outputs):
    print(f"  {key:<{width}}  {outputs[key]}")
print()
print("Start the producer with (credentials from a role or profile; no keys in files):")
for key, value in producer.items():
    print(f"  {key}={value}")
if "TWITTER_BEARER_TOKEN_PARAMETER" not in producer:
    print("  # and the X token: TWITTER_BEARER_TOKEN in the environment, or redeploy with")
    print("  # TokenParameterName=/name/of/SecureString and set TWITTER_BEARER_TOKEN_PARAMETER")
print("  twitter-producer KEYWORD...")
if "ProducerInstanceProfileName" in outputs:
    print(f"On EC2: launch with instance profile {outputs['ProducerInstanceProfileName']}, "
          "install scripts/twitter-producer.service (see README).")
else:
    print(f"Attach {outputs.get('ProducerPolicyArn', 'the ProducerPolicyArn output')} to the role the producer runs as.")
print()
print("Browse the table with (read-only access: attach QueryPolicyArn):")
print(f"  TABLE_NAME={outputs.get('TableName', '<TableName output>')} twitter-query keywords")
print("When FailedBatchAlarm fires, bring the discarded batches back with (attach ReplayPolicyArn):")
print(f"  TABLE_NAME={outputs.get('TableName', '<TableName output>')} "
      f"FAILED_BATCH_BUCKET={outputs.get('FailedBatchBucketName', '<FailedBatchBucketName output>')} "
      f"DEAD_LETTER_QUEUE_URL={outputs.get('DeadLetterQueueUrl', '<DeadLetterQueueUrl output>')} twitter-replay")

if env_file:
    safe = re.compile(r"^[A-Za-z0-9_./:@+=,-]*$")
    lines = []
    for key, value in list(outputs.items()) + list(producer.items()):
        if not safe.match(value):
            value = "'" + value.replace("'", "'\\''") + "'"
        lines.append(f"{key}={value}\n")
    with open(env_file, "w") as f:
        f.writelines(lines)
PY
