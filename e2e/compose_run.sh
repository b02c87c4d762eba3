#!/bin/sh
# The engine end to end on OpenBao and on HashiCorp Vault, in containers (e2e/compose.yaml):
#
#   1. build the images and start Postgres, LiteLLM, OpenBao and Vault;
#   2. in each server, install and register the plugin as an operator would: the commands that
#      `vault-plugin-litellm install` prints, run with that server's own CLI, then a mount that
#      answers a help request (the plugin process started) and is disabled again;
#   3. run the end-to-end suite in external-server mode against each server in turn;
#   4. tear the stack down (volumes included), however the run ends.
#
# Needs only a Docker engine with the compose plugin: POSIX sh, so it also runs in the
# docker:*-cli image. Exits non-zero if anything failed, after running both servers.
# NOT exercised by this project's own CI (.ci/run): its machines run no Docker engine.
set -eu
cd "$(dirname "$0")"

project=${E2E_COMPOSE_PROJECT:-vault-plugin-litellm-e2e}
compose() { docker compose -f compose.yaml -p "$project" "$@"; }

cleanup() {
  status=$?
  if [ "$status" -ne 0 ]; then
    echo "--- the servers' and LiteLLM's logs (tail)" >&2
    compose logs --no-color --tail=80 openbao vault litellm >&2 || true
  fi
  compose --profile tests down --volumes --remove-orphans >/dev/null 2>&1 || true
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n=== %s\n' "$*"; }

step "build the images (the plugin's wheels and locked dependencies inside each server image)"
compose --profile tests build

step "start Postgres, LiteLLM 1.106.12, OpenBao and Vault; wait until each is healthy"
compose up --detach --wait postgres litellm openbao vault

# The operator's install inside a server: the printed register and enable commands for this
# server's CLI (`bao` or `vault`), run as printed.
install_plugin() {
  server=$1 cli=$2
  out=$(compose exec -T "$server" \
    /opt/vault-plugin-litellm/venv/bin/vault-plugin-litellm install --plugin-dir /plugins)
  printf '%s\n' "$out"
  register=$(printf '%s\n' "$out" | sed -n "s/^  \($cli plugin register .*\)$/\1/p")
  enable=$(printf '%s\n' "$out" | sed -n "s/^  \($cli secrets enable .*\)$/\1/p")
  if [ -z "$register" ] || [ -z "$enable" ]; then
    echo "vault-plugin-litellm install printed no $cli commands" >&2
    return 1
  fi
  # shellcheck disable=SC2086  # the printed commands are split into words as a shell would
  compose exec -T "$server" $register
  # shellcheck disable=SC2086
  compose exec -T "$server" $enable
  compose exec -T "$server" "$cli" path-help litellm/config >/dev/null
  compose exec -T "$server" "$cli" secrets disable litellm
}

failed=
for server in openbao vault; do
  case $server in
    openbao) cli=bao token=openbao-dev-root ;;
    vault) cli=vault token=vault-dev-root ;;
  esac
  step "$server: install and register the plugin with $cli"
  install_plugin "$server" "$cli"

  step "$server: the end-to-end suite in external-server mode"
  if compose --profile tests run --rm \
    -e E2E_BAO_ADDR="http://$server:8200" \
    -e E2E_BAO_TOKEN="$token" \
    -e E2E_PLUGIN_DIR="/plugins/$server" \
    tests; then
    echo "$server: passed"
  else
    echo "$server: FAILED" >&2
    failed="$failed $server"
  fi
done

if [ -n "$failed" ]; then
  echo "the suite failed against:$failed" >&2
  exit 1
fi
step "done: the suite passed against OpenBao and Vault"
