//! Demo data: a tenant's frames and lenses written through the catalog commands, so the
//! whole pipeline (event store → relay → Kafka) carries real domain events on a laptop.
use anyhow::{anyhow, Context as _};
use optical_app::AppError;
use optical_app::{App, CatalogApp};
use optical_catalog::Colour;
use optical_catalog::{
    Brand, FrameAttributes, FrameGeometry, FrameMaterial, FrameShape, LensAttributes, LensCoating,
    LensDesign, LensIndex, LensMaterial, ProductCommand, ProductDescription, ProductId,
    ProductKind, ProductName, Sku, VariantAttributes, VariantCommand, VariantId,
};
use optical_inventory::{Quantity, ReceiptReference};
use optical_kernel::{
    Clock, Currency, EventMetadata, LocationId, Money, StoreId, SystemClock, TenantId,
};
use optical_lab::{
    LabStage, PaperWidth, Printer, PrinterProtocol, StationId, StationName, StationSettings,
    StationStages, TicketFormat,
};
use optical_tenancy::{
    LocationKind, LocationName, StoreCode, StoreName, TenancyError, TenantCommand, TenantKind,
    TenantName, TenantSettings,
};
use std::time::Duration;

/// The demo tenant, stable so repeated runs add to the same catalog.
pub fn demo_tenant() -> TenantId {
    TenantId::from_uuid(uuid::Uuid::from_u128(
        0x0192_0000_0000_7000_8000_0000_0000_0001,
    ))
}

/// The demo store and its back room, stable across runs like the tenant.
pub fn demo_store() -> StoreId {
    StoreId::from_uuid(uuid::Uuid::from_u128(
        0x0192_0000_0000_7000_8000_0000_0000_0002,
    ))
}

pub fn demo_location() -> LocationId {
    LocationId::from_uuid(uuid::Uuid::from_u128(
        0x0192_0000_0000_7000_8000_0000_0000_0003,
    ))
}

/// What the demo seeded.
pub struct DemoData {
    pub tenant: TenantId,
    pub store: StoreId,
    pub location: LocationId,
    /// The frames, each with 20 units in stock.
    pub variants: Vec<DemoVariant>,
    /// A progressive lens (pairs), 20 in stock.
    pub lens: VariantId,
    /// The lab's stations, in the order a job passes them.
    pub stations: Vec<(StationId, String)>,
}

/// The demo lab: a station per group of stages, stable ids like the tenant. Thermal printers
/// listen on the local raw port, the inspection desk prints PDF through IPP.
fn demo_stations() -> anyhow::Result<Vec<(StationId, StationSettings)>> {
    use LabStage::*;
    let thermal = || {
        Printer::new(
            PrinterProtocol::EscposTcp,
            "127.0.0.1:9100",
            PaperWidth::Roll80,
            vec![TicketFormat::Escpos],
        )
    };
    let ipp = Printer::new(
        PrinterProtocol::Ipp,
        "ipp://127.0.0.1:8631/ipp/print",
        PaperWidth::A6,
        vec![TicketFormat::Pdf],
    )?;
    let station = |n: u128, name: &str, stages: &[LabStage], printer: Printer| {
        anyhow::Ok((
            StationId::from_uuid(uuid::Uuid::from_u128(
                0x0192_0000_0000_7000_8000_0000_0000_0010 + n,
            )),
            StationSettings {
                name: StationName::new(name)?,
                stages: StationStages::new(stages.iter().copied())?,
                printer,
            },
        ))
    };
    Ok(vec![
        station(0, "Front desk", &[Received], thermal()?)?,
        station(
            1,
            "Surfacing and coating",
            &[Surfacing, Coating],
            thermal()?,
        )?,
        station(2, "Edging and mounting", &[Edging, Mounting], thermal()?)?,
        station(
            3,
            "Final inspection",
            &[FinalInspection, Completed, Shipped],
            ipp,
        )?,
    ])
}

/// "Already exists" from an earlier run is fine: the demo adds to what is there.
fn tolerate_existing(
    result: Result<optical_app::Receipt, AppError<TenancyError>>,
) -> anyhow::Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(AppError::Rejected(e)) if e.code().ends_with("_already_exists") => Ok(()),
        Err(e) => Err(anyhow!("{e}")),
    }
}

