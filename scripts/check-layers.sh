#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Checks the direction of dependencies between the layers by their #include
# lines: the engine uses no connector, renderer, daemon or CLI header and no
# network, event-loop or Graphviz library; the connectors use nothing of the
# renderers, the daemon or the CLI; the renderers (report/) use the engine
# only; the daemon and the CLI do not use each other. Prints every offending line and
# exits 1 when there is one (ctest layers/includes runs it).
#
# usage: scripts/check-layers.sh [SOURCE_DIR]   (default: the repository root)
set -eu

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
bad=0

# forbid LAYER PATTERN WHY: include lines under LAYER/ matching PATTERN.
forbid() {
	layer=$1
	pattern=$2
	why=$3
	hits=$(find "$layer" -type f \( -name '*.c' -o -name '*.h' \) -print0 |
		xargs -0 grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*$pattern" /dev/null || true)
	if [ -n "$hits" ]; then
		printf '%s\n' "$hits" | sed "s|\$|   <- $why|"
		bad=1
	fi
}

for layer in engine connectors report daemon cli; do
	if [ ! -d "$layer" ]; then
		echo "check-layers: no $layer/ in $root" >&2
		exit 2
	fi
done

forbid engine '"(connectors|report|daemon|cli)/' 'the engine uses no outer layer'
forbid engine '<(curl/|uv\.h|uv/|microhttpd\.h|systemd/)' 'the engine has no network, loop or service library'
forbid engine '<(graphviz/|gvc\.h|cgraph\.h)' 'Graphviz belongs to the renderers'
forbid connectors '"(report|daemon|cli)/' 'connectors use nothing of the renderers, the daemon or the CLI'
forbid report '"(connectors|daemon|cli)/' 'the renderers use the engine only'
forbid report '<(curl/|uv\.h|uv/|microhttpd\.h|systemd/)' 'the renderers have no network, loop or service library'
forbid connectors '<(microhttpd\.h|systemd/)' 'the HTTP server and systemd belong to the daemon'
forbid daemon '"cli/' 'the daemon does not use the CLI'
forbid cli '"daemon/' 'the CLI does not use the daemon'

if [ "$bad" -ne 0 ]; then
	echo "check-layers: dependency direction broken (see docs/architecture.md)" >&2
	exit 1
fi
echo "check-layers: engine <- connectors, report <- daemon, cli: OK"
