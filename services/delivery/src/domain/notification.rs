//! The texts the consignee gets at each milestone: ready to send, so a gateway needs
//! nothing but the event.

use super::{Delivery, Milestone};

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
