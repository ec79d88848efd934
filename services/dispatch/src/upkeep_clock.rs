//! The upkeep clock: a timer in every replica that reminds, ahead of time, of a vehicle's
//! inspection or maintenance and of a driver's licence expiry.
//!
//! Each tick asks the read model for due dates within the lead time (`--upkeep-reminder-lead-hours`)
//! with no reminder yet, and runs `RemindUpkeep` / `RemindLicenceExpiry` through the normal
//! command loop as `system:sla-clock`, with a request id naming the due date
//! (`upkeep:<vehicle id>:<inspection|maintenance>:<due, unix seconds>`,
//! `licence:<driver id>:<expiry, unix seconds>`). Replicas ticking together write one
//! reminder between them: the appends carry the same idempotency key and expect the same
//! version, so one wins, and the others, deciding again on the winner's state, find the
//! reminder recorded and decide nothing. A restart reads the reminders back from the log. A
//! new due date is a new reminder.

use chrono::Duration;
use waybill_runtime::timer::sla_command_meta;

use crate::commands::{DriverRunner, VehicleRunner};
use crate::domain::{DriverCommand, VehicleCommand};
use crate::read_model::Reminder;

/// What the clock needs: the runners it writes with, and how far ahead it reminds.
#[derive(Clone)]
pub struct UpkeepClock {
    pub vehicles: VehicleRunner,
    pub drivers: DriverRunner,
    pub lead: Duration,
}

/// The idempotency key of one reminder.
pub fn request_id(reminder: &Reminder) -> String {
    match reminder {
        Reminder::Upkeep { vehicle_id, upkeep, due } => {
            format!("upkeep:{vehicle_id}:{}:{}", upkeep.as_str(), due.timestamp())
        }
        Reminder::LicenceExpiry { driver_id, expires_at } => {
            format!("licence:{driver_id}:{}", expires_at.timestamp())
        }
    }
}

/// One look at the clock (the host's timer calls it every `--upkeep-tick-ms`): reminds of
/// what falls due within the lead time.
pub async fn tick(clock: UpkeepClock) {
    let until = clock.vehicles.clock.now() + clock.lead;
    let due = clock.vehicles.model.read().reminders_due(until);
    for reminder in due {
        let meta = sla_command_meta(request_id(&reminder));
        let written = match reminder {
            Reminder::Upkeep { vehicle_id, upkeep, due } => {
                let command = VehicleCommand::RemindUpkeep { vehicle_id, upkeep, due };
                clock.vehicles.run(vehicle_id, &command, &meta).await.map(|_| ())
            }
            Reminder::LicenceExpiry { driver_id, expires_at } => {
                let command = DriverCommand::RemindLicenceExpiry { driver_id, expires_at };
                clock.drivers.run(driver_id, &command, &meta).await.map(|_| ())
            }
        };
        match written {
            Ok(()) => tracing::info!(reminder = %request_id(&reminder), "upkeep reminder written"),
            // The next tick tries again (the model still lists it).
            Err(error) => {
                tracing::warn!(reminder = %request_id(&reminder), %error, "upkeep reminder failed; will retry")
            }
        }
    }
}
