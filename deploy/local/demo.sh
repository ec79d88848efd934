#!/usr/bin/env bash
# One order's whole life through the five services, with grpcurl only, against a running
# `make run`: a customer in CRM, an order placed and accepted, a van and a courier, pickup,
# a checkpoint, arrival, a signed handover, the tracking timeline; then a return with a
# refund, a billing complaint, two surveys, and what CRM makes of it all.
#
# Called by `make demo`. Settings (defaults in brackets):
#   HOST          [127.0.0.1]   (services on ports 50051..50055, as `make run` starts them)
#   VERBOSE       [0]           1 prints every grpcurl command and answer
#   GRPCURL_BIN   [.tools/venv/bin/grpcurl]     PYTHON_BIN  [.tools/venv/bin/python]
#   WAYBILL_TOKEN_BIN [target/debug/waybill-token]
#   WAYBILL_AUTH_KEY  [var/dev/auth/waybill-dev.key.pem]  (the dev key `make run` made)
#   WAYBILL_TLS_CA    [var/dev/tls/ca.pem]  (the dev CA the services' certificate is signed by)
# It needs server reflection (on by default; WAYBILL_REFLECTION=false turns it off). Each
# person in the story calls with a dev token for their role (docs/SECURITY.md).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
grpcurl=${GRPCURL_BIN:-$root/.tools/venv/bin/grpcurl}
python=${PYTHON_BIN:-$root/.tools/venv/bin/python}
host=${HOST:-127.0.0.1}
verbose=${VERBOSE:-0}
run=$(date +%s)

declare -A port=([intake]=50051 [dispatch]=50052 [delivery]=50053 [aftersales]=50054 [crm]=50055)
declare -A api=([intake]=IntakeService [dispatch]=DispatchService [delivery]=DeliveryService
  [aftersales]=AfterSalesService [crm]=CrmService)

token_bin=${WAYBILL_TOKEN_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/waybill-token}
auth_key=${WAYBILL_AUTH_KEY:-$root/var/dev/auth/waybill-dev.key.pem}
ca=${WAYBILL_TLS_CA:-$root/var/dev/tls/ca.pem}

[[ -x $grpcurl ]] || { echo "no grpcurl at $grpcurl (run: make tools)" >&2; exit 1; }
[[ -x $token_bin ]] || { echo "no waybill-token at $token_bin (run: cargo build --workspace --bins)" >&2; exit 1; }
[[ -f $auth_key ]] || { echo "no dev signing key at $auth_key (make run creates it)" >&2; exit 1; }
[[ -f $ca ]] || { echo "no dev CA at $ca (make run creates it)" >&2; exit 1; }

# The story's people and their roles; `token_for` mints each one's token once.
declare -A tokens=()
token_for() {
  local who=${1#user:} roles
  [[ -n ${tokens[$who]:-} ]] && return 0
  case $who in
    demo) roles=(--role customer-service-agent --role integrator) ;; # places orders, reads everything
    dispatcher) roles=(--role dispatcher) ;;
    driver) roles=(--role hub-operator) ;;
    warehouse) roles=(--role hub-operator --role after-sales-agent) ;;
    hub-lead) roles=(--role dispatcher --role hub-operator) ;;
    kim) roles=(--role courier --courier-id "$courier") ;;
    agent) roles=(--role after-sales-agent) ;;
    finance) roles=(--role finance) ;;
    *) echo "no role for $who in the demo" >&2; exit 1 ;;
  esac
  tokens[$who]=$("$token_bin" mint --key "$auth_key" --sub "$who" --ttl 1h "${roles[@]}")
}

