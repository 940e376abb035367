#!/usr/bin/env bash
# Runs every check CI runs, on a fresh machine: installs the Python tools it needs (moto,
# cfn-lint), then format, lints and the whole test suite.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
  -h|--help)
    cat <<USAGE
Usage: scripts/test.sh

Installs moto[server] and cfn-lint with pip when missing, then runs:
  cargo fmt --all --check
  cargo clippy --workspace --all-targets -- -D warnings
  cargo test --workspace
USAGE
    exit 0 ;;
  "") ;;
  *) die "unknown argument: $1 (see --help)" ;;
esac

need cargo "install Rust from https://rustup.rs"
ensure_python_tools
cd "$REPO_ROOT"

echo "== cargo fmt" >&2
cargo fmt --all --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test" >&2
cargo test --workspace
