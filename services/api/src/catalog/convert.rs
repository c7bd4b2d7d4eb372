//! From catalog request bodies to commands. Every domain value error becomes a field error at
//! the JSON pointer of the field that broke the rule, and all of them are collected at once.
//! The rules themselves stay in the domain: this module only decides where to point.
use super::dto::{
    AddVariant, ChangeVariantPrice, ContactLensAttributesBody, CreateProduct, FrameAttributesBody,
    LensAttributesBody, MoneyBody, UpdateProductDetails, UpdateVariantAttributes,
    VariantAttributesBody,
};
use crate::validate::Fields;
use optical_catalog::{
    Brand, Colour, ContactLensAttributes, FrameAttributes, FrameGeometry, LensAttributes,
    LensCoating, LensIndex, Millimetres, ProductCommand, ProductDescription, ProductId,
    ProductKind, ProductName, ProductRef, Sku, Tint, ValueError, VariantAttributes, VariantCommand,
    VariantId,
};
use optical_kernel::{Currency, Money, TenantId};

const FRAME: &str = "/attributes/frame";
const LENS: &str = "/attributes/ophthalmic_lens";
const CONTACT_LENS: &str = "/attributes/contact_lens";

/// `Fields::check` for a rule over several fields, where the error tells which field to name.
fn check_at<T>(
    f: &mut Fields,
    result: Result<T, ValueError>,
    field: impl FnOnce(&ValueError) -> String,
) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            let at = field(&error);
            f.check(&at, Err(error))
        }
    }
}

/// Checks that each measurement is a finite, positive length, naming every bad one; the
/// ranges are left to the value object that holds them.
fn lengths(f: &mut Fields, at: &str, values: &[(&str, f64)]) -> bool {
    let mut valid = true;
    for (name, value) in values {
        valid &= f
            .check(&format!("{at}/{name}"), Millimetres::new(*value))
            .is_some();
    }
    valid
}

