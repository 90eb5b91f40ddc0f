//! Domain types and rules: pure functions over plain data, tested without I/O.
//! HTTP, SQL and MQTT live at the edges and call into these.

pub mod bundle_state;
pub mod enrolment;
pub mod faults;
pub mod fleet;
pub mod gate;
pub mod install_state;
pub mod metrics;
pub mod mqtt_acl;
pub mod names;
pub mod offers;
pub mod problems;
pub mod role;
pub mod rollout;
pub mod sla;
pub mod throttle;
pub mod tickets;
pub mod token;
pub mod waves;
pub mod webhook;
pub mod window;

/// `as_str`, `Display` and `FromStr` for an enum stored and shown as fixed
/// words: `text_enum!(Type, "what it is", Variant => "word", …)`. An unknown
/// word is refused naming the words it could be.
macro_rules! text_enum {
    ($t:ty, $what:literal, $($v:ident => $s:literal),+ $(,)?) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok(Self::$v),)+
                    _ => Err(format!(
                        "unknown {} {s:?}; expected {}",
                        $what,
                        [$($s),+].join(", ")
                    )),
                }
            }
        }
    };
}
pub(crate) use text_enum;
