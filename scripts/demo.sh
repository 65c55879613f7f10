#!/usr/bin/env bash
# `make demo`: Vigie on one machine, on loopback, with a throwaway PKI and
# policy. Starts a simulated building of 4 ONVIF cameras, the central broker,
# the relay and live viewer of the receiving centre "csu-metz", and the agent
# of the building; shows what the box finds on its camera LAN, then walks an
# operator through opening (the box dials the relay and carries the picture),
# listing and closing a transmission, checks the box's journal, and reads the
# transmission back from the central register the box forwarded it to.
# With DEMO_KEEP=1 everything keeps running until Ctrl-C: it prints the viewer's
# and the register page's addresses and credentials and the `vigie op open` line to paste.
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
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port=$(free_port)
wsd_port=$(free_port) # WS-Discovery, unicast on loopback (multicast only ever inside a namespace)
relay_port=$(free_port)
viewer_port=$(free_port)
register_port=$(free_port)
register_web_port=$(free_port)
export VIGIE_PKI_DIR="$work/pki"

step "1. A throwaway PKI, the broker's, the box's and the operator's certificates"
vigie pki init --org "Eurométropole Metz Habitat (démo)" >/dev/null
vigie pki issue service --name broker --dns localhost --ip 127.0.0.1 --out "$work/broker" >/dev/null
vigie pki issue box --site borny-hauts --id box-borny-01 --out "$work/box" >/dev/null
vigie pki issue service --name relay-csu-metz --dns localhost --ip 127.0.0.1 --out "$work/relay" >/dev/null
vigie pki issue service --name register --dns localhost --ip 127.0.0.1 --out "$work/register" >/dev/null
vigie pki issue person --name "Camille Dupont" --role operator --out "$work/operator" >/dev/null
openssl verify -CAfile "$work/pki/root/ca.crt" -untrusted "$work/pki/boxes/ca.crt" "$work/box/cert.pem"

step "2. Keys of the administrator, of operator op-dupont and of the register; the policy, signed"
cp -r protocol/examples "$work/policy"
rm "$work/policy/keys/op-dupont.pub" # the example's key: replaced by one we hold
vigie keygen --name op-dupont --out "$work/policy/keys" | sed -n 1,2p
vigie keygen --name admin --out "$work/keys" | sed -n 1,2p
vigie register keygen --out "$work/keys" --kid register-1 | sed -n 1,2p
# The annex of site borny-hauts: the 4 cameras of the simulated building (the 4th H.265 only);
# the relay of csu-metz: on loopback, its certificate from this PKI, named localhost.
node --input-type=module -e '
import { readFileSync, writeFileSync } from "node:fs";
import { parse, stringify } from "yaml";
const [file, annexModule, relay, caFile] = process.argv.slice(1);
const { simAnnex } = await import(annexModule);
const policy = parse(readFileSync(file, "utf8"));
policy.sites.find((s) => s.id === "borny-hauts").cameras = simAnnex("vigie", 4, [4]);
const csu = policy.recipients.find((r) => r.id === "csu-metz");
delete csu.caFile;
Object.assign(csu, { relay, caPem: readFileSync(caFile, "utf8"), serverName: "localhost" });
writeFileSync(file, stringify(policy));' "$work/policy/policy.example.yaml" "$repo/dist/sim/src/annex.js" \
  "127.0.0.1:$relay_port" "$work/pki/root/ca.crt"
viewer_password=$(node -e 'console.log(require("crypto").randomBytes(12).toString("base64url"))')
viewer_hash=$(printf '%s\n' "$viewer_password" | vigie csu hash-password)
auditor_password=$(node -e 'console.log(require("crypto").randomBytes(12).toString("base64url"))')
auditor_hash=$(printf '%s\n' "$auditor_password" | vigie csu hash-password)
vigie policy sign --in "$work/policy/policy.example.yaml" --key "$work/keys/admin.key" \
  --kid admin --out "$work/policy.bundle.json"

cat >"$work/central.yaml" <<YAML
listen: { host: 127.0.0.1, port: $port }
tls: { caFile: pki/ca-bundle.pem, certFile: broker/chain.pem, keyFile: broker/key.pem, crlFile: pki/crl-bundle.pem }
policy: { bundleFile: policy.bundle.json, adminPublicKeyFile: keys/admin.pub, adminKid: admin }
dataDir: central-data
register: # the central register: every box's journal, ingested over gRPC mTLS
  listen: { host: 127.0.0.1, port: $register_port }
  tls: { caFile: pki/ca-bundle.pem, certFile: register/chain.pem, keyFile: register/key.pem, crlFile: pki/crl-bundle.pem }
  signing: { keyFile: keys/register-1.key, kid: register-1 }
  web: # the read-only register page for the people who answer for it
    listen: { host: 127.0.0.1, port: $register_web_port }
    tls: { certFile: register/chain.pem, keyFile: register/key.pem }
    users:
      - { login: dpo, name: 'Claire Leroy (DPO, EMH)', scryptHash: '$auditor_hash' }
