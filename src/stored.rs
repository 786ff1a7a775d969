//! Enums the database stores as text (each column with a CHECK constraint listing its values).
//!
//! [`stored_enum!`] declares such an enum with its values; [`stored_as_text!`] gives an enum the sqlx and serde impls from the one mapping the enum
//! already has for URLs and forms (`as_str` and `FromStr`), so there is a single list of values
//! in Rust. A value the enum does not know is a decoding error, never a default.

/// A text that names no value of a [`stored_enum!`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {text:?}")]
pub struct Unknown {
    pub kind: &'static str,
    pub text: String,
}

/// `stored_as_text!(Type)`: `Type` has `fn as_str(self) -> &'static str` and `FromStr`;
/// `stored_as_text!(Type, method)` names another method than `as_str`.
macro_rules! stored_as_text {
    ($ty:ty) => {
        $crate::stored::stored_as_text!($ty, as_str);
    };
    ($ty:ty, $text:ident) => {
        impl sqlx::Type<sqlx::Postgres> for $ty {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl sqlx::postgres::PgHasArrayType for $ty {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
            fn array_compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::postgres::PgHasArrayType>::array_compatible(ty)
            }
        }

        impl sqlx::Encode<'_, sqlx::Postgres> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.$text(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $ty {
            fn decode(
                value: sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                text.parse().map_err(|_| {
                    format!("unknown {} {text:?} in the database", stringify!($ty)).into()
                })
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(|_| {
                    serde::de::Error::custom(format!("unknown {} {text:?}", stringify!($ty)))
                })
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.$text())
            }
        }
    };
}

/// An enum, each variant with the text the database stores, its `ALL`, `as_str` and `FromStr`,
/// and the impls of [`stored_as_text!`]:
///
/// ```ignore
/// stored_enum! {
///     #[derive(Clone, Copy, Debug, PartialEq, Eq)]
///     pub enum Outcome { Approve = "approve", Reject = "reject" }
/// }
/// ```
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::stored::Unknown;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::stored::Unknown {
                        kind: stringify!($name),
                        text: s.chars().take(40).collect(),
                    }),
                }
            }
        }

        $crate::stored::stored_as_text!($name);
    };
}

pub(crate) use {stored_as_text, stored_enum};
