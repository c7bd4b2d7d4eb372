//! The attributes a caller may filter and facet on.

use std::fmt;
use std::str::FromStr;

use crate::SearchError;

/// Attributes a caller may filter and facet on (parsed at the HTTP edge; unknown names refused).
///
/// Each facet is a field of [`crate::ProductDocument`] of the same name ([`Facet::as_str`]), and
/// the only attribute names that ever reach a Meilisearch filter besides `tenant_id`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Facet {
    Kind,
    Brand,
    FrameShape,
    FrameMaterial,
    Colour,
    LensDesign,
    LensMaterial,
    LensIndex,
    Available,
}

impl Facet {
    /// Every facet, in declaration order.
    pub const ALL: [Facet; 9] = [
        Facet::Kind,
        Facet::Brand,
        Facet::FrameShape,
        Facet::FrameMaterial,
        Facet::Colour,
        Facet::LensDesign,
        Facet::LensMaterial,
        Facet::LensIndex,
        Facet::Available,
    ];

    /// The document field name, e.g. `"frame_shape"` (also the name a caller uses).
    pub fn as_str(self) -> &'static str {
        match self {
            Facet::Kind => "kind",
            Facet::Brand => "brand",
            Facet::FrameShape => "frame_shape",
            Facet::FrameMaterial => "frame_material",
            Facet::Colour => "colour",
            Facet::LensDesign => "lens_design",
            Facet::LensMaterial => "lens_material",
            Facet::LensIndex => "lens_index",
            Facet::Available => "available",
        }
    }

    /// The facet of that exact name (`"frame_shape"`), or `None`. Names are case-sensitive and
    /// untrimmed: the HTTP edge refuses anything else as an unknown facet.
    pub fn parse(name: &str) -> Option<Facet> {
        Facet::ALL.into_iter().find(|facet| facet.as_str() == name)
    }
}

impl fmt::Display for Facet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Facet {
    type Err = SearchError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Facet::parse(name).ok_or_else(|| SearchError::UnknownFacet(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_facet_round_trips_through_its_name() {
        for facet in Facet::ALL {
            assert_eq!(Facet::parse(facet.as_str()), Some(facet));
            assert_eq!(facet.as_str().parse::<Facet>().ok(), Some(facet));
            assert_eq!(facet.to_string(), facet.as_str());
        }
    }

    #[test]
    fn names_are_the_document_fields_and_the_serde_names() {
        let names: Vec<&str> = Facet::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(
            names,
            [
                "kind",
                "brand",
                "frame_shape",
                "frame_material",
                "colour",
                "lens_design",
                "lens_material",
                "lens_index",
                "available"
            ]
        );
        for facet in Facet::ALL {
            let json = serde_json::to_value(facet).ok();
            assert_eq!(json, Some(serde_json::Value::from(facet.as_str())));
        }
    }

    #[test]
    fn unknown_names_are_refused() {
        for name in [
            "",
            "tenant_id",
            "id",
            "price_minor",
            "FrameShape",
            "frame-shape",
            "Brand",
            " brand",
            "brand ",
            "color",
            "brand OR tenant_id",
        ] {
            assert_eq!(Facet::parse(name), None, "{name:?}");
            match name.parse::<Facet>() {
                Err(SearchError::UnknownFacet(got)) => assert_eq!(got, name),
                other => panic!("{name:?} parsed as {other:?}"),
            }
        }
    }
}
