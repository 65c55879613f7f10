#!/usr/bin/env bash
# `make demo`. The full demo (broker, relay, agent, four simulated cameras,
# live viewer) arrives with the live-view issue; until then this walks through
# what exists: a throwaway PKI, a box certificate checked by openssl, an
# administrator key, and a signed policy bundle verified and summarised.
set -euo pipefail
cd "$(dirname "$0")/.."
vigie() { node dist/cli/src/main.js "$@"; }

work=$(mktemp -d /tmp/vigie-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
export VIGIE_PKI_DIR="$work/pki"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. A throwaway PKI: root, boxes, services and people CAs"
vigie pki init --org "Eurométropole Metz Habitat (démo)"
step "2. A certificate for the box of site borny-hauts, checked by openssl"
vigie pki issue box --site borny-hauts --id gw-01 --out "$work/gw-01"
openssl verify -CAfile "$work/pki/root/ca.crt" -untrusted "$work/pki/boxes/ca.crt" "$work/gw-01/cert.pem"
step "3. The administrator's Ed25519 key, then the policy signed with it"
vigie keygen --name admin --out "$work/keys"
cp -r protocol/examples "$work/policy"
vigie policy sign --in "$work/policy/policy.example.yaml" --key "$work/keys/admin.key" --kid admin --out "$work/bundle.json"
step "4. What a box checks before applying a policy"
vigie policy verify --bundle "$work/bundle.json" --admin-key "$work/keys/admin.pub"
step "Not yet: the live view"
echo "The broker, the agent, the simulated building and the receiving centre's viewer"
echo "land with the next issues; 'make demo' will then start them all on loopback."
