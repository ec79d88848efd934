//! Checking a proof of delivery at the edge: every field present and well-formed, each
//! problem named by its path under `proof.` (e.g. `proof.signature`) so the courier app can
//! point at it. What needs the clock (not in the future) is the decider's.

use waybill_proto::convert::{self, FieldViolations};
use waybill_proto::v1;

use crate::domain::{GeoPoint, HandoverChecklist, MAX_SIGNATURE_IMAGE_BYTES, ProofOfDelivery, Signature};

/// A proof of delivery, every field checked; each problem is named by its path under
/// `proof.` (e.g. `proof.signature`), so the courier app can point at it.
pub fn proof_from_wire(
    violations: &mut FieldViolations,
    proof: Option<&v1::ProofOfDelivery>,
) -> Option<ProofOfDelivery> {
    let proof = violations.required_as(
        "proof",
        proof,
        "is required: recipient, signature, location, time and checklist",
    )?;
    let recipient_name = convert::text(violations, "proof.recipient_name", &proof.recipient_name, true);
    let recipient_relation =
        convert::text(violations, "proof.recipient_relation", &proof.recipient_relation, false);
    let photo_ref = convert::text(violations, "proof.photo_ref", &proof.photo_ref, false);
    let signature = signature_from_wire(violations, proof.signature.as_ref());
    let location = match &proof.location {
        None => {
            violations.push("proof.location", "is required (where the goods were handed over)");
            None
        }
        Some(point) => {
            let location = GeoPoint { latitude: point.latitude, longitude: point.longitude };
            if !location.is_valid() {
                violations.push("proof.location", "latitude must be within ±90 and longitude within ±180");
            }
            Some(location)
        }
    };
    let delivered_at = match &proof.delivered_at {
        None => {
            violations.push("proof.delivered_at", "is required");
            None
        }
        Some(at) => convert::timestamp(violations, "proof.delivered_at", at),
    };
    let checklist = match &proof.checklist {
        None => {
            violations.push("proof.checklist", "is required");
            None
        }
        Some(checklist) => {
            let checklist = HandoverChecklist {
                piece_count_matches: checklist.piece_count_matches,
                packaging_intact: checklist.packaging_intact,
                recipient_informed_of_contents: checklist.recipient_informed_of_contents,
            };
            for item in checklist.unchecked() {
                violations.push(format!("proof.checklist.{item}"), "must be checked before the handover");
            }
            Some(checklist)
        }
    };
    Some(ProofOfDelivery {
        recipient_name,
        recipient_relation,
        signature: signature?,
        photo_ref,
        location: location?,
        delivered_at: delivered_at?,
        id_checked: proof.id_checked,
        checklist: checklist?,
    })
}

fn signature_from_wire(
    violations: &mut FieldViolations,
    signature: Option<&v1::Signature>,
) -> Option<Signature> {
    match signature.and_then(|signature| signature.signature.as_ref()) {
        None => {
            violations.push(
                "proof.signature",
                "is required: the image, or its sha256 digest and storage reference",
            );
            None
        }
        Some(v1::signature::Signature::Image(image)) => {
            if image.is_empty() {
                violations.push("proof.signature.image", "is empty");
            } else if image.len() > MAX_SIGNATURE_IMAGE_BYTES {
                violations.push(
                    "proof.signature.image",
                    format!(
                        "at most {MAX_SIGNATURE_IMAGE_BYTES} bytes; store larger images and send the digest"
                    ),
                );
            }
            Some(Signature::Image(image.clone()))
        }
        Some(v1::signature::Signature::Stored(stored)) => {
            if !Signature::is_valid_digest(&stored.digest) {
                violations.push("proof.signature.stored.digest", "must be sha256: followed by 64 hex digits");
            }
            let storage_ref =
                convert::text(violations, "proof.signature.stored.storage_ref", &stored.storage_ref, true);
            Some(Signature::Stored { digest: stored.digest.clone(), storage_ref })
        }
    }
}
