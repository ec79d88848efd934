#!/usr/bin/env bash
# Walks one order through intake with grpcurl, against a running `make run`, echoing each
# command so it can be copied: place, read it back, track, review, cancel, restore.
#
# Called by `make demo-intake`. Settings (defaults in brackets):
#   INTAKE_ADDR   [127.0.0.1:50051]
#   TOKEN         [a dev token for alice, customer-service agent, minted with
#                  WAYBILL_TOKEN_BIN (target/debug/waybill-token) from WAYBILL_AUTH_KEY
#                  (var/dev/auth/waybill-dev.key.pem, the key `make run` made)]
#   REVIEWER_TOKEN [the same for rita, order reviewer: nobody reviews an order they placed]
#   WAYBILL_TLS_CA [var/dev/tls/ca.pem]  (the dev CA `make run` made; intake speaks TLS)
#   GRPCURL_BIN   [.tools/venv/bin/grpcurl]     PYTHON_BIN  [.tools/venv/bin/python]
# It needs server reflection (on by default; WAYBILL_REFLECTION=false turns it off).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
grpcurl=${GRPCURL_BIN:-$root/.tools/venv/bin/grpcurl}
python=${PYTHON_BIN:-$root/.tools/venv/bin/python}
addr=${INTAKE_ADDR:-127.0.0.1:50051}
run_id=demo-$(date +%s)
ca=${WAYBILL_TLS_CA:-$root/var/dev/tls/ca.pem}

[[ -x $grpcurl ]] || { echo "no grpcurl at $grpcurl (run: make tools)" >&2; exit 1; }
[[ -f $ca ]] || { echo "no dev CA at $ca (make run creates it)" >&2; exit 1; }
if [[ -z ${TOKEN:-} || -z ${REVIEWER_TOKEN:-} ]]; then
  token_bin=${WAYBILL_TOKEN_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/waybill-token}
  auth_key=${WAYBILL_AUTH_KEY:-$root/var/dev/auth/waybill-dev.key.pem}
  [[ -x $token_bin ]] || { echo "no waybill-token at $token_bin (run: cargo build --workspace --bins)" >&2; exit 1; }
  [[ -f $auth_key ]] || { echo "no dev signing key at $auth_key (make run creates it)" >&2; exit 1; }
  TOKEN=${TOKEN:-$("$token_bin" mint --key "$auth_key" --sub alice --role customer-service-agent --ttl 1h)}
  REVIEWER_TOKEN=${REVIEWER_TOKEN:-$("$token_bin" mint --key "$auth_key" --sub rita --role order-reviewer --ttl 1h)}
fi
echo "(TOKEN holds alice's dev token, REVIEWER_TOKEN rita's: export them to paste the commands below)"

# call METHOD JSON [TOKEN_VARIABLE]: prints the grpcurl command, runs it with the token in
# TOKEN_VARIABLE (TOKEN), prints and keeps its answer in $reply.
call() {
  local method=$1 body=$2 token=${3:-TOKEN}
  printf "\n\$ grpcurl -cacert var/dev/tls/ca.pem -H \"authorization: Bearer \$%s\" -d '%s' %s waybill.v1.IntakeService/%s\n" \
    "$token" "$body" "$addr" "$method"
  reply=$("$grpcurl" -cacert "$ca" -H "authorization: Bearer ${!token}" -d "$body" "$addr" "waybill.v1.IntakeService/$method")
  printf '%s\n' "$reply"
}

# field EXPR: evaluates a Python expression over the last reply, bound to `r`.
field() {
  "$python" -c 'import json, sys; r = json.loads(sys.argv[2]); print(eval(sys.argv[1]))' "$1" "$reply"
}

health=$("$grpcurl" -cacert "$ca" -connect-timeout 2 "$addr" grpc.health.v1.Health/Check 2>&1) || {
  echo "intake does not answer at $addr; start it with 'make run' in another terminal" >&2
  printf '%s\n' "$health" >&2
  exit 1
}
[[ $health == *'"SERVING"'* ]] || { echo "intake is not SERVING yet: $health" >&2; exit 1; }

echo "== place an order (a hazardous line without a declaration, so a human must review it)"
call PlaceOrder '{
  "requestId": "'"$run_id"'-place",
  "customerId": "cust-0001",
  "shipper": {
    "contact": {"name": "Acme Lab Supplies", "phone": "+49 30 1234567", "email": "ship@acme.example"},
    "address": {"lines": ["Hauptstrasse 1"], "city": "Berlin", "region": "BE", "postalCode": "10115", "countryCode": "DE"}
  },
  "consignee": {
    "contact": {"name": "Dr. Erika Muster", "phone": "+49 89 7654321", "email": "erika@lab.example"},
    "address": {"lines": ["Leopoldstrasse 50"], "city": "Munich", "region": "BY", "postalCode": "80802", "countryCode": "DE"}
  },
  "cargo": [
    {"description": "Lab glassware", "quantity": 2, "weightGrams": "1500", "lengthCm": 40, "widthCm": 30, "heightCm": 20,
     "declaredValue": {"amountMinor": "24000", "currency": "EUR"}, "category": "CARGO_CATEGORY_FRAGILE"},
    {"description": "Ethanol 96%, 1 l", "quantity": 1, "weightGrams": "1000", "lengthCm": 10, "widthCm": 10, "heightCm": 30,
     "declaredValue": {"amountMinor": "1500", "currency": "EUR"}, "category": "CARGO_CATEGORY_HAZARDOUS"}
  ],
  "serviceLevel": "SERVICE_LEVEL_EXPRESS"
}'
order_id=$(field 'r["order"]["orderId"]')
position=$(field 'r["position"]')

echo
echo "== let the automatic review run, then read the order back at least at position $position"
for _ in {1..20}; do # the reviewer reacts to the placement within moments
  reply=$("$grpcurl" -cacert "$ca" -H "authorization: Bearer $TOKEN" -d '{"orderId": "'"$order_id"'"}' \
    "$addr" waybill.v1.IntakeService/GetOrder)
  [[ $(field 'r["order"]["status"]') != ORDER_STATUS_PLACED ]] && break
  sleep 0.25
done
call GetOrder '{"orderId": "'"$order_id"'", "minPosition": "'"$position"'"}'
status=$(field 'r["order"]["status"]')

call TrackOrder '{"orderId": "'"$order_id"'", "minPosition": "'"$position"'"}'

if [[ $status == ORDER_STATUS_IN_REVIEW ]]; then
  echo
  echo "== the order waits for a human: accept it"
  call ListReviewQueue '{"pageSize": 10}' REVIEWER_TOKEN
  call ReviewOrder '{"requestId": "'"$run_id"'-review", "orderId": "'"$order_id"'", "decision": "REVIEW_DECISION_ACCEPT", "reason": "UN1170 declaration checked by phone"}' REVIEWER_TOKEN
else
  echo
  echo "== status is $status, not in review: skipping ListReviewQueue / ReviewOrder"
fi

echo
echo "== cancel it, then restore it (within the restore window)"
call CancelOrder '{"requestId": "'"$run_id"'-cancel", "orderId": "'"$order_id"'", "reason": "customer changed plans"}'
call RestoreOrder '{"requestId": "'"$run_id"'-restore", "orderId": "'"$order_id"'"}'
position=$(field 'r["position"]')

echo
echo "== the whole timeline"
call TrackOrder '{"orderId": "'"$order_id"'", "minPosition": "'"$position"'"}'
echo
echo "order $order_id: $(field 'r["status"]')"
