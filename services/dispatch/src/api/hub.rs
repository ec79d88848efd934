//! The hub stock RPCs (the `DispatchService` impl in `api.rs` calls these): check the
//! request, naming every bad field; run the hub command; answer from the hub as the command
//! left it. Queries read the model.

use std::collections::BTreeSet;

use tonic::{Request, Response, Status};
use waybill_proto::convert::{self, FieldViolations};
use waybill_proto::status::require;
use waybill_proto::v1;
use waybill_runtime::actor::context_of;
use waybill_types::OrderId;

use super::{DispatchApi, checked, optional_uuid, uuid};
use crate::codec::{
    category_from_wire, category_to_wire, discrepancy_kind_to_wire, inspection_from_wire, inspection_to_wire,
    zone_to_wire,
};
use crate::domain::{
    Hub, HubCommand, HubId, Inspection, StockItem, StorageZone, VehicleId, derived_exception_id,
};
use waybill_command::Outcome;

const CATEGORIES: &str = "must be GENERAL, FRAGILE, COLD or HAZARDOUS";

impl DispatchApi {
    async fn run_hub<T>(
        &self,
        request: &Request<T>,
        request_id: String,
        hub_id: HubId,
        command: HubCommand,
    ) -> Result<Outcome<Hub>, Status> {
        let meta = context_of(request).command_meta(request_id);
        let decided = self.runners.hubs.run_decision(hub_id, &command, &meta).await?;
        Ok(decided.outcome)
    }

    /// `request_id`, `hub_id` and `order_id`, which every consignment command carries.
    fn consignment_fields(
        body: (&str, &str, &str),
    ) -> (FieldViolations, String, Option<HubId>, Option<OrderId>) {
        let (request_id, hub_id, order_id) = body;
        let (mut violations, request_id) = FieldViolations::for_command(request_id);
        let hub_id = uuid(&mut violations, "hub_id", hub_id).map(HubId);
        let order_id = convert::order_id(&mut violations, "order_id", order_id);
        (violations, request_id, hub_id, order_id)
    }

