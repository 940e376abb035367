#!/usr/bin/env bash
# Deletes a twitter-pipeline stack. The EventData table and the failed-batch bucket are kept
# (DeletionPolicy Retain) unless --delete-table and --delete-failed-batches say otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: scripts/destroy.sh STACK [--region REGION] [--delete-table] [--delete-failed-batches]

Deletes the CloudFormation stack STACK (stream, function, mapping, queue, alarms, dashboard,
roles and policies, log group) and waits until it is gone. Then says what it kept:

  - the DynamoDB table STACK-EventData, with the collected posts (DeletionPolicy Retain), and
    the command to delete it;
  - the failed-batch bucket (the FailedBatchBucketName output), with every batch Lambda
    discarded and nobody replayed yet (DeletionPolicy Retain), and the command to delete it;
  - the artifacts bucket holding the function zips (shared by every stack of the account and
    region; scripts/deploy.sh reuses it).

Options:
  --region REGION          AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or the CLI profile)
  --delete-table           also delete the table, and every post in it, once the stack is gone
  --delete-failed-batches  also empty and delete the failed-batch bucket, and the batches in it
                           (posts that never reached the table), once the stack is gone
  -h, --help               this text
USAGE
}

stack=""
region=""
delete_table=false
delete_failed_batches=false
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --region) region="${2:?--region needs a region}"; shift 2 ;;
    --region=*) region="${1#*=}"; shift ;;
    --delete-table) delete_table=true; shift ;;
    --delete-failed-batches) delete_failed_batches=true; shift ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *)
      [[ -z "$stack" ]] || die "one STACK only (got '$stack' and '$1')"
      stack="$1"; shift ;;
  esac
done
[[ -n "$stack" ]] || { usage >&2; die "STACK is required"; }

ensure_aws_cli
if [[ -z "$region" ]]; then
  region="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null || true)}}"
fi
[[ -n "$region" ]] || die "no region: pass --region or set AWS_REGION"
cfn() { aws --region "$region" cloudformation "$@"; }

errfile="$(mktemp)"
trap 'rm -f "$errfile"' EXIT
table="$stack-EventData"
# Its name is generated, so only the stack's output knows it.
failed_bucket=""
output() {
  local value
  value="$(cfn describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text)"
  [[ "$value" == None ]] || echo "$value"
}
if stack_id="$(cfn describe-stacks --stack-name "$stack" --query 'Stacks[0].StackId' --output text 2>"$errfile")"; then
  from_output="$(output TableName)"
  [[ -z "$from_output" ]] || table="$from_output"
  failed_bucket="$(output FailedBatchBucketName)"

  echo "== deleting stack $stack in $region" >&2
  cfn delete-stack --stack-name "$stack"
  # By id: a deleted stack is no longer found by its name.
  if ! cfn wait stack-delete-complete --stack-name "$stack_id"; then
    cfn describe-stack-events --stack-name "$stack_id" --max-items 50 \
      --query "StackEvents[?contains(ResourceStatus, 'FAILED')].[LogicalResourceId, ResourceStatusReason]" \
      --output text >&2 || true
    die "stack $stack was not deleted (see the failed resources above)"
  fi
  echo "Deleted stack $stack."
else
  grep -q "does not exist" "$errfile" || die "describe-stacks $stack: $(tail -n1 "$errfile")"
  # Already deleted: --delete-table can still remove the table an earlier run kept (its name is
  # known); the failed-batch bucket's name went with the stack.
  kept_bucket_hint="a failed-batch bucket an earlier run kept is deleted by the name it printed: aws s3 rb s3://NAME --force"
  if ! $delete_table; then
    $delete_failed_batches && die "no stack named $stack in $region ($kept_bucket_hint)"
    die "no stack named $stack in $region"
  fi
  echo "No stack named $stack in $region (already deleted)."
  if $delete_failed_batches; then
    echo "--delete-failed-batches: the stack is gone, so its bucket is not known here; $kept_bucket_hint" >&2
  fi
fi

if aws --region "$region" dynamodb describe-table --table-name "$table" >/dev/null 2>&1; then
  if $delete_table; then
    echo "== deleting table $table (--delete-table)" >&2
    aws --region "$region" dynamodb delete-table --table-name "$table" >/dev/null
    aws --region "$region" dynamodb wait table-not-exists --table-name "$table"
    echo "Deleted table $table and the posts in it."
  else
    cat <<KEPT
Kept: DynamoDB table $table (the collected posts; DeletionPolicy Retain).
  Delete it, and every post in it, with:
    aws dynamodb delete-table --region $region --table-name $table
  or run: scripts/destroy.sh $stack --delete-table
  (needed too before deploying a new stack named $stack: its table would have this name).
KEPT
  fi
else
  echo "No table $table was left to keep."
fi

if [[ -n "$failed_bucket" ]] && aws --region "$region" s3api head-bucket --bucket "$failed_bucket" >/dev/null 2>&1; then
  if $delete_failed_batches; then
    echo "== emptying and deleting bucket $failed_bucket (--delete-failed-batches)" >&2
    aws --region "$region" s3 rb "s3://$failed_bucket" --force >/dev/null
    echo "Deleted bucket $failed_bucket and the discarded batches in it."
  else
    objects="$(aws --region "$region" s3api list-objects-v2 --bucket "$failed_bucket" \
      --query 'length(Contents || `[]`)' --output text)"
    cat <<KEPT
Kept: S3 bucket $failed_bucket, the batches Lambda discarded ($objects object(s); DeletionPolicy Retain).
  Each holds posts that never reached the table; S3 deletes them when FailedBatchRetentionDays pass.
  Delete it, and every batch in it, with:
    aws s3 rb s3://$failed_bucket --force --region $region
  (scripts/destroy.sh --delete-failed-batches does it in the run that deletes the stack).
KEPT
  fi
fi
echo "Kept: the artifacts bucket with the function zips (shared; scripts/deploy.sh reuses it)."
