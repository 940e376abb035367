#!/usr/bin/env bash
# Rebuilds src/payload_dictionary_v2.zdict, the frozen dictionary of payload codec 2 (zstd): the
# content of codec 1's dictionary (src/payload_dictionary.json: X's JSON skeleton, no post text)
# plus entropy tables fitted to the complete post lines of fixtures/x-stream at the codec's level.
# Run once, by hand; the output must never change afterwards (stored payloads depend on it), so
# this script writes to $1 (default: a temporary file) and never over the committed dictionary.
# Needs a C compiler and libzstd (>= 1.4).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
crate="$(dirname "$here")"
out="${1:-$(mktemp --suffix=.zdict)}"
level="${LEVEL:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
libzstd=""
for candidate in /usr/lib/*/libzstd.so.1 /usr/lib/libzstd.so.1; do
  [[ -e "$candidate" ]] && libzstd="$candidate" && break
done
[[ -n "$libzstd" ]] || { echo "libzstd.so.1 not found" >&2; exit 1; }
cc -O2 -o "$work/finalize" "$here/zstd_finalize_dictionary.c" "$libzstd"
python3 - "$crate/../fixtures/x-stream" > "$work/samples.txt" <<'PY'
import glob, json, sys
for path in sorted(glob.glob(sys.argv[1] + "/*.jsonl")):
    for line in open(path, encoding="utf-8", newline="").read().split("\n"):
        line = line.rstrip("\r")
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("data"), dict) and value["data"].get("id"):
            print(line)
PY
"$work/finalize" "$crate/src/payload_dictionary.json" "$work/samples.txt" "$level" 0 "$out"
echo "$out"