/// Seeds a single-brand tenant with a store, its back room, `frames` frames (each with 20
/// units in stock), a progressive lens (20 in stock) and the lab's stations.
pub async fn seed_all(app: &App, frames: usize) -> anyhow::Result<DemoData> {
    let tenant = demo_tenant();
    let meta = metadata(tenant);
    let create = TenantCommand::CreateTenant {
        tenant_id: tenant,
        name: TenantName::new("Lumen Optics (demo)")?,
        kind: TenantKind::SingleBrand,
        default_currency: "EUR".parse()?,
        settings: TenantSettings::default(),
    };
    tolerate_existing(app.tenancy.tenant(create, &meta, None).await)?;
    let (store, location) = (demo_store(), demo_location());
    tolerate_existing(
        app.tenancy
            .open_store(
                store,
                StoreName::new("Lumen Optics Mitte")?,
                StoreCode::new("BER-1")?,
                None,
                &meta,
                None,
            )
            .await,
    )?;
    tolerate_existing(
        app.tenancy
            .add_location(
                location,
                store,
                LocationName::new("Back room")?,
                LocationKind::BackRoom,
                &meta,
                None,
            )
            .await,
    )?;
    let variants = seed(&app.catalog, tenant, frames).await?;
    let lens = seed_lens(&app.catalog, tenant).await?;
    let stocked = variants.iter().map(|v| v.variant_id).chain([lens]);
    for variant_id in stocked {
        app.inventory
            .receive(
                location,
                variant_id,
                Quantity::new(20)?,
                Some(ReceiptReference::new("DEMO-DELIVERY")?),
                &meta,
                None,
            )
            .await
            .map_err(|e| anyhow!("receive stock: {e}"))?;
    }
    let mut stations = Vec::new();
    for (station_id, settings) in demo_stations()? {
        let name = settings.name.to_string();
        app.lab
            .create_station(station_id, settings, &meta, None)
            .await
            .map_err(|e| anyhow!("create station {name}: {e}"))?;
        stations.push((station_id, name));
    }
    Ok(DemoData {
        tenant,
        store,
        location,
        variants,
        lens,
        stations,
    })
}

fn metadata(tenant: TenantId) -> EventMetadata {
    EventMetadata::new_request(tenant, SystemClock.now(), "demo-writer")
}

/// A variant that the writer keeps re-pricing.
#[derive(Debug, Clone, Copy)]
pub struct DemoVariant {
    pub variant_id: VariantId,
    pub price: Money,
}

/// Writes `frames` frame products (one variant each) and one progressive lens, published.
pub async fn seed(
    app: &CatalogApp,
    tenant: TenantId,
    frames: usize,
) -> anyhow::Result<Vec<DemoVariant>> {
    let eur: Currency = "EUR".parse()?;
    let shapes = [
        FrameShape::Round,
        FrameShape::Rectangle,
        FrameShape::CatEye,
        FrameShape::Aviator,
    ];
    let mut variants = Vec::new();
    for i in 0..frames {
        let product_id = ProductId::new();
        let a = 48.0 + (i % 8) as f64;
        let create = ProductCommand::CreateProduct {
            product_id,
            tenant_id: tenant,
            kind: ProductKind::Frame,
            name: ProductName::new(format!("Aurora {a:.0}"))?,
            brand: Brand::new("Lumen Optics")?,
            description: Some(ProductDescription::new(
                "Acetate full-rim frame, demo data",
            )?),
            fulfillment: ProductKind::Frame.fulfillment(),
        };
        app.product(product_id, create, &metadata(tenant), None)
            .await
            .map_err(|e| anyhow!("create product: {e}"))?;
        app.product(
            product_id,
            ProductCommand::PublishProduct { tenant_id: tenant },
            &metadata(tenant),
            None,
        )
        .await
        .map_err(|e| anyhow!("publish product: {e}"))?;
        let product = app
            .product_ref(tenant, product_id)
            .await
            .map_err(|e| anyhow!("{e}"))?
            .context("product just created")?;
        let variant_id = VariantId::new();
        let price = Money::new(8_900 + 500 * (i as i64 % 10), eur)?;
        let attributes = VariantAttributes::Frame(FrameAttributes {
            geometry: FrameGeometry::new(a, a - 12.0, 18.0, a + 4.0, 140.0)?,
            colour: Colour::new(["Havana", "Black", "Crystal", "Tortoise"][i % 4])?,
            shape: shapes[i % shapes.len()],
            frame_material: FrameMaterial::Acetate,
        });
        let add = VariantCommand::AddVariant {
            variant_id,
            tenant_id: tenant,
            product,
            sku: Sku::new(format!(
                "AUR-{a:.0}-{}-{}",
                i,
                &variant_id.to_string()[30..]
            ))?,
            attributes,
            price,
            compare_at_price: None,
        };
        app.variant(variant_id, add, &metadata(tenant), None)
            .await
            .map_err(|e| anyhow!("add variant: {e}"))?;
        app.variant(
            variant_id,
            VariantCommand::PublishVariant {
                tenant_id: tenant,
                product,
            },
            &metadata(tenant),
            None,
        )
        .await
        .map_err(|e| anyhow!("publish variant: {e}"))?;
        variants.push(DemoVariant { variant_id, price });
    }
    Ok(variants)
}

