#!/bin/sh
# emulator.sh starts the Workers KV emulator (kvemulator) in the background
# for a CI job, waits until it answers, and stops it cleanly. POSIX sh; needs
# curl. Copy it into your repository; see docs/ci.md.
#
#   eval "$(sh emulator.sh start)"   # start, wait, print the export lines
#   ...                              # tests use CLOUDFLARE_API_BASE_URL etc.
#   sh emulator.sh stop              # SIGTERM, wait, exit with its status
#
# start prints shell export lines for CLOUDFLARE_API_BASE_URL (wrangler, this
# module's Go library), CLOUDFLARE_BASE_URL (Cloudflare's TypeScript SDK),
# CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID, and when run in a GitHub
# Actions step also appends them to $GITHUB_ENV for the steps that follow.
# stop exits with the emulator's own exit status: 0 after a clean shutdown.
#
# Settings, all optional, from the environment:
#   KVEMULATOR          the command to run (default: kvemulator, from PATH)
#   KVEMULATOR_ADDR     address to listen on (default 127.0.0.1:8787; a port
#                       of 0 picks a free one, read back from the banner)
#   KVEMULATOR_TOKEN    API token it accepts (default kvemulator-token)
#   KVEMULATOR_ACCOUNT  account ID it serves (default 0123456789abcdef0123456789abcdef)
#   KVEMULATOR_DATA     directory to persist state in (default: in memory)
#   KVEMULATOR_DIR      where its pid, exit status and log go (default .kvemulator)
#   KVEMULATOR_WAIT     seconds to wait for it to start or stop (default 30)
set -eu

cmd=${KVEMULATOR:-kvemulator}
addr=${KVEMULATOR_ADDR:-127.0.0.1:8787}
token=${KVEMULATOR_TOKEN:-kvemulator-token}
account=${KVEMULATOR_ACCOUNT:-0123456789abcdef0123456789abcdef}
data=${KVEMULATOR_DATA:-}
dir=${KVEMULATOR_DIR:-.kvemulator}
wait_s=${KVEMULATOR_WAIT:-30}

say() { echo "emulator.sh: $*" >&2; }

# nap sleeps a fifth of a second where sleep takes fractions, else a second.
nap() { sleep 0.2 2>/dev/null || sleep 1; }

# running reports whether the emulator has not exited yet.
running() { [ ! -f "$dir/status" ]; }

start() {
	mkdir -p "$dir"
	rm -f "$dir/pid" "$dir/status" "$dir/log"
	set -- -addr "$addr" -token "$token" -account "$account"
	if [ -n "$data" ]; then
		set -- "$@" -data "$data"
	fi
	# A background subshell runs the emulator and records its exit status.
	# Its output goes to the log, never to this script's stdout, so that
	# $(sh emulator.sh start) returns as soon as the export lines are out.
	(
		set +e
		"$cmd" "$@" >"$dir/log" 2>&1 </dev/null &
		echo $! >"$dir/pid"
		wait $!
		echo $? >"$dir/status"
	) >/dev/null 2>&1 </dev/null &

	# The banner names the base URL (the real port when it was 0).
	deadline=$(($(date +%s) + wait_s))
	base=
	while [ -z "$base" ]; do
		base=$(sed -n 's/^ *base URL: *//p' "$dir/log" 2>/dev/null | head -n 1)
		if [ -z "$base" ]; then
			if ! running || [ "$(date +%s)" -ge "$deadline" ]; then
				say "kvemulator did not start:"
				cat "$dir/log" >&2 2>/dev/null || true
				stop_quietly
				exit 1
			fi
			nap
		fi
	done

	# Then wait until the API answers a request.
	until curl -fsS -o /dev/null -H "Authorization: Bearer $token" \
		"$base/accounts/$account/storage/kv/namespaces" 2>/dev/null; do
		if ! running || [ "$(date +%s)" -ge "$deadline" ]; then
			say "kvemulator does not answer at $base:"
			cat "$dir/log" >&2
			stop_quietly
			exit 1
		fi
		nap
	done
	say "kvemulator is up at $base (pid $(cat "$dir/pid"), log $dir/log)"

	for kv in "CLOUDFLARE_API_BASE_URL=$base" "CLOUDFLARE_BASE_URL=$base" \
		"CLOUDFLARE_API_TOKEN=$token" "CLOUDFLARE_ACCOUNT_ID=$account"; do
		echo "export ${kv%%=*}='${kv#*=}'"
		if [ -n "${GITHUB_ENV:-}" ]; then
			echo "$kv" >>"$GITHUB_ENV"
		fi
	done
}

# stop_quietly ends an emulator that failed to come up.
stop_quietly() {
	if [ -f "$dir/pid" ]; then
		kill -TERM "$(cat "$dir/pid")" 2>/dev/null || true
	fi
}

stop() {
	if [ ! -f "$dir/pid" ]; then
		say "no emulator was started from $dir"
		exit 1
	fi
	pid=$(cat "$dir/pid")
	if running; then
		kill -TERM "$pid" 2>/dev/null || true
	fi
	deadline=$(($(date +%s) + wait_s))
	while running; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			say "kvemulator (pid $pid) did not stop within ${wait_s}s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			exit 1
		fi
		nap
	done
	status=$(cat "$dir/status")
	if [ "$status" != 0 ]; then
		say "kvemulator exited with status $status:"
		cat "$dir/log" >&2
	else
		say "kvemulator stopped cleanly"
	fi
	exit "$status"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
	echo "usage: emulator.sh start|stop" >&2
	exit 2
	;;
esac
