#!/usr/bin/env bash
# Render a dncsync HTML run report in headless Chromium and save a PNG screenshot.
#
#   scripts/screenshot_report.sh [REPORT.html] [OUT.png] [WIDTHxHEIGHT]
#
# With no report given, renders the seeded sample (scripts/sample_report.py). Needs Debian's
# `chromium` package (apt-get install -y chromium). The browser runs with a fresh, empty
# profile, every background network feature off and no host resolvable: the report must
# render with no network at all.
set -euo pipefail
cd "$(dirname "$0")/.."

report="${1:-}"
out="${2:-docs/report-screenshot.png}"
size="${3:-1280x2400}"
browser="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [[ -z "$browser" ]]; then
    echo "screenshot_report.sh: chromium not found (apt-get install -y chromium)" >&2
    exit 2
fi
python="${PYTHON:-.venv/bin/python}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [[ -z "$report" ]]; then
    report="$work/report.html"
    "$python" scripts/sample_report.py --format html --output "$report"
fi
mkdir -p "$work/profile" "$(dirname "$out")"

# --virtual-time-budget lets layout settle before the shot; the page has no script anyway.
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-default-apps --disable-extensions --hide-scrollbars --mute-audio \
    --host-resolver-rules="MAP * ~NOTFOUND" \
    --user-data-dir="$work/profile" --window-size="${size/x/,}" \
    --virtual-time-budget=2000 \
    --screenshot="$(realpath -m "$out")" "file://$(realpath "$report")" \
    >"$work/chromium.log" 2>&1 || {
    echo "screenshot_report.sh: chromium failed:" >&2
    tail -n 20 "$work/chromium.log" >&2
    exit 1
}
if [[ ! -s "$out" ]]; then
    echo "screenshot_report.sh: chromium wrote no screenshot" >&2
    tail -n 20 "$work/chromium.log" >&2
    exit 1
fi
echo "$out"
