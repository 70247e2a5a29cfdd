#!/bin/sh
# The shell recipe of docs/ci.md: start the emulator, run the tests against
# it, stop it, and fail if either the tests or the emulator failed.
set -eu
here=$(dirname "$0")

eval "$(sh "$here/emulator.sh" start)"

run_tests() {
	# Replace with your own test command; these two requests stand in for it.
	ns="$CLOUDFLARE_API_BASE_URL/accounts/$CLOUDFLARE_ACCOUNT_ID/storage/kv/namespaces"
	auth="Authorization: Bearer $CLOUDFLARE_API_TOKEN"
	curl -fsS -X POST -H "$auth" -H 'Content-Type: application/json' -d '{"title":"ci"}' "$ns"
	echo
	curl -fsS -H "$auth" "$ns"
	echo
}

status=0
run_tests || status=$?
sh "$here/emulator.sh" stop || status=$?
exit "$status"