/// A published progressive lens (high index 1.67, AR and hard coat); returns its variant.
pub async fn seed_lens(app: &CatalogApp, tenant: TenantId) -> anyhow::Result<VariantId> {
    let eur: Currency = "EUR".parse()?;
    let product_id = ProductId::new();
    let create = ProductCommand::CreateProduct {
        product_id,
        tenant_id: tenant,
        kind: ProductKind::OphthalmicLens,
        name: ProductName::new("Vista Progressive 1.67")?,
        brand: Brand::new("Lumen Optics")?,
        description: None,
        fulfillment: ProductKind::OphthalmicLens.fulfillment(),
    };
    app.product(product_id, create, &metadata(tenant), None)
        .await
        .map_err(|e| anyhow!("create lens: {e}"))?;
    let product = app
        .product_ref(tenant, product_id)
        .await
        .map_err(|e| anyhow!("{e}"))?
        .context("lens just created")?;
    let variant_id = VariantId::new();
    let add = VariantCommand::AddVariant {
        variant_id,
        tenant_id: tenant,
        product,
        sku: Sku::new(format!("VISTA-167-{}", &variant_id.to_string()[30..]))?,
        attributes: VariantAttributes::OphthalmicLens(LensAttributes::new(
            LensMaterial::HighIndex,
            LensIndex::new(1.67)?,
            LensDesign::Progressive,
            vec![LensCoating::AntiReflective, LensCoating::HardCoat],
            None,
        )?),
        price: Money::new(24_900, eur)?,
        compare_at_price: Some(Money::new(29_900, eur)?),
    };
    app.variant(variant_id, add, &metadata(tenant), None)
        .await
        .map_err(|e| anyhow!("add lens variant: {e}"))?;
    app.product(
        product_id,
        ProductCommand::PublishProduct { tenant_id: tenant },
        &metadata(tenant),
        None,
    )
    .await
    .map_err(|e| anyhow!("publish lens: {e}"))?;
    let product = app
        .product_ref(tenant, product_id)
        .await
        .map_err(|e| anyhow!("{e}"))?
        .context("lens just published")?;
    app.variant(
        variant_id,
        VariantCommand::PublishVariant {
            tenant_id: tenant,
            product,
        },
        &metadata(tenant),
        None,
    )
    .await
    .map_err(|e| anyhow!("publish lens variant: {e}"))?;
    Ok(variant_id)
}

/// Keeps the log moving: every `interval`, one variant gets a new price.
pub async fn keep_repricing(
    app: &CatalogApp,
    tenant: TenantId,
    variants: &[DemoVariant],
    interval: Duration,
) {
    let mut tick = tokio::time::interval(interval);
    for round in 0usize.. {
        tick.tick().await;
        let Some(variant) = variants.get(round % variants.len().max(1)) else {
            return;
        };
        let bump = 100 * (round as i64 % 5);
        let Ok(price) = Money::new(
            variant.price.amount_minor() + bump,
            variant.price.currency(),
        ) else {
            continue;
        };
        let command = VariantCommand::ChangeVariantPrice {
            tenant_id: tenant,
            price,
            compare_at_price: None,
        };
        if let Err(error) = app
            .variant(variant.variant_id, command, &metadata(tenant), None)
            .await
        {
            tracing::warn!(%error, "demo price change failed");
        }
    }
}
