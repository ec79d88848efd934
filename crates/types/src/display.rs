//! Printing a named value by its name.

/// `Display` for types that have one name each (`as_str`): they print as that name, so a
/// state or a role reads the same in a message, a log line and on the wire.
///
/// ```
/// enum Light { Red, Green }
///
/// impl Light {
///     fn as_str(&self) -> &'static str {
///         match self {
///             Light::Red => "red",
///             Light::Green => "green",
///         }
///     }
/// }
///
/// waybill_types::display_as_str!(Light);
/// assert_eq!(Light::Green.to_string(), "green");
/// ```
#[macro_export]
macro_rules! display_as_str {
    ($($named:ty),+ $(,)?) => {
        $(
            impl ::std::fmt::Display for $named {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }
        )+
    };
}
