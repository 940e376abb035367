#!/usr/bin/env bash
# Deletes a twitter-pipeline stack. The EventData table is kept (DeletionPolicy Retain) unless
# --delete-table says otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: scripts/destroy.sh STACK [--region REGION] [--delete-table]

Deletes the CloudFormation stack STACK (stream, function, mapping, queue, alarms, dashboard,
roles and policies, log group) and waits until it is gone. Then says what it kept:

  - the DynamoDB table STACK-EventData, with the collected posts (DeletionPolicy Retain), and
    the command to delete it;
  - the artifacts bucket holding the function zips (shared by every stack of the account and
    region; scripts/deploy.sh reuses it).

Options:
  --region REGION   AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or the CLI profile)
  --delete-table    also delete the table, and every post in it, once the stack is gone
  -h, --help        this text
USAGE
}

stack=""
region=""
delete_table=false
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --region) region="${2:?--region needs a region}"; shift 2 ;;
    --region=*) region="${1#*=}"; shift ;;
    --delete-table) delete_table=true; shift ;;
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
if stack_id="$(cfn describe-stacks --stack-name "$stack" --query 'Stacks[0].StackId' --output text 2>"$errfile")"; then
  from_output="$(cfn describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='TableName'].OutputValue" --output text)"
  [[ -z "$from_output" || "$from_output" == None ]] || table="$from_output"

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
  # Already deleted: --delete-table can still remove the table an earlier run kept.
  $delete_table || die "no stack named $stack in $region"
  echo "No stack named $stack in $region (already deleted)."
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
echo "Kept: the artifacts bucket with the function zips (shared; scripts/deploy.sh reuses it)."
