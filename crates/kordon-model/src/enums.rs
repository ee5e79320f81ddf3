//! The closed vocabularies of the farm dialect. Each enum parses from and prints to the exact
//! strings of the API document.

use std::fmt;

macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the API's spelling; `None` for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The accepted spellings, for error messages: `"lte", "umts"`.
            pub fn choices() -> String {
                [$(concat!("\"", $text, "\"")),+].join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

api_enum!(
    /// Radio access the modem is told to prefer.
    NetMode { Lte => "lte", Umts => "umts" }
);
api_enum!(
    /// What triggers a rotation of the port's public IP.
    ReconnectType { Time => "time", Link => "link", TimeLink => "time_link" }
);
api_enum!(
    /// Protocol a proxy profile speaks.
    ProxyType { Http => "http", Socks => "socks" }
);
api_enum!(
    /// How a proxy profile authenticates its clients.
    ProxyAuth { IpOnly => "iponly", Strong => "strong" }
);

impl ReconnectType {
    /// Whether the port rotates on a timer (and so needs a positive `reconnect_interval`).
    pub fn is_timed(self) -> bool {
        matches!(self, ReconnectType::Time | ReconnectType::TimeLink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_spelling() {
        for mode in NetMode::ALL {
            assert_eq!(NetMode::parse(mode.as_str()), Some(*mode));
        }
        assert_eq!(
            ReconnectType::parse("time_link"),
            Some(ReconnectType::TimeLink)
        );
        assert_eq!(ProxyAuth::parse("iponly"), Some(ProxyAuth::IpOnly));
        assert_eq!(ProxyType::parse("HTTP"), None);
        assert_eq!(NetMode::choices(), "\"lte\", \"umts\"");
    }
}
