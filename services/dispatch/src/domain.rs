//! Dispatch's deciders: the fleet (vehicles, drivers) and transport tasks. Pure: no I/O,
//! no clock, no randomness; time and ids come in through the commands and `now`.
//!
//! What lives where:
//! - `mode`: which transport mode a task gets, and which vehicle kinds carry each mode.
//! - `fleet`: the Vehicle and Driver aggregates (commands, events, decide, evolve).
//! - `task`: the Task aggregate's state, commands and events, and `evolve_task`.
//! - `decide_task`: what a task command does, given the task and the vehicles it touches;
//!   `assignment`: choosing a vehicle with room.
//! - `upkeep`: the fleet's upkeep rules (due dates, licences, training) that assignment
//!   and the upkeep clock apply.
//! - `hub`: the Hub aggregate: storage zones and the stock in them (receipt with
//!   inspection, put-away, loading out, cycle counts), and how stock and tasks disagree.
//! - `rejection`: why a command was refused.
//!
//! # The task's lifecycle
//!
//! ```text
//! Plan ─► Planned ─assign─► Assigned ─pack─► Packed ─pickup─► PickedUp ─checkpoint─► InTransit
//!            ▲  ◄─unassign──┘ ◄──────────────┘                    └──────arrival────────┴─► Arrived
//! Planned, Assigned, Packed ─cancel─► Cancelled ─plan again (order restored)─► Planned
//! ```
//!
//! A pickup, a checkpoint and an arrival are recorded at the service's clock, never before
//! the task's latest event, and a resolution never before its exception's report (beyond
//! the clock skew): FAILED_PRECONDITION naming the fact (`waybill_command::time`).
//!
//! A task's load sits on its vehicle from assignment to arrival: every event that puts a
//! task on a vehicle or takes it off (assign, unassign, reassign, cancel, replan with a new
//! load, arrival) is decided together with the vehicle's `VehicleLoaded`/`VehicleUnloaded`
//! and written in one atomic append, so a vehicle's open load is always the sum of its
//! tasks' loads and never above its capacity.

mod assignment;
mod decide_task;
mod fleet;
mod hub;
mod mode;
mod rejection;
mod task;
mod upkeep;

use std::fmt;

use uuid::Uuid;

pub use assignment::{choose_vehicle, shortfall};
pub use decide_task::{Fleet, TaskDecision, decide_task};
pub use fleet::{
    Driver, DriverCommand, DriverEvent, UnloadReason, Vehicle, VehicleCommand, VehicleEvent, decide_driver,
    decide_vehicle, evolve_driver, evolve_vehicle,
};
pub use hub::{
    DiscrepancyKind, GoodsCategory, Hub, HubCommand, HubDecision, HubEvent, HubFacts, Inspection, StockItem,
    StorageZone, ZoneCount, decide_hub, derived_exception_id, evolve_hub, stock_mismatch,
};
pub use mode::{Zone, suits, transport_mode};
pub use rejection::Rejection;
pub use upkeep::{
    DueDate, Training, Upkeep, check_due_date, licence_covers, may_carry, may_drive, normalise_licence_class,
    roadworthy,
};

/// What a decision needs from outside: the time it is taken at (dispatch's rules are
/// constants of the domain, so no policy yet).
pub type Context<'a> = waybill_command::Context<'a, ()>;
pub use task::{
    Checkpoint, ExceptionKind, Plan, ReplanUpdate, Severity, Task, TaskCommand, TaskEvent, TaskKind,
    TaskStatus, TransportException, evolve_task,
};

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn parse(text: &str) -> Result<Self, &'static str> {
                Uuid::parse_str(text).map(Self).map_err(|_| concat!("expected a UUID (the ", $what, " id)"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A vehicle's id: a UUID chosen by whoever registers it.
    VehicleId,
    "vehicle"
);
uuid_id!(
    /// A driver's id: a UUID chosen by whoever registers them.
    DriverId,
    "driver"
);
uuid_id!(
    /// A hub's id: a UUID chosen by whoever registers it (its code is what arrivals name).
    HubId,
    "hub"
);
uuid_id!(
    /// A task's id: the order id for a forward task, the return id for a reverse one.
    TaskId,
    "task"
);

/// What a task carries or a vehicle can carry: weight and volume.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Load {
    pub weight_grams: u64,
    pub volume_cm3: u64,
}

impl Load {
    pub const ZERO: Load = Load { weight_grams: 0, volume_cm3: 0 };

    pub fn new(weight_grams: u64, volume_cm3: u64) -> Self {
        Load { weight_grams, volume_cm3 }
    }

    pub fn plus(self, other: Load) -> Load {
        Load {
            weight_grams: self.weight_grams.saturating_add(other.weight_grams),
            volume_cm3: self.volume_cm3.saturating_add(other.volume_cm3),
        }
    }

    /// True if neither weight nor volume exceeds `capacity`'s.
    pub fn fits_within(self, capacity: Load) -> bool {
        self.weight_grams <= capacity.weight_grams && self.volume_cm3 <= capacity.volume_cm3
    }
}

impl fmt::Display for Load {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} g / {} cm³", self.weight_grams, self.volume_cm3)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VehicleKind {
    Van,
    Truck,
    /// Capacity booked on a rail service.
    RailWagon,
    /// Capacity booked on a flight.
    AirContainer,
}

impl VehicleKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            VehicleKind::Van => "van",
            VehicleKind::Truck => "truck",
            VehicleKind::RailWagon => "rail wagon",
            VehicleKind::AirContainer => "air container",
        }
    }
}

/// How a task travels (see [`transport_mode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportMode {
    RoadCourier,
    RoadLtl,
    RoadTruckload,
    Rail,
    Air,
}

impl TransportMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            TransportMode::RoadCourier => "road courier",
            TransportMode::RoadLtl => "road (less than truckload)",
            TransportMode::RoadTruckload => "road truckload",
            TransportMode::Rail => "rail",
            TransportMode::Air => "air",
        }
    }
}

/// Depots and cities are compared without regard to case ("Berlin" is "berlin").
pub fn same_place(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}
