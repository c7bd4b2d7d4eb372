use thiserror::Error;

/// A malformed id at the boundary.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum IdError {
    #[error("`{0}` is not a UUID")]
    NotAUuid(String),
    #[error("`{0}` is not a version-7 UUID")]
    NotVersion7(String),
}

/// Declares a typed UUIDv7 id: a newtype that serialises as the bare UUID string,
/// parses only version-7 UUIDs, and cannot be confused with another entity's id.
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name($crate::__uuid::Uuid);

        impl $name {
            /// A fresh id, ordered by creation time (UUIDv7).
            pub fn new() -> Self {
                Self($crate::__uuid::Uuid::now_v7())
            }

            /// Wraps an already validated UUID (for example one read back from storage).
            pub fn from_uuid(uuid: $crate::__uuid::Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> &$crate::__uuid::Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let uuid = $crate::__uuid::Uuid::parse_str(s)
                    .map_err(|_| $crate::IdError::NotAUuid(s.to_owned()))?;
                if uuid.get_version_num() != 7 {
                    return Err($crate::IdError::NotVersion7(s.to_owned()));
                }
                Ok(Self(uuid))
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::IdError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }
    };
}

typed_id!(
    /// The tenant every row, event and message belongs to.
    TenantId
);

#[cfg(test)]
mod tests {
    use super::*;

    typed_id!(WidgetId);

    #[test]
    fn round_trips_through_its_string_form() {
        let id = WidgetId::new();
        let parsed: WidgetId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
        assert_eq!(
            serde_json::to_value(id).unwrap(),
            serde_json::json!(id.to_string())
        );
    }

    #[test]
    fn rejects_other_uuid_versions_and_garbage() {
        assert_eq!(
            "67e55044-10b1-426f-9247-bb680e5fe0c8".parse::<TenantId>(),
            Err(IdError::NotVersion7(
                "67e55044-10b1-426f-9247-bb680e5fe0c8".into()
            ))
        );
        assert!(matches!(
            "nope".parse::<TenantId>(),
            Err(IdError::NotAUuid(_))
        ));
        assert!(serde_json::from_str::<TenantId>("\"nope\"").is_err());
    }

    #[test]
    fn ids_are_ordered_by_creation() {
        let first = WidgetId::new();
        let second = WidgetId::new();
        assert!(first < second);
    }
}