# call SERVICE METHOD JSON [ACTOR]: runs one call as ACTOR (user:demo when not given);
# the answer is kept in $reply.
call() {
  local service=$1 method=$2 body=$3 actor=${4:-user:demo}
  local address="$host:${port[$service]}" full="waybill.v1.${api[$service]}/$method"
  token_for "$actor"
  if [[ $verbose == 1 ]]; then
    printf "\n\$ grpcurl -cacert var/dev/tls/ca.pem -H 'authorization: Bearer $%s' -d '%s' %s %s\n" "${actor#user:}" "$body" "$address" "$full"
  fi
  reply=$("$grpcurl" -cacert "$ca" -H "authorization: Bearer ${tokens[${actor#user:}]}" -d "$body" "$address" "$full")
  [[ $verbose == 1 ]] && printf '%s\n' "$reply"
  return 0
}

# field EXPR: a Python expression over the last answer, bound to `r`.
field() {
  "$python" -c 'import json, sys; r = json.loads(sys.argv[2]); print(eval(sys.argv[1]))' "$1" "$reply"
}

# until SERVICE METHOD JSON EXPR: repeats a query (up to 10 s) until EXPR holds on its answer.
until_true() {
  local service=$1 method=$2 body=$3 expr=$4 tries
  for ((tries = 100; tries > 0; tries--)); do
    if call "$service" "$method" "$body" 2>/dev/null && [[ $(field "$expr" 2>/dev/null) == True ]]; then
      return 0
    fi
    sleep 0.1
  done
  echo "gave up waiting: $service $method until $expr" >&2
  exit 1
}

step() { printf '\n== %s\n' "$*"; }
show() { printf '   %s\n' "$*"; }

for service in intake dispatch delivery aftersales crm; do
  health=$("$grpcurl" -cacert "$ca" -connect-timeout 2 "$host:${port[$service]}" grpc.health.v1.Health/Check 2>&1) || {
    echo "$service does not answer at $host:${port[$service]}; start everything with 'make run'" >&2
    exit 1
  }
  [[ $health == *'"SERVING"'* ]] || { echo "$service is not SERVING yet: $health" >&2; exit 1; }
done

customer="demo-$run"
van=$("$python" -c 'import uuid; print(uuid.uuid4())')
courier=$("$python" -c 'import uuid; print(uuid.uuid4())')

step "crm: register customer $customer"
call crm RegisterCustomer '{"requestId": "'"$run"'-customer", "customerId": "'"$customer"'",
  "profile": {"kind": "CUSTOMER_KIND_ORGANISATION", "name": "Acme Lab Supplies GmbH", "industry": "laboratory equipment",
    "contacts": [{"name": "Jana Acme", "phone": "+49 30 1234567", "email": "jana@acme.example"}]}}'
show "registered: $(field 'r["customer"]["profile"]["name"]')"

step "intake: place a standard order, Berlin to Munich (two boxes of books, 3 kg each)"
call intake PlaceOrder '{"requestId": "'"$run"'-place", "customerId": "'"$customer"'",
  "shipper": {"contact": {"name": "Acme Lab Supplies", "phone": "+49 30 1234567"},
    "address": {"lines": ["Hauptstrasse 1"], "city": "Berlin", "region": "BE", "postalCode": "10115", "countryCode": "DE"}},
  "consignee": {"contact": {"name": "Dr. Erika Muster", "phone": "+49 89 7654321"},
    "address": {"lines": ["Leopoldstrasse 50"], "city": "Munich", "region": "BY", "postalCode": "80802", "countryCode": "DE"}},
  "cargo": [{"description": "books", "quantity": 2, "weightGrams": "3000", "lengthCm": 40, "widthCm": 30, "heightCm": 20,
    "declaredValue": {"amountMinor": "10000", "currency": "EUR"}, "category": "CARGO_CATEGORY_GENERAL"}],
  "serviceLevel": "SERVICE_LEVEL_STANDARD"}'
order=$(field 'r["order"]["orderId"]')
show "order $order quoted at $(field 'int(r["order"]["quote"]["total"]["amountMinor"]) / 100') EUR"
until_true intake GetOrder '{"orderId": "'"$order"'"}' 'r["order"]["status"] == "ORDER_STATUS_ACCEPTED"'
show "accepted by the automatic reviewer"