    pub(super) async fn hub_register(
        &self,
        request: Request<v1::RegisterHubRequest>,
    ) -> Result<Response<v1::RegisterHubResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let hub_id = uuid(&mut violations, "hub_id", &body.hub_id).map(HubId);
        let code = convert::text(&mut violations, "code", &body.code, true);
        if body.zones.is_empty() {
            violations.push("zones", "a hub has at least one zone");
        }
        let mut zones = Vec::new();
        for (index, zone) in body.zones.iter().enumerate() {
            let name = convert::text(&mut violations, &format!("zones[{index}].name"), &zone.name, true);
            let category = category_from_wire(zone.category);
            if category.is_none() {
                violations.push(format!("zones[{index}].category"), CATEGORIES);
            }
            if zone.capacity == 0 {
                violations.push(format!("zones[{index}].capacity"), "must be at least 1");
            }
            zones.extend(category.map(|category| StorageZone { name, category, capacity: zone.capacity }));
        }
        require(violations)?;
        let command = HubCommand::Register { code, zones };
        // The code must be free: look with a read model that has everything the log held a
        // moment ago, so a hub registered just before (here or on another replica) is seen.
        // Two registrations racing for one code can still both pass (ARCHITECTURE.md).
        self.runners.hubs.wait_caught_up().await?;
        let outcome = self.run_hub(&request, request_id, checked(hub_id)?, command).await?;
        Ok(Response::new(v1::RegisterHubResponse {
            hub: Some(hub_to_wire(&outcome.state, outcome.position)),
            position: outcome.position,
        }))
    }

    pub(super) async fn hub_receive(
        &self,
        request: Request<v1::ReceiveGoodsRequest>,
    ) -> Result<Response<v1::ReceiveGoodsResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, hub_id, order_id) =
            Self::consignment_fields((&body.request_id, &body.hub_id, &body.order_id));
        let category = category_from_wire(body.category);
        if category.is_none() {
            violations.push("category", CATEGORIES);
        }
        let inspection = inspection_from_wire(body.inspection);
        if inspection.is_none() {
            violations.push("inspection", "must be ACCEPTED, DAMAGED or SHORT");
        }
        let needs_note = inspection.is_some_and(|inspection| inspection != Inspection::Accepted);
        let note = convert::text(&mut violations, "note", &body.note, needs_note);
        require(violations)?;
        let (hub_id, order_id, inspection) = (checked(hub_id)?, checked(order_id)?, checked(inspection)?);
        let exception_id = derived_exception_id(&format!("hub/{hub_id}/{order_id}/{request_id}"));
        let command = HubCommand::Receive {
            order_id,
            category: checked(category)?,
            inspection,
            note,
            exception_id: exception_id.clone(),
        };
        let outcome = self.run_hub(&request, request_id, hub_id, command).await?;
        Ok(Response::new(v1::ReceiveGoodsResponse {
            item: outcome.state.stock.get(&order_id).map(item_to_wire),
            exception_id: if inspection == Inspection::Damaged { exception_id } else { String::new() },
            position: outcome.position,
        }))
    }

    pub(super) async fn hub_put_away(
        &self,
        request: Request<v1::PutAwayGoodsRequest>,
    ) -> Result<Response<v1::PutAwayGoodsResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, hub_id, order_id) =
            Self::consignment_fields((&body.request_id, &body.hub_id, &body.order_id));
        let zone = convert::filter_text(&mut violations, "zone", &body.zone);
        require(violations)?;
        let order_id = checked(order_id)?;
        let command = HubCommand::PutAway { order_id, zone };
        let outcome = self.run_hub(&request, request_id, checked(hub_id)?, command).await?;
        Ok(Response::new(v1::PutAwayGoodsResponse {
            item: outcome.state.stock.get(&order_id).map(item_to_wire),
            position: outcome.position,
        }))
    }

    pub(super) async fn hub_load_out(
        &self,
        request: Request<v1::LoadGoodsOutRequest>,
    ) -> Result<Response<v1::LoadGoodsOutResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, hub_id, order_id) =
            Self::consignment_fields((&body.request_id, &body.hub_id, &body.order_id));
        let vehicle_id = optional_uuid(&mut violations, "vehicle_id", &body.vehicle_id).map(VehicleId);
        require(violations)?;
        let command = HubCommand::LoadOut { order_id: checked(order_id)?, vehicle_id };
        let outcome = self.run_hub(&request, request_id, checked(hub_id)?, command).await?;
        Ok(Response::new(v1::LoadGoodsOutResponse { position: outcome.position }))
    }

    pub(super) async fn hub_count(
        &self,
        request: Request<v1::CountZoneRequest>,
    ) -> Result<Response<v1::CountZoneResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let hub_id = uuid(&mut violations, "hub_id", &body.hub_id).map(HubId);
        let zone = convert::text(&mut violations, "zone", &body.zone, true);
        let mut counted = BTreeSet::new();
        for (index, order_id) in body.counted_order_ids.iter().enumerate() {
            let field = format!("counted_order_ids[{index}]");
            if let Some(order_id) = convert::order_id(&mut violations, &field, order_id)
                && !counted.insert(order_id)
            {
                violations.push(field, "is listed twice");
            }
        }
        require(violations)?;
        let hub_id = checked(hub_id)?;
        let exception_seed = format!("count/{hub_id}/{request_id}");
        let command = HubCommand::Count { zone: zone.clone(), counted, exception_seed };
        let outcome = self.run_hub(&request, request_id, hub_id, command).await?;
        let count = outcome.state.counts.get(&zone).cloned().unwrap_or_default();
        Ok(Response::new(v1::CountZoneResponse {
            expected: count.expected,
            counted: count.counted,
            discrepancies: count
                .discrepancies
                .into_iter()
                .map(|(order_id, kind, exception_id)| v1::StockDiscrepancy {
                    order_id: order_id.to_string(),
                    kind: discrepancy_kind_to_wire(kind).into(),
                    exception_id,
                })
                .collect(),
            position: outcome.position,
        }))
    }

    pub(super) async fn hub_stock(
        &self,
        request: Request<v1::GetHubStockRequest>,
    ) -> Result<Response<v1::GetHubStockResponse>, Status> {
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let hub_id = uuid(&mut violations, "hub_id", &body.hub_id).map(HubId);
        let zone = convert::filter_text(&mut violations, "zone", &body.zone);
        let order_id = optional_uuid(&mut violations, "order_id", &body.order_id).map(OrderId);
        require(violations)?;
        let hub_id = checked(hub_id)?;
        self.wait_for(body.min_position).await?;
        let model = self.runners.hubs.model.read();
        let record =
            model.hub(&hub_id).ok_or_else(|| Status::not_found(format!("hub {hub_id} not found")))?;
        let hub = &record.state;
        if let Some(zone) = zone.as_deref().filter(|zone| hub.zone(zone).is_none()) {
            return Err(Status::not_found(format!("hub {} has no zone {zone:?}", hub.code)));
        }
        let items = hub
            .stock
            .values()
            .filter(|item| zone.is_none() || item.zone == zone)
            .filter(|item| order_id.is_none_or(|order_id| item.order_id == order_id))
            .map(item_to_wire)
            .collect();
        Ok(Response::new(v1::GetHubStockResponse { hub: Some(hub_to_wire(hub, record.version)), items }))
    }

    pub(super) async fn hub_mismatches(
        &self,
        request: Request<v1::ListStockMismatchesRequest>,
    ) -> Result<Response<v1::ListStockMismatchesResponse>, Status> {
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let hub_id = optional_uuid(&mut violations, "hub_id", &body.hub_id).map(HubId);
        require(violations)?;
        self.wait_for(body.min_position).await?;
        let model = self.runners.hubs.model.read();
        if let Some(hub_id) = hub_id.filter(|hub_id| model.hub(hub_id).is_none()) {
            return Err(Status::not_found(format!("hub {hub_id} not found")));
        }
        let mismatches = model
            .stock_mismatches(hub_id)
            .into_iter()
            .map(|mismatch| v1::StockMismatch {
                hub_id: mismatch.hub_id.to_string(),
                order_id: mismatch.order_id.to_string(),
                reason: mismatch.reason,
            })
            .collect();
        Ok(Response::new(v1::ListStockMismatchesResponse { mismatches }))
    }
}

pub fn hub_to_wire(hub: &Hub, version: u64) -> v1::Hub {
    v1::Hub {
        hub_id: hub.id.to_string(),
        code: hub.code.clone(),
        zones: hub.zones.iter().map(|zone| zone_to_wire(zone, hub.occupied(&zone.name))).collect(),
        version,
    }
}

fn item_to_wire(item: &StockItem) -> v1::StockItem {
    v1::StockItem {
        order_id: item.order_id.to_string(),
        category: category_to_wire(item.category).into(),
        inspection: inspection_to_wire(item.inspection).into(),
        zone: item.zone.clone().unwrap_or_default(),
        received_at: Some(convert::timestamp_to_wire(item.received_at)),
    }
}