/// The request field a range error of a measurement is about, by the name the domain gives
/// the measurement (`None` for a name this mapping does not know: the whole object is named).
fn measured(error: &ValueError, names: &[(&str, &'static str)]) -> Option<&'static str> {
    match error {
        ValueError::OutOfRange { field, .. } => names
            .iter()
            .find(|(domain, _)| domain == field)
            .map(|(_, wire)| *wire),
        _ => None,
    }
}

fn pointer(at: &str, field: Option<&str>) -> String {
    match field {
        Some(field) => format!("{at}/{field}"),
        None => at.to_owned(),
    }
}

fn frame(f: &mut Fields, b: &FrameAttributesBody) -> Option<FrameAttributes> {
    let valid_lengths = lengths(
        f,
        FRAME,
        &[
            ("box_width_mm", b.box_width_mm),
            ("box_height_mm", b.box_height_mm),
            ("distance_between_lenses_mm", b.distance_between_lenses_mm),
            ("effective_diameter_mm", b.effective_diameter_mm),
            ("temple_length_mm", b.temple_length_mm),
        ],
    );
    let geometry = if valid_lengths {
        let built = FrameGeometry::new(
            b.box_width_mm,
            b.box_height_mm,
            b.distance_between_lenses_mm,
            b.effective_diameter_mm,
            b.temple_length_mm,
        );
        check_at(f, built, |error| {
            let field = match error {
                ValueError::EffectiveDiameterTooSmall { .. } => Some("effective_diameter_mm"),
                other => measured(
                    other,
                    &[
                        ("A (box width)", "box_width_mm"),
                        ("B (box height)", "box_height_mm"),
                        (
                            "DBL (distance between lenses)",
                            "distance_between_lenses_mm",
                        ),
                        ("ED (effective diameter)", "effective_diameter_mm"),
                        ("temple length", "temple_length_mm"),
                    ],
                ),
            };
            pointer(FRAME, field)
        })
    } else {
        None
    };
    let colour = f.check(&format!("{FRAME}/colour"), Colour::new(&b.colour));
    Some(FrameAttributes {
        geometry: geometry?,
        colour: colour?,
        shape: b.shape.into(),
        frame_material: b.material.into(),
    })
}

fn lens(f: &mut Fields, b: &LensAttributesBody) -> Option<LensAttributes> {
    let index = f.check(&format!("{LENS}/index"), LensIndex::new(b.index));
    let tint = f.check_opt(&format!("{LENS}/tint"), b.tint.as_deref().map(Tint::new));
    let coatings: Vec<LensCoating> = b.coatings.iter().map(|&c| c.into()).collect();
    let built = LensAttributes::new(
        b.material.into(),
        index?,
        b.design.into(),
        coatings.clone(),
        tint?,
    );
    check_at(f, built, |error| match error {
        // Point at the repetition, not the first mention.
        ValueError::DuplicateCoating(coating) => coatings
            .iter()
            .enumerate()
            .filter(|(_, c)| *c == coating)
            .nth(1)
            .map_or_else(
                || format!("{LENS}/coatings"),
                |(i, _)| format!("{LENS}/coatings/{i}"),
            ),
        _ => LENS.to_owned(),
    })
}

fn contact_lens(f: &mut Fields, b: &ContactLensAttributesBody) -> Option<ContactLensAttributes> {
    let valid_lengths = lengths(
        f,
        CONTACT_LENS,
        &[
            ("base_curve_mm", b.base_curve_mm),
            ("diameter_mm", b.diameter_mm),
        ],
    );
    if !valid_lengths {
        return None;
    }
    let built = ContactLensAttributes::new(
        b.base_curve_mm,
        b.diameter_mm,
        b.replacement_schedule.into(),
    );
    check_at(f, built, |error| {
        let names = [
            ("base curve", "base_curve_mm"),
            ("contact lens diameter", "diameter_mm"),
        ];
        pointer(CONTACT_LENS, measured(error, &names))
    })
}

pub fn attributes(f: &mut Fields, body: &VariantAttributesBody) -> Option<VariantAttributes> {
    match body {
        VariantAttributesBody::Frame(b) => frame(f, b).map(VariantAttributes::Frame),
        VariantAttributesBody::OphthalmicLens(b) => {
            lens(f, b).map(VariantAttributes::OphthalmicLens)
        }
        VariantAttributesBody::ContactLens(b) => {
            contact_lens(f, b).map(VariantAttributes::ContactLens)
        }
        VariantAttributesBody::Accessory => Some(VariantAttributes::Accessory),
        VariantAttributesBody::Digital => Some(VariantAttributes::Digital),
    }
}

/// A price at `at`. The currency defaults to the tenant's, and another one is refused rather
/// than converted: a tenant prices in its own currency (design §2).
pub fn money(
    f: &mut Fields,
    at: &str,
    body: &MoneyBody,
    tenant_currency: Currency,
) -> Option<Money> {
    let currency_ok = match &body.currency {
        None => true,
        Some(code) => {
            let field = format!("{at}/currency");
            match f.check(&field, code.parse::<Currency>()) {
                Some(currency) if currency != tenant_currency => {
                    f.reject(
                        &field,
                        "currency_mismatch",
                        format!("prices of this tenant are in {tenant_currency}, not {currency}"),
                    );
                    false
                }
                parsed => parsed.is_some(),
            }
        }
    };
    // Checked even when the currency is wrong, so that both mistakes are reported together.
    let amount = f.check(
        &format!("{at}/amount_minor"),
        Money::new(body.amount_minor, tenant_currency),
    );
    amount.filter(|_| currency_ok)
}

fn prices(
    f: &mut Fields,
    price: &MoneyBody,
    compare_at_price: Option<&MoneyBody>,
    currency: Currency,
) -> Option<(Money, Option<Money>)> {
    let price = money(f, "/price", price, currency);
    let compare_at = match compare_at_price {
        None => Some(None),
        Some(body) => money(f, "/compare_at_price", body, currency).map(Some),
    };
    Some((price?, compare_at?))
}

type Details = (ProductName, Brand, Option<ProductDescription>);

fn details(f: &mut Fields, name: &str, brand: &str, description: Option<&str>) -> Option<Details> {
    let name = f.check("/name", ProductName::new(name));
    let brand = f.check("/brand", Brand::new(brand));
    let description = f.check_opt("/description", description.map(ProductDescription::new));
    Some((name?, brand?, description?))
}

/// Fulfillment defaults to the kind's own; a different one given explicitly is left to the
/// aggregate to refuse (`fulfillment_mismatch`).
pub fn create_product(
    f: &mut Fields,
    b: &CreateProduct,
    product_id: ProductId,
    tenant_id: TenantId,
) -> Option<ProductCommand> {
    let (name, brand, description) = details(f, &b.name, &b.brand, b.description.as_deref())?;
    let kind = ProductKind::from(b.kind);
    Some(ProductCommand::CreateProduct {
        product_id,
        tenant_id,
        kind,
        name,
        brand,
        description,
        fulfillment: b.fulfillment.map_or_else(|| kind.fulfillment(), Into::into),
    })
}

pub fn update_product_details(
    f: &mut Fields,
    b: &UpdateProductDetails,
    tenant_id: TenantId,
) -> Option<ProductCommand> {
    let (name, brand, description) = details(f, &b.name, &b.brand, b.description.as_deref())?;
    Some(ProductCommand::UpdateProductDetails {
        tenant_id,
        name,
        brand,
        description,
    })
}

pub fn add_variant(
    f: &mut Fields,
    b: &AddVariant,
    variant_id: VariantId,
    tenant_id: TenantId,
    product: ProductRef,
    currency: Currency,
) -> Option<VariantCommand> {
    let sku = f.check("/sku", Sku::new(&b.sku));
    let attributes = attributes(f, &b.attributes);
    let prices = prices(f, &b.price, b.compare_at_price.as_ref(), currency);
    let (price, compare_at_price) = prices?;
    Some(VariantCommand::AddVariant {
        variant_id,
        tenant_id,
        product,
        sku: sku?,
        attributes: attributes?,
        price,
        compare_at_price,
    })
}

pub fn update_variant_attributes(
    f: &mut Fields,
    b: &UpdateVariantAttributes,
    tenant_id: TenantId,
) -> Option<VariantCommand> {
    Some(VariantCommand::UpdateVariantAttributes {
        tenant_id,
        attributes: attributes(f, &b.attributes)?,
    })
}

pub fn change_variant_price(
    f: &mut Fields,
    b: &ChangeVariantPrice,
    tenant_id: TenantId,
    currency: Currency,
) -> Option<VariantCommand> {
    let (price, compare_at_price) = prices(f, &b.price, b.compare_at_price.as_ref(), currency)?;
    Some(VariantCommand::ChangeVariantPrice {
        tenant_id,
        price,
        compare_at_price,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::FieldError;
    use optical_catalog::{
        FrameMaterial, FrameShape, FulfillmentType, LensDesign, LensMaterial, PublicationStatus,
        ReplacementSchedule,
    };
    use serde::de::DeserializeOwned;
    use serde_json::{json, Value};

    fn eur() -> Currency {
        "EUR".parse().unwrap()
    }

    fn body<T: DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    fn frame_json() -> Value {
        json!({"frame": {
            "box_width_mm": 52.0, "box_height_mm": 40.0, "distance_between_lenses_mm": 18.0,
            "effective_diameter_mm": 55.5, "temple_length_mm": 145.0,
            "colour": "Havana tortoise", "shape": "cat_eye", "material": "tr90",
        }})
    }

    /// Converts attributes, answering the value or the (pointer, code) of every field error.
    fn convert(value: Value) -> Result<VariantAttributes, Vec<(String, String)>> {
        let mut f = Fields::default();
        match attributes(&mut f, &body(value)) {
            Some(attributes) if f.is_empty() => Ok(attributes),
            Some(_) => panic!("a value despite field errors"),
            None => Err(fields(f)),
        }
    }

    fn fields(f: Fields) -> Vec<(String, String)> {
        assert!(!f.is_empty(), "None without a field error");
        f.error()
            .errors
            .into_iter()
            .map(|FieldError { field, code, .. }| (field, code))
            .collect()
    }

    fn invalid(fields: &[&str]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|f| ((*f).to_owned(), "invalid_value".to_owned()))
            .collect()
    }

    /// The frame JSON with some members replaced.
    fn frame_with(changes: Value) -> Value {
        let mut value = frame_json();
        for (k, v) in changes.as_object().unwrap() {
            value["frame"][k] = v.clone();
        }
        value
    }

    #[test]
    fn a_valid_frame_becomes_its_geometry_and_look() {
        let VariantAttributes::Frame(frame) = convert(frame_json()).unwrap() else {
            panic!("not a frame");
        };
        assert_eq!(
            frame.geometry,
            FrameGeometry::new(52.0, 40.0, 18.0, 55.5, 145.0).unwrap()
        );
        assert_eq!(frame.colour.as_str(), "Havana tortoise");
        assert_eq!(frame.shape, FrameShape::CatEye);
        assert_eq!(frame.frame_material, FrameMaterial::Tr90);
    }

    #[test]
    fn each_frame_measurement_out_of_range_names_its_own_field() {
        for (field, value) in [
            ("box_width_mm", 71.0),
            ("box_height_mm", 14.0),
            ("distance_between_lenses_mm", 29.0),
            ("effective_diameter_mm", 81.0),
            ("temple_length_mm", 99.0),
        ] {
            assert_eq!(
                convert(frame_with(json!({ field: value }))),
                Err(invalid(&[&format!("/attributes/frame/{field}")])),
                "{field}"
            );
        }
    }

    #[test]
    fn effective_diameter_below_the_box_names_the_effective_diameter() {
        assert_eq!(
            convert(frame_with(json!({"effective_diameter_mm": 50.0}))),
            Err(invalid(&["/attributes/frame/effective_diameter_mm"]))
        );
    }

    #[test]
    fn every_bad_frame_field_is_reported_at_once() {
        assert_eq!(
            convert(frame_with(
                json!({"box_width_mm": -1.0, "temple_length_mm": 0.0, "colour": " "})
            )),
            Err(invalid(&[
                "/attributes/frame/box_width_mm",
                "/attributes/frame/temple_length_mm",
                "/attributes/frame/colour",
            ]))
        );
    }

    #[test]
    fn a_valid_ophthalmic_lens_keeps_its_options() {
        let value = json!({"ophthalmic_lens": {"material": "high_index", "index": 1.67,
            "design": "progressive", "coatings": ["anti_reflective", "blue_light"], "tint": "grey 80%"}});
        let VariantAttributes::OphthalmicLens(lens) = convert(value).unwrap() else {
            panic!("not a lens");
        };
        assert_eq!(lens.material(), LensMaterial::HighIndex);
        assert_eq!(lens.index(), LensIndex::new(1.67).unwrap());
        assert_eq!(lens.design(), LensDesign::Progressive);
        assert_eq!(
            lens.coatings(),
            [LensCoating::AntiReflective, LensCoating::BlueLight]
        );
        assert_eq!(lens.tint().map(Tint::as_str), Some("grey 80%"));
    }

    #[test]
    fn lens_coatings_and_tint_may_be_left_out() {
        let value = json!({"ophthalmic_lens": {"material": "cr39", "index": 1.5, "design": "single_vision"}});
        let VariantAttributes::OphthalmicLens(lens) = convert(value).unwrap() else {
            panic!("not a lens");
        };
        assert!(lens.coatings().is_empty());
        assert_eq!(lens.tint(), None);
    }

    #[test]
    fn bad_lens_fields_name_the_index_tint_and_repeated_coating() {
        let lens = |index, coatings: Value, tint: Value| {
            json!({"ophthalmic_lens": {"material": "cr39", "index": index,
                "design": "bifocal", "coatings": coatings, "tint": tint}})
        };
        assert_eq!(
            convert(lens(1.55, json!([]), json!(""))),
            Err(invalid(&[
                "/attributes/ophthalmic_lens/index",
                "/attributes/ophthalmic_lens/tint",
            ]))
        );
        assert_eq!(
            convert(lens(
                1.6,
                json!(["mirror", "hard_coat", "mirror"]),
                Value::Null
            )),
            Err(invalid(&["/attributes/ophthalmic_lens/coatings/2"]))
        );
    }

    #[test]
    fn a_valid_contact_lens_keeps_its_parameters() {
        let value = json!({"contact_lens": {"base_curve_mm": 8.6, "diameter_mm": 14.2,
            "replacement_schedule": "two_weekly"}});
        assert_eq!(
            convert(value),
            Ok(VariantAttributes::ContactLens(
                ContactLensAttributes::new(8.6, 14.2, ReplacementSchedule::TwoWeekly).unwrap()
            ))
        );
    }

    #[test]
    fn bad_contact_lens_fields_name_themselves() {
        let contact = |base_curve, diameter| {
            json!({"contact_lens": {"base_curve_mm": base_curve, "diameter_mm": diameter,
                "replacement_schedule": "daily"}})
        };
        assert_eq!(
            convert(contact(7.0, 14.0)),
            Err(invalid(&["/attributes/contact_lens/base_curve_mm"]))
        );
        assert_eq!(
            convert(contact(8.6, 16.0)),
            Err(invalid(&["/attributes/contact_lens/diameter_mm"]))
        );
        assert_eq!(
            convert(contact(-1.0, 0.0)),
            Err(invalid(&[
                "/attributes/contact_lens/base_curve_mm",
                "/attributes/contact_lens/diameter_mm",
            ]))
        );
    }

    #[test]
    fn kinds_without_attributes_are_bare_strings() {
        assert_eq!(
            convert(json!("accessory")),
            Ok(VariantAttributes::Accessory)
        );
        assert_eq!(convert(json!("digital")), Ok(VariantAttributes::Digital));
        assert!(serde_json::from_value::<VariantAttributesBody>(json!("none")).is_err());
        assert!(serde_json::from_value::<VariantAttributesBody>(
            json!({"frame": {}, "contact_lens": {}})
        )
        .is_err());
    }

    #[test]
    fn the_currency_defaults_to_the_tenants() {
        let mut f = Fields::default();
        let price = money(
            &mut f,
            "/price",
            &body(json!({"amount_minor": 12900})),
            eur(),
        );
        assert_eq!(price, Some(Money::new(12900, eur()).unwrap()));
        let given = money(
            &mut f,
            "/price",
            &body(json!({"amount_minor": 0, "currency": "EUR"})),
            eur(),
        );
        assert_eq!(given, Some(Money::new(0, eur()).unwrap()));
        assert!(f.is_empty());
    }

    #[test]
    fn another_currency_than_the_tenants_is_refused_on_the_currency() {
        let mut f = Fields::default();
        let usd = body(json!({"amount_minor": 12900, "currency": "USD"}));
        assert_eq!(money(&mut f, "/price", &usd, eur()), None);
        assert_eq!(
            fields(f),
            [("/price/currency".to_owned(), "currency_mismatch".to_owned())]
        );
    }

    #[test]
    fn a_bad_currency_and_a_negative_amount_are_reported_together() {
        let mut f = Fields::default();
        let b: ChangeVariantPrice = body(json!({
            "price": {"amount_minor": -1, "currency": "eur"},
            "compare_at_price": {"amount_minor": 100, "currency": "GBP"},
        }));
        assert_eq!(
            change_variant_price(&mut f, &b, TenantId::new(), eur()),
            None
        );
        assert_eq!(
            fields(f),
            [
                ("/price/currency".to_owned(), "invalid_value".to_owned()),
                ("/price/amount_minor".to_owned(), "invalid_value".to_owned()),
                (
                    "/compare_at_price/currency".to_owned(),
                    "currency_mismatch".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_variant_is_added_with_prices_in_the_tenants_currency() {
        let tenant_id = TenantId::new();
        let product = ProductRef {
            product_id: ProductId::new(),
            tenant_id,
            kind: ProductKind::Frame,
            status: PublicationStatus::Draft,
        };
        let b: AddVariant = body(json!({
            "sku": "rb-5154_49", "attributes": frame_json(),
            "price": {"amount_minor": 12900}, "compare_at_price": {"amount_minor": 15900},
        }));
        let variant_id = VariantId::new();
        let mut f = Fields::default();
        let Some(VariantCommand::AddVariant {
            variant_id: id,
            tenant_id: tenant,
            product: p,
            sku,
            attributes,
            price,
            compare_at_price,
        }) = add_variant(&mut f, &b, variant_id, tenant_id, product, eur())
        else {
            panic!("not converted: {:?}", f.error());
        };
        assert_eq!((id, tenant, p), (variant_id, tenant_id, product));
        assert_eq!(sku.as_str(), "RB-5154_49");
        assert_eq!(attributes.kind(), ProductKind::Frame);
        assert_eq!(price, Money::new(12900, eur()).unwrap());
        assert_eq!(compare_at_price, Some(Money::new(15900, eur()).unwrap()));
    }

    #[test]
    fn a_bad_variant_reports_sku_attributes_and_price_together() {
        let tenant_id = TenantId::new();
        let product = ProductRef {
            product_id: ProductId::new(),
            tenant_id,
            kind: ProductKind::Frame,
            status: PublicationStatus::Draft,
        };
        let b: AddVariant = body(json!({
            "sku": "RB 5154", "attributes": frame_with(json!({"box_height_mm": 61.0})),
            "price": {"amount_minor": -5},
        }));
        let mut f = Fields::default();
        assert_eq!(
            add_variant(&mut f, &b, VariantId::new(), tenant_id, product, eur()),
            None
        );
        assert_eq!(
            fields(f),
            invalid(&[
                "/sku",
                "/attributes/frame/box_height_mm",
                "/price/amount_minor"
            ])
        );
    }

    #[test]
    fn product_fulfillment_defaults_to_the_kinds() {
        let tenant_id = TenantId::new();
        for (kind, expected) in [
            ("digital", FulfillmentType::Digital),
            ("frame", FulfillmentType::Physical),
        ] {
            let b: CreateProduct =
                body(json!({"kind": kind, "name": "Clubmaster", "brand": "Ray-Ban"}));
            let mut f = Fields::default();
            let Some(ProductCommand::CreateProduct { fulfillment, .. }) =
                create_product(&mut f, &b, ProductId::new(), tenant_id)
            else {
                panic!("not converted");
            };
            assert_eq!(fulfillment, expected);
        }
        // An explicit choice reaches the aggregate, which decides whether it fits the kind.
        let b: CreateProduct = body(json!({"kind": "frame", "name": "Clubmaster",
            "brand": "Ray-Ban", "fulfillment": "digital"}));
        let command = create_product(&mut Fields::default(), &b, ProductId::new(), tenant_id);
        assert!(matches!(
            command,
            Some(ProductCommand::CreateProduct {
                fulfillment: FulfillmentType::Digital,
                ..
            })
        ));
    }

    #[test]
    fn bad_product_details_name_every_field() {
        let b: UpdateProductDetails = body(json!({"name": " ", "brand": "b".repeat(101),
            "description": "d".repeat(5001)}));
        let mut f = Fields::default();
        assert_eq!(update_product_details(&mut f, &b, TenantId::new()), None);
        assert_eq!(fields(f), invalid(&["/name", "/brand", "/description"]));
    }

    #[test]
    fn wire_enums_use_the_domains_codes() {
        use super::super::dto::*;
        fn same<W: serde::Serialize + From<D>, D: Copy + std::fmt::Display>(all: &[D]) {
            for &value in all {
                assert_eq!(
                    serde_json::to_value(W::from(value)).unwrap(),
                    json!(value.to_string())
                );
            }
        }
        same::<ProductKindBody, _>(ProductKind::ALL);
        same::<FulfillmentTypeBody, _>(FulfillmentType::ALL);
        same::<PublicationStatusBody, _>(PublicationStatus::ALL);
        same::<FrameShapeBody, _>(FrameShape::ALL);
        same::<FrameMaterialBody, _>(FrameMaterial::ALL);
        same::<LensMaterialBody, _>(LensMaterial::ALL);
        same::<LensDesignBody, _>(LensDesign::ALL);
        same::<LensCoatingBody, _>(LensCoating::ALL);
        same::<ReplacementScheduleBody, _>(ReplacementSchedule::ALL);
    }
}