step "dispatch: a van in Berlin; the order's transport task was planned by itself"
call dispatch RegisterVehicle '{"requestId": "'"$run"'-van", "vehicleId": "'"$van"'", "kind": "VEHICLE_KIND_VAN",
  "registration": "B-WB 1001", "capacity": {"weightGrams": "1000000", "volumeCm3": "10000000"}, "depot": "Berlin"}' user:dispatcher
until_true dispatch GetTask '{"taskId": "'"$order"'"}' '"task" in r'
show "task: $(field 'r["task"]["mode"]'), $(field 'int(r["task"]["load"]["weightGrams"]) / 1000') kg"
call dispatch AssignTask '{"requestId": "'"$run"'-assign", "taskId": "'"$order"'"}' user:dispatcher
show "assigned automatically to van $(field 'r["task"]["vehicleId"]')"
call dispatch MarkPacked '{"requestId": "'"$run"'-pack", "taskId": "'"$order"'"}' user:warehouse
call dispatch RecordPickup '{"requestId": "'"$run"'-pickup", "taskId": "'"$order"'"}' user:driver
call dispatch RecordCheckpoint '{"requestId": "'"$run"'-leipzig", "taskId": "'"$order"'", "place": "Leipzig", "note": "on schedule"}' user:driver
show "packed, picked up, passed Leipzig"

step "delivery: a courier for Munich; arrival at the hub schedules the last mile by itself"
call delivery RegisterCourier '{"requestId": "'"$run"'-courier", "courierId": "'"$courier"'", "name": "Kim", "zones": ["Munich"]}' user:hub-lead
call dispatch RecordArrival '{"requestId": "'"$run"'-arrive", "taskId": "'"$order"'", "hub": "MUC-HUB"}' user:driver
until_true delivery GetDelivery '{"deliveryId": "'"$order"'"}' '"delivery" in r'
show "scheduled in zone $(field 'r["delivery"]["zone"]'), promised by $(field 'r["delivery"]["promisedWindow"]["end"]')"
call delivery AssignCourier '{"requestId": "'"$run"'-assign-courier", "deliveryId": "'"$order"'"}' user:hub-lead
call delivery StartDelivery '{"requestId": "'"$run"'-start", "deliveryId": "'"$order"'"}' user:kim
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
call delivery ConfirmDelivery '{"requestId": "'"$run"'-confirm", "deliveryId": "'"$order"'", "proof": {
  "recipientName": "Dr. Erika Muster", "recipientRelation": "consignee",
  "signature": {"stored": {"digest": "sha256:'"$(printf 'ab%.0s' {1..32})"'", "storageRef": "s3://pod/'"$order"'/signature.png"}},
  "photoRef": "s3://pod/'"$order"'/door.jpg", "location": {"latitude": 48.158, "longitude": 11.583},
  "deliveredAt": "'"$now"'", "idChecked": true,
  "checklist": {"pieceCountMatches": true, "packagingIntact": true, "recipientInformedOfContents": true}}}' user:kim
show "handed over to Dr. Erika Muster, signed"

step "intake: the order's timeline across services"
until_true intake GetOrder '{"orderId": "'"$order"'"}' 'r["order"]["status"] == "ORDER_STATUS_DELIVERED"'
call intake TrackOrder '{"orderId": "'"$order"'"}'
field '"\n".join("   {:<9} {}".format(e.get("service", ""), e["summary"]) for e in r["timeline"])'

step "aftersales: one box comes back; a partial refund; the return closes"
until_true aftersales RequestReturn '{"requestId": "'"$run"'-return", "orderId": "'"$order"'", "reason": "ordered twice",
  "lines": [{"cargoIndex": 0, "quantity": 1, "description": "books"}]}' '"returnCase" in r'
