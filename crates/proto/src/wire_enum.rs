//! `wire_enum!`: a domain enum and its wire enum that match variant for variant, and the
//! two conversions between them every codec would otherwise write out by hand.

/// Declares `$to_wire(domain) -> wire` and `$from_wire(i32) -> Option<domain>` for a domain
/// enum whose variants have the same names on the wire. `$from_wire` answers `None` for
/// UNSPECIFIED and for a number the wire enum does not know.
///
/// ```ignore
/// waybill_proto::wire_enum! {
///     Severity <=> v1::Severity { Low, Medium, High, Critical }
///     pub fn severity_to_wire;
///     pub fn severity_from_wire;
/// }
/// ```
#[macro_export]
macro_rules! wire_enum {
    (
        $domain:ident <=> $module:ident::$wire:ident { $($variant:ident),+ $(,)? }
        $to_vis:vis fn $to_wire:ident;
        $from_vis:vis fn $from_wire:ident;
    ) => {
        $to_vis fn $to_wire(value: $domain) -> $module::$wire {
            match value {
                $($domain::$variant => $module::$wire::$variant,)+
            }
        }

        $from_vis fn $from_wire(value: i32) -> Option<$domain> {
            match $module::$wire::try_from(value) {
                $(Ok($module::$wire::$variant) => Some($domain::$variant),)+
                _ => None,
            }
        }
    };
}