YAML
export VIGIE_REGISTER_CONFIG="$work/central.yaml"
cat >"$work/agent.yaml" <<YAML
siteId: borny-hauts
boxId: box-borny-01
dataDir: agent-data
broker: { url: 'mqtts://127.0.0.1:$port', servername: 127.0.0.1 }
tls: { caFile: pki/ca-bundle.pem, certFile: box/chain.pem, keyFile: box/key.pem, crlFile: pki/crl-bundle.pem }
admin: { kid: admin, publicKeyFile: keys/admin.pub }
policyFile: policy.bundle.json # to start with, before the broker delivers one
clockSync: assume # demo only: the box image checks systemd-timesyncd
log: { level: warn }
cameras:
  lanAddress: 127.0.0.1
  lanCidrs: [127.0.0.0/8]
  multicast: false # on loopback: directed probes only
  probe: ['127.0.0.1:$wsd_port']
  credentialsFile: cameras.json
  answerWaitMs: 500
YAML
cat >>"$work/agent.yaml" <<YAML
media: { warmCache: true } # instant open: the latest pictures of each annexed camera, in memory only
register: { address: '127.0.0.1:$register_port', serverName: localhost, publicKeyFile: keys/register-1.pub, kid: register-1 }
YAML
cat >"$work/csu.yaml" <<YAML
recipientId: csu-metz
listen: { host: 127.0.0.1, port: $relay_port }
tls: { caFile: pki/ca-bundle.pem, certFile: relay/chain.pem, keyFile: relay/key.pem, crlFile: pki/crl-bundle.pem, boxesCaFile: pki/boxes/ca.crt }
policy: { bundleFile: policy.bundle.json, adminKid: admin, adminPublicKeyFile: keys/admin.pub }
log: { level: warn }
viewer:
  listen: { host: 127.0.0.1, port: $viewer_port }
  tls: { certFile: relay/chain.pem, keyFile: relay/key.pem }
  viewers:
    - id: martin
      name: Brigadier Martin
      approvalRef: PREF-57-2026-0142
      validFrom: '2026-01-01T00:00:00Z'
      validUntil: '2030-12-31T23:00:00Z'
      passwordHash: '$viewer_hash'
YAML
cat >"$work/op.yaml" <<YAML
operator: { kid: op-dupont, keyFile: policy/keys/op-dupont.key }
broker: { url: 'mqtts://127.0.0.1:$port', servername: 127.0.0.1 }
tls: { caFile: pki/ca-bundle.pem, certFile: operator/chain.pem, keyFile: operator/key.pem, crlFile: pki/crl-bundle.pem }
YAML
export VIGIE_OP_CONFIG="$work/op.yaml"

step "3. A simulated building: 4 ONVIF cameras with live RTSP streams (GStreamer)"
(exec node "$repo/dist/cli/src/main.js" sim --cameras 4 --h265-only 4 --rtsp-port 0 \
  --discovery-port "$wsd_port" --credentials "$work/cameras.json" >"$work/sim.out" 2>"$work/sim.log") &
pids+=($!)
for _ in $(seq 1 100); do # ready once it says how to stop it
  grep -q 'Ctrl-C to stop' "$work/sim.out" 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$work/sim.log" >&2; exit 1; }
  sleep 0.1
done
sed -n '1,/streams:/p' "$work/sim.out"

step "4. What the box finds on its camera LAN, against the annex (vigie agent discover)"
vigie agent discover --config "$work/agent.yaml"

step "5. The central broker and register (mTLS, TLS 1.3), the relay and viewer of csu-metz, the agent of borny-hauts"
wait_port() {
  node -e '
const net = require("net"); const port = Number(process.argv[1]); const end = Date.now() + 15000;
(function poll() { const s = net.connect(port, "127.0.0.1");
  s.on("connect", () => { s.destroy(); process.exit(0); });
  s.on("error", () => { if (Date.now() > end) process.exit(1); setTimeout(poll, 100); }); })();' "$1"
}
(exec node "$repo/dist/cli/src/main.js" central --config "$work/central.yaml" 2>"$work/central.log") &
pids+=($!)
wait_port "$port" || { echo "the broker did not start:" >&2; cat "$work/central.log" >&2; exit 1; }
wait_port "$register_port" || { echo "the register did not start:" >&2; cat "$work/central.log" >&2; exit 1; }
(exec node "$repo/dist/cli/src/main.js" csu --config "$work/csu.yaml" 2>"$work/csu.log") &
pids+=($!)
wait_port "$viewer_port" || { echo "the relay did not start:" >&2; cat "$work/csu.log" >&2; exit 1; }
(exec node "$repo/dist/cli/src/main.js" agent --config "$work/agent.yaml" 2>"$work/agent.log") &
pids+=($!)
for _ in $(seq 1 100); do # the box is ready once its retained state says online
  vigie op sessions --json 2>/dev/null | grep -q '"status": "online"' && break
  sleep 0.1