return_id=$(field 'r["returnCase"]["returnId"]')
call aftersales ApproveReturn '{"requestId": "'"$run"'-approve", "returnId": "'"$return_id"'"}' user:agent
until_true dispatch GetTask '{"taskId": "'"$return_id"'"}' '"task" in r'
show "return $return_id approved; dispatch planned reverse shipment $(field 'r["task"]["kind"]')"
call aftersales ReceiveReturn '{"requestId": "'"$run"'-receive", "returnId": "'"$return_id"'"}' user:warehouse
call aftersales RefundReturn '{"requestId": "'"$run"'-refund", "returnId": "'"$return_id"'",
  "amount": {"amountMinor": "500", "currency": "EUR"}}' user:finance
call aftersales CloseReturn '{"requestId": "'"$run"'-close-return", "returnId": "'"$return_id"'"}' user:agent
call aftersales RecordSurveyResponse '{"requestId": "'"$run"'-survey-return", "caseKind": "CASE_KIND_RETURN",
  "caseId": "'"$return_id"'", "csat": 4, "nps": 8, "comment": "easy return"}'
show "received, refunded 5.00 EUR, closed; survey answered (CSAT 4, NPS 8)"

step "aftersales: a billing complaint, handled within its SLA"
call aftersales FileComplaint '{"requestId": "'"$run"'-complaint", "customerId": "'"$customer"'", "orderId": "'"$order"'",
  "category": "COMPLAINT_CATEGORY_BILLING_ERROR", "severity": "COMPLAINT_SEVERITY_MEDIUM",
  "description": "charged express, booked standard"}' user:agent
complaint=$(field 'r["complaint"]["complaintId"]')
call aftersales AcknowledgeComplaint '{"requestId": "'"$run"'-ack", "complaintId": "'"$complaint"'"}' user:agent
call aftersales ResolveComplaint '{"requestId": "'"$run"'-resolve", "complaintId": "'"$complaint"'",
  "resolution": "invoice corrected"}' user:agent
show "resolved within SLA: $(field 'r["complaint"].get("resolvedWithinSla", False)')"
call aftersales CloseComplaint '{"requestId": "'"$run"'-close-complaint", "complaintId": "'"$complaint"'"}' user:agent
call aftersales RecordSurveyResponse '{"requestId": "'"$run"'-survey-complaint", "caseKind": "CASE_KIND_COMPLAINT",
  "caseId": "'"$complaint"'", "csat": 3, "nps": 6, "comment": "fixed, but it took a call"}'

step "crm: what the customer looks like now"
until_true crm GetCustomer '{"customerId": "'"$customer"'"}' \
  'r["customer"]["totals"].get("complaints") == "1" and "csat" in r["customer"]["totals"] and r["customer"]["totals"]["csat"].get("count") == "2"'
field '"\n".join(
  ["   lifecycle {}, ABC class {}".format(r["customer"].get("lifecycle", "?").split("_")[-1], r["customer"].get("abcClass", "?").split("_")[-1])]
  + ["   {:<28} {:>8.2f} EUR".format(k, int(r["customer"]["totals"].get(k, {}).get("amountMinor", "0")) / 100)
     for k in ("revenue", "refunds", "costEstimate", "profitContribution")]
  + ["   {:<28} {:>3}/{:<3} {}".format(k, v.get("numerator", 0), v.get("denominator", 0),
       "{:.0%}".format(v["ratio"]) if "ratio" in v else "-")
     for k, v in r["kpis"].items() if isinstance(v, dict) and "denominator" in v]
  + ["   {:<28} mean {} s, p90 {} s over {} delivered".format("leadTime", r["kpis"]["leadTime"].get("meanSeconds", "-"),
       r["kpis"]["leadTime"].get("p90Seconds", "-"), r["kpis"]["leadTime"].get("deliveredOrders", 0))])'

printf '\nDone. VERBOSE=1 %s shows every call.\n' "$0"
