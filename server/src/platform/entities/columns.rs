//! Enum-like columns read and written as the features' own enums: a
//! ticket's status is a `TicketStatus` in Rust and the same word in the
//! database as before (no migration changes).
//!
//! The glue is what sea-orm's `DeriveValueType` generates for a string
//! enum, written here by a macro because the enums live in pure rule
//! files that must not import sea-orm. Enums of `wavecast_protocol`
//! (which has no database dependency) are wrapped in [`Stored`].

use std::str::FromStr;

use sea_orm::{
    sea_query::{ArrayType, ColumnType, Nullable, StringLen, ValueType, ValueTypeErr},
    ColIdx, DbErr, QueryResult, TryGetError, TryGetable, Value,
};

/// A type stored as one of a fixed set of words.
pub trait Word: Copy + FromStr<Err = String> {
    fn word(self) -> &'static str;
}

fn read<T: FromStr<Err = String>>(res: &QueryResult, idx: impl ColIdx) -> Result<T, TryGetError> {
    let s = String::try_get_by(res, idx)?;
    s.parse()
        .map_err(|e: String| TryGetError::DbErr(DbErr::Type(format!("stored word: {e}"))))
}

fn convert<T: FromStr<Err = String>>(v: Value) -> Result<T, ValueTypeErr> {
    <String as ValueType>::try_from(v)?
        .parse()
        .map_err(|_| ValueTypeErr)
}

macro_rules! stored_as_word {
    ($($t:ty),+ $(,)?) => {$(
        impl Word for $t {
            fn word(self) -> &'static str {
                self.as_str()
            }
        }
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::String(Some(Box::new(v.as_str().to_owned())))
            }
        }
        impl TryGetable for $t {
            fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
                read(res, idx)
            }
        }
        impl ValueType for $t {
            fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
                convert(v)
            }
            fn type_name() -> String {
                stringify!($t).to_owned()
            }
            fn array_type() -> ArrayType {
                ArrayType::String
            }
            fn column_type() -> ColumnType {
                ColumnType::String(StringLen::None)
            }
        }
        impl Nullable for $t {
            fn null() -> Value {
                Value::String(None)
            }
        }
        // Words can be (part of) a primary key, never an auto-increment one.
        impl sea_orm::TryFromU64 for $t {
            fn try_from_u64(_: u64) -> Result<Self, DbErr> {
                Err(DbErr::ConvertFromU64(stringify!($t)))
            }
        }
    )+};
}

stored_as_word!(
    crate::identity::roles::Role,
    crate::fleet::devices::rules::DeviceStatus,
    crate::fleet::devices::rules::Client,
    crate::ddi::rules::ActionState,
    crate::fleet::telemetry::rules::EventKind,
    crate::fleet::catalog::rules::FaultClass,
    crate::fleet::catalog::rules::Severity,
    crate::fleet::problems::rules::ProblemStatus,
    crate::updates::bundles::rules::BundleState,
    crate::updates::rollouts::rules::RolloutState,
    crate::support::tickets::rules::TicketKind,
    crate::support::tickets::rules::TicketStatus,
    crate::support::tickets::rules::Priority,
    crate::support::tickets::rules::Channel,
    crate::support::tickets::rules::LogKind,
    crate::support::webhooks::rules::WebhookEvent,
    crate::licences::rules::Expiry,
    crate::licences::rules::LicenceState,
);

/// An enum of `wavecast_protocol` in a text column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stored<T>(pub T);

impl<T> std::ops::Deref for Stored<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl Word for wavecast_protocol::status::InstallState {
    fn word(self) -> &'static str {
        self.as_str()
    }
}

impl Word for wavecast_protocol::manifest::Kind {
    fn word(self) -> &'static str {
        self.as_str()
    }
}

impl<T: Word> FromStr for Stored<T> {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse().map(Stored)
    }
}

impl<T: Word> From<Stored<T>> for Value {
    fn from(v: Stored<T>) -> Self {
        Value::String(Some(Box::new(v.0.word().to_owned())))
    }
}

impl<T: Word> TryGetable for Stored<T> {
    fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
        read(res, idx)
    }
}

impl<T: Word> ValueType for Stored<T> {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        convert(v)
    }
    fn type_name() -> String {
        std::any::type_name::<T>().to_owned()
    }
    fn array_type() -> ArrayType {
        ArrayType::String
    }
    fn column_type() -> ColumnType {
        ColumnType::String(StringLen::None)
    }
}

impl<T: Word> Nullable for Stored<T> {
    fn null() -> Value {
        Value::String(None)
    }
}