done

step "6. An operator opens a transmission after the phone call (urgence: at any hour)"
cmd=(vigie op open --site borny-hauts --camera cam-01,cam-02 --to csu-metz
  --purpose intervention-forces-securite --trigger urgence --officer "Cne Martin"
  --call-ref CSU-2026-0042 --ttl 20m)
echo "\$ ${cmd[*]}"
out=$("${cmd[@]}")
echo "$out"
session=$(sed -n 's/^transmission ouverte : //p' <<<"$out")

step "7. What the watch room sees"
vigie op sessions

step "8. A camera outside the annex is refused, with what to do next"
vigie op open --site borny-hauts --camera cam-99 --to csu-metz --purpose trafics \
  --trigger urgence --officer "Cne Martin" --call-ref CSU-2026-0043 --ttl 20m || true

step "The receiving centre's live viewer"
echo "  https://localhost:$viewer_port/   (throwaway certificate: accept it in the browser)"
echo "  login: martin   password: $viewer_password"
step "The central register's page (read-only; every view goes to the access log)"
echo "  https://localhost:$register_web_port/   (same throwaway PKI)"
echo "  login: dpo   password: $auditor_password"

if [ "${DEMO_KEEP:-0}" = "1" ]; then
  step "Running: try it yourself (Ctrl-C stops everything)"
  echo "  export VIGIE_OP_CONFIG=$work/op.yaml"
  echo "  alias vigie='node $repo/dist/cli/src/main.js'"
  echo "  export VIGIE_REGISTER_CONFIG=$work/central.yaml"
  echo "  vigie op sessions"
  echo "  vigie op close $session"
  echo "  vigie register list; vigie register show $session; vigie register verify"
  echo "  vigie op open --site borny-hauts --camera cam-01,cam-02,cam-03 --to csu-metz \\"
  echo "    --purpose intervention-forces-securite --trigger urgence --officer 'Cne Martin' \\"
  echo "    --call-ref CSU-2026-0044 --ttl 5m"
  echo "  logs: $work/*.log"
  wait "${pids[1]}"
  exit 0
fi

step "9. The intervention is over: the operator closes it"
vigie op close "$session"
vigie op sessions

# The box forwards its journal as it writes it: wait (bounded) until the close is in the register.
for _ in $(seq 1 40); do # each look is a consultation, recorded in the access log
  vigie register show "$session" --json --why "démo : attente de la clôture" 2>/dev/null |
    grep -q '"closedAt": "2' && break
  sleep 0.5
done

step "10. The box's journal: hash chain and signed heads"
kill -TERM "${pids[3]}" && wait "${pids[3]}" || true
vigie journal verify "$work/agent-data/journal.db" --cert "$work/box/cert.pem"

step "What the box journaled for that transmission"
node --input-type=module -e '
import Database from "better-sqlite3";
const db = new Database(process.argv[1], { readonly: true });
for (const e of db.prepare("SELECT seq, type FROM entries WHERE type LIKE ? OR type LIKE ? ORDER BY seq").all("session.%", "alarm"))
  console.log(`  ${String(e.seq).padStart(3)}  ${e.type}`);' "$work/agent-data/journal.db" || true

step "11. The central register: the box forwarded its journal (gRPC, mTLS, signed heads)"
vigie register list
vigie register show "$session"
vigie register annotate "$session" --author "Camille Dupont" \
  --outcome "Deux interpellations ; le CSU signale la fin de l'intervention à 10 h 40."

step "12. The register checks every chain, signed head and checkpoint"
vigie register verify

step "13. An extraction for the prefecture, recorded in the access log with why and for whom"
vigie register export --format pdf --why "contrôle annuel du registre" \
  --to-whom "Préfecture de la Moselle, référent vidéoprotection" --out "$work/registre.pdf"
vigie register access-log

echo
echo "DEMO_KEEP=1 make demo keeps everything running: watch the cameras in the viewer."

