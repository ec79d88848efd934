//! The consignee's notifications: which milestones the consignee hears about, and the text,
//! ready to send, so a gateway needs nothing but the event.
//!
//! They are an aggregate of their own, [`Notices`] (`waybill.delivery.notification.<order
//! id>.<order id>`), written by the `delivery-notifications` reaction after each milestone,
//! not in the milestone's own append: an append of two events is an atomic batch, which a
//! single-node file-backed stream stages on disk (a directory per batch), and three of
//! them per delivery held the whole log's write path back (BENCHMARKS.md; docs/EVENTS.md,
//! "Notifications"). A milestone's append is now one message.

use waybill_types::{Contact, Timestamp};

use super::{Context, Delivery, DeliveryEvent, Milestone, Rejection};

pub fn notification_text(milestone: Milestone, delivery: &Delivery) -> String {
    let window = format!(
        "{} - {} UTC",
        delivery.window.start.format("%Y-%m-%d %H:%M"),
        delivery.window.end.format("%Y-%m-%d %H:%M")
    );
    match milestone {
        Milestone::Scheduled => {
            format!("Your parcel has reached {}; we will deliver it {window}.", delivery.hub)
        }
        Milestone::OutForDelivery => "Your parcel is out for delivery today.".to_owned(),
        Milestone::AttemptFailed => format!("We could not deliver your parcel; next attempt {window}."),
        Milestone::ReturnedToSender => {
            "We could not deliver your parcel; it is being returned to the sender.".to_owned()
        }
        Milestone::Delivered => "Your parcel has been delivered.".to_owned(),
        Milestone::Exception => "There is a problem with your parcel; we will be in touch.".to_owned(),
    }
}

/// The milestone the consignee hears about when `event` is written, if any. The last failed
/// attempt (no rescheduled window) says nothing: the return to the sender that follows it
/// in the same append does.
pub fn milestone_of(event: &DeliveryEvent) -> Option<Milestone> {
    match event {
        DeliveryEvent::Scheduled { .. } => Some(Milestone::Scheduled),
        DeliveryEvent::Started { .. } => Some(Milestone::OutForDelivery),
        DeliveryEvent::AttemptFailed { rescheduled_window: Some(_), .. } => Some(Milestone::AttemptFailed),
        DeliveryEvent::ReturnedToSender { .. } => Some(Milestone::ReturnedToSender),
        DeliveryEvent::Completed { .. } => Some(Milestone::Delivered),
        DeliveryEvent::ExceptionRaised { .. } => Some(Milestone::Exception),
        DeliveryEvent::AttemptFailed { rescheduled_window: None, .. }
        | DeliveryEvent::AddressUpdated { .. }
        | DeliveryEvent::CourierAssigned { .. }
        | DeliveryEvent::NotificationRequested { .. }
        | DeliveryEvent::EtaPlanned { .. } => None,
    }
}

/// The notification about `event`, a milestone of `delivery`. `delivery` may be the
/// delivery as a later event left it (the reaction reads the read model, which may be
/// ahead): what the text uses is fixed when the delivery is scheduled (the consignee's
/// contact, the hub), except the window, which is taken from the event that set it.
pub fn notice_about(delivery: &Delivery, event: &DeliveryEvent) -> Option<Notify> {
    let milestone = milestone_of(event)?;
    let mut as_left = delivery.clone();
    match event {
        DeliveryEvent::Scheduled { window, .. } => as_left.window = *window,
        DeliveryEvent::AttemptFailed { rescheduled_window: Some(window), .. } => as_left.window = *window,
        _ => {}
    }
    Some(Notify {
        milestone,
        recipient: as_left.recipient().clone(),
        message: notification_text(milestone, &as_left),
    })
}

/// The notifications written about one delivery: an aggregate of their own, so that telling
/// the consignee never races the delivery's own commands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notices {
    /// Notifications written so far.
    pub sent: u32,
}

/// Tell the consignee about a milestone (from the `delivery-notifications` reaction; its
/// request id is the milestone's event id, so a redelivered milestone writes nothing twice).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notify {
    pub milestone: Milestone,
    pub recipient: Contact,
    pub message: String,
}

pub fn decide_notice(
    _notices: Option<&Notices>,
    command: &Notify,
    _context: &Context<'_>,
) -> Result<Vec<DeliveryEvent>, Rejection> {
    Ok(vec![DeliveryEvent::NotificationRequested {
        milestone: command.milestone,
        recipient: command.recipient.clone(),
        message: command.message.clone(),
    }])
}

/// Counts the notifications; any other event does not belong on this subject.
pub fn evolve_notices(notices: Option<Notices>, event: &DeliveryEvent, _at: Timestamp) -> Option<Notices> {
    match event {
        DeliveryEvent::NotificationRequested { .. } => {
            Some(Notices { sent: notices.map_or(0, |notices| notices.sent).saturating_add(1) })
        }
        _ => None,
    }
}
