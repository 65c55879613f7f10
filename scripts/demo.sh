#!/usr/bin/env bash
# `make demo`: Vigie on one machine, on loopback, with a throwaway PKI and
# policy. Starts the central broker and the agent of one building, then walks
# an operator through opening, listing and closing a transmission, and checks
# the box's journal. With DEMO_KEEP=1 everything keeps running until Ctrl-C,
# so you can type the `vigie op` commands yourself.
#
# Not yet: the simulated cameras, the tunnel and the receiving centre's live
# viewer (issues 4 and 5); until then "open" means the box accepts, tracks and
# journals the transmission.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
vigie() { node "$repo/dist/cli/src/main.js" "$@"; }
# Services are started with `exec` in their subshell, so `$!` is node itself
# and the cleanup stops exactly the processes this script started.

work=$(mktemp -d /tmp/vigie-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "stopping..."; exit 0' INT TERM
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
export VIGIE_PKI_DIR="$work/pki"

step "1. A throwaway PKI, the broker's, the box's and the operator's certificates"
vigie pki init --org "Eurométropole Metz Habitat (démo)" >/dev/null
vigie pki issue service --name broker --dns localhost --ip 127.0.0.1 --out "$work/broker" >/dev/null
vigie pki issue box --site borny-hauts --id box-borny-01 --out "$work/box" >/dev/null
vigie pki issue person --name "Camille Dupont" --role operator --out "$work/operator" >/dev/null
openssl verify -CAfile "$work/pki/root/ca.crt" -untrusted "$work/pki/boxes/ca.crt" "$work/box/cert.pem"

step "2. Keys of the administrator and of operator op-dupont; the policy, signed"
cp -r protocol/examples "$work/policy"
rm "$work/policy/keys/op-dupont.pub" # the example's key: replaced by one we hold
vigie keygen --name op-dupont --out "$work/policy/keys" | sed -n 1,2p
vigie keygen --name admin --out "$work/keys" | sed -n 1,2p
vigie policy sign --in "$work/policy/policy.example.yaml" --key "$work/keys/admin.key" \
  --kid admin --out "$work/policy.bundle.json"

cat >"$work/central.yaml" <<YAML
listen: { host: 127.0.0.1, port: $port }
tls: { caFile: pki/ca-bundle.pem, certFile: broker/chain.pem, keyFile: broker/key.pem, crlFile: pki/crl-bundle.pem }
policy: { bundleFile: policy.bundle.json, adminPublicKeyFile: keys/admin.pub, adminKid: admin }
dataDir: central-data
YAML
cat >"$work/agent.yaml" <<YAML
siteId: borny-hauts
boxId: box-borny-01
dataDir: agent-data
broker: { url: 'mqtts://127.0.0.1:$port', servername: 127.0.0.1 }
tls: { caFile: pki/ca-bundle.pem, certFile: box/chain.pem, keyFile: box/key.pem, crlFile: pki/crl-bundle.pem }
admin: { kid: admin, publicKeyFile: keys/admin.pub }
clockSync: assume # demo only: the box image checks systemd-timesyncd
log: { level: warn }
YAML
cat >"$work/op.yaml" <<YAML
operator: { kid: op-dupont, keyFile: policy/keys/op-dupont.key }
broker: { url: 'mqtts://127.0.0.1:$port', servername: 127.0.0.1 }
tls: { caFile: pki/ca-bundle.pem, certFile: operator/chain.pem, keyFile: operator/key.pem, crlFile: pki/crl-bundle.pem }
YAML
export VIGIE_OP_CONFIG="$work/op.yaml"

step "3. The central broker (mTLS, TLS 1.3) and the agent of site borny-hauts"
(exec node "$repo/dist/cli/src/main.js" central --config "$work/central.yaml" 2>"$work/central.log") &
pids+=($!)
node -e '
const net = require("net"); const port = Number(process.argv[1]); const end = Date.now() + 15000;
(function poll() { const s = net.connect(port, "127.0.0.1");
  s.on("connect", () => { s.destroy(); process.exit(0); });
  s.on("error", () => { if (Date.now() > end) process.exit(1); setTimeout(poll, 100); }); })();' "$port"
(exec node "$repo/dist/cli/src/main.js" agent --config "$work/agent.yaml" 2>"$work/agent.log") &
pids+=($!)
for _ in $(seq 1 100); do # the box is ready once its retained state says online
  vigie op sessions --json 2>/dev/null | grep -q '"status": "online"' && break
  sleep 0.1
done

step "4. An operator opens a transmission after the phone call (urgence: at any hour)"
cmd=(vigie op open --site borny-hauts --camera cam-01,cam-02 --to csu-metz
  --purpose intervention-forces-securite --trigger urgence --officer "Cne Martin"
  --call-ref CSU-2026-0042 --ttl 20m)
echo "\$ ${cmd[*]}"
out=$("${cmd[@]}")
echo "$out"
session=$(sed -n 's/^transmission ouverte : //p' <<<"$out")

step "5. What the watch room sees"
vigie op sessions

step "6. A camera outside the annex is refused, with what to do next"
vigie op open --site borny-hauts --camera cam-99 --to csu-metz --purpose trafics \
  --trigger urgence --officer "Cne Martin" --call-ref CSU-2026-0043 --ttl 20m || true

if [ "${DEMO_KEEP:-0}" = "1" ]; then
  step "Running: try it yourself (Ctrl-C stops everything)"
  echo "  export VIGIE_OP_CONFIG=$work/op.yaml"
  echo "  alias vigie='node $repo/dist/cli/src/main.js'"
  echo "  vigie op sessions"
  echo "  vigie op close $session"
  wait "${pids[0]}"
  exit 0
fi

step "7. The intervention is over: the operator closes it"
vigie op close "$session"
vigie op sessions

step "8. The box's journal: hash chain and signed heads"
kill -TERM "${pids[1]}" && wait "${pids[1]}" || true
vigie journal verify "$work/agent-data/journal.db" --cert "$work/box/cert.pem"

step "Not yet"
echo "The simulated cameras, the tunnel and the live viewer of the receiving centre"
echo "arrive with the next issues; 'make demo' will then show the picture itself."
