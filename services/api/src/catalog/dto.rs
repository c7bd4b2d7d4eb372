//! Wire shapes of the catalog endpoints: request bodies with primitive fields (parsed into
//! domain values by `convert`, which names every invalid field) and the views answered by GETs.
use optical_catalog::{
    FrameMaterial, FrameShape, FulfillmentType, LensCoating, LensDesign, LensMaterial, ProductKind,
    PublicationStatus, ReplacementSchedule,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Declares a snake_case wire enum mirroring a domain vocabulary, with conversions both ways.
/// The matches are exhaustive, so a value added to the domain fails the build here instead of
/// silently missing from the API.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident => $domain:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => $domain::$variant),+
                }
            }
        }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$variant => $name::$variant),+
                }
            }
        }
    };
}

wire_enum!(
    /// What a product is; decides its variants' attributes and its fulfillment.
    ProductKindBody => ProductKind { Frame, OphthalmicLens, ContactLens, Accessory, Digital }
);
wire_enum!(
    /// How an order line reaches the customer: `digital` for digital products, `physical` for
    /// every other kind.
    FulfillmentTypeBody => FulfillmentType { Physical, Digital }
);
wire_enum!(
    /// `draft` until published; unpublishing returns to draft; `archived` is final.
    PublicationStatusBody => PublicationStatus { Draft, Published, Archived }
);
wire_enum!(
    FrameShapeBody => FrameShape { Round, Rectangle, Square, Oval, CatEye, Aviator, Geometric, Browline }
);
wire_enum!(FrameMaterialBody => FrameMaterial { Acetate, Metal, Titanium, Tr90, Wood, Mixed });
wire_enum!(
    LensMaterialBody => LensMaterial { Cr39, Polycarbonate, Trivex, MidIndex, HighIndex, Glass }
);
wire_enum!(LensDesignBody => LensDesign { SingleVision, Bifocal, Progressive });
wire_enum!(
    LensCoatingBody => LensCoating { AntiReflective, BlueLight, HardCoat, Hydrophobic, UvProtection, Mirror }
);
wire_enum!(
    /// How often a contact lens is replaced.
    ReplacementScheduleBody => ReplacementSchedule { Daily, TwoWeekly, Monthly, Quarterly, Yearly }
);

/// An amount of money in minor units. Prices of a tenant are in its default currency
/// (design §2), so `currency` may be left out; when given it must be that currency.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyBody {
    /// Non-negative, in the currency's minor unit: `12900` is 129.00 EUR.
    pub amount_minor: i64,
    /// ISO 4217 code, e.g. `EUR`; defaults to the tenant's default currency, and any other
    /// currency answers 422.
    pub currency: Option<String>,
}

/// Creates a product in draft; the server makes its id (answered as `id`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProduct {
    pub kind: ProductKindBody,
    /// 1–200 characters, trimmed.
    pub name: String,
    /// 1–100 characters, trimmed; a search facet.
    pub brand: String,
    /// Up to 5000 characters.
    pub description: Option<String>,
    /// Defaults to the kind's own (`digital` for digital products, else `physical`); another
    /// value answers 422 `fulfillment_mismatch`.
    pub fulfillment: Option<FulfillmentTypeBody>,
}

/// Replaces name, brand and description; leaving `description` out clears it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProductDetails {
    /// 1–200 characters, trimmed.
    pub name: String,
    /// 1–100 characters, trimmed.
    pub brand: String,
    /// Up to 5000 characters.
    pub description: Option<String>,
}

/// Frame size in the boxing system (ISO 8624) and look. Ranges are inclusive, and ED must be
/// at least A and B (the lens must fit its own box).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FrameAttributesBody {
    /// A: width of the box around one lens, 30–70 mm.
    pub box_width_mm: f64,
    /// B: height of that box, 15–60 mm.
    pub box_height_mm: f64,
    /// DBL: distance between the lenses (bridge), 10–28 mm.
    pub distance_between_lenses_mm: f64,
    /// ED: effective diameter, 30–80 mm and at least A and B.
    pub effective_diameter_mm: f64,
    /// Temple (arm) length, 100–160 mm.
    pub temple_length_mm: f64,
    /// The manufacturer's colour name, 1–64 characters (e.g. `Havana tortoise`).
    pub colour: String,
    pub shape: FrameShapeBody,
    pub material: FrameMaterialBody,
}

/// A spectacle lens option.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LensAttributesBody {
    pub material: LensMaterialBody,
    /// Refractive index; one of 1.50, 1.53, 1.56, 1.59, 1.60, 1.67, 1.74, 1.80, 1.90.
    pub index: f64,
    pub design: LensDesignBody,
    /// A set: each coating at most once. None when left out.
    #[serde(default)]
    pub coatings: Vec<LensCoatingBody>,
    /// The lab's tint name, 1–64 characters (e.g. `grey 80%`); untinted when left out.
    pub tint: Option<String>,
}

/// Contact lens parameters that make a distinct stock item (powers come from the prescription).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactLensAttributesBody {
    /// 8.0–9.5 mm.
    pub base_curve_mm: f64,
    /// 13.0–15.0 mm.
    pub diameter_mm: f64,
    pub replacement_schedule: ReplacementScheduleBody,
}

/// What sets a variant apart, by product kind: an object with one member named after the kind
/// (`{"frame": {…}}`, `{"ophthalmic_lens": {…}}`, `{"contact_lens": {…}}`), or the bare
/// string `"accessory"` / `"digital"` for kinds without attributes. It must match the
/// product's kind (else 422 `attributes_kind_mismatch`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VariantAttributesBody {
    Frame(FrameAttributesBody),
    OphthalmicLens(LensAttributesBody),
    ContactLens(ContactLensAttributesBody),
    Accessory,
    Digital,
}

/// Adds a variant (in draft) to a product; the server makes its id (answered as `id`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddVariant {
    /// 1–64 characters of A–Z, 0–9, `-`, `_` and `.`; stored upper-case.
    pub sku: String,
    pub attributes: VariantAttributesBody,
    pub price: MoneyBody,
    /// The strike-through "was" price; must be greater than `price`.
    pub compare_at_price: Option<MoneyBody>,
}

/// Replaces a variant's attributes; the kind cannot change.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateVariantAttributes {
    pub attributes: VariantAttributesBody,
}

/// Sets both prices; leaving `compare_at_price` out removes the strike-through price.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeVariantPrice {
    pub price: MoneyBody,
    /// Must be greater than `price`.
    pub compare_at_price: Option<MoneyBody>,
}

/// An amount of money as stored: minor units and ISO 4217 currency.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct MoneyView {
    pub amount_minor: i64,
    pub currency: String,
}

/// A product as its aggregate decides on it now (not a projection).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ProductView {
    pub id: String,
    pub kind: ProductKindBody,
    pub name: String,
    pub brand: String,
    pub description: Option<String>,
    pub fulfillment: FulfillmentTypeBody,
    pub status: PublicationStatusBody,
}

/// A variant as its aggregate decides on it now (not a projection).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct VariantView {
    pub id: String,
    pub product_id: String,
    pub sku: String,
    pub price: MoneyView,
    pub compare_at_price: Option<MoneyView>,
    pub status: PublicationStatusBody,
}

impl From<optical_kernel::Money> for MoneyView {
    fn from(money: optical_kernel::Money) -> Self {
        Self {
            amount_minor: money.amount_minor(),
            currency: money.currency().to_string(),
        }
    }
}
