//! Catalog endpoints: products and their variants (create, edit, price, publish, archive) and
//! each aggregate's current state.
mod convert;
mod dto;

pub(crate) use dto::{LensCoatingBody, LensDesignBody, LensMaterialBody, MoneyView};

use crate::extract::{path_id, IdempotencyKey, JsonBody};
use crate::problem::{ApiError, FieldError, Problem};
use crate::respond::{app_error, run_command, Coded, CommandAccepted};
use crate::routes::{schema, Endpoint, Response};
use crate::security::Caller;
use crate::validate::Fields;
use crate::ApiState;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use dto::{
    AddVariant, ChangeVariantPrice, CreateProduct, ProductView, UpdateProductDetails,
    UpdateVariantAttributes, VariantView,
};
use optical_app::AppError;
use optical_catalog::{
    CatalogError, ProductCommand, ProductId, ProductRef, Variant, VariantCommand, VariantId,
};
use optical_kernel::{Currency, TenantId};

const WRITE: &str = "catalog:write";
const READ: &str = "catalog:read";

impl Coded for CatalogError {
    fn code(&self) -> &'static str {
        CatalogError::code(self)
    }

    fn status(&self) -> StatusCode {
        if rejected_field(self).is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else if self.code().ends_with("_not_found") {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::CONFLICT
        }
    }
}

/// The request field behind a rejection of the request's own values (422); `None` for
/// rejections by the current state (409) or of unknown ids (404).
fn rejected_field(error: &CatalogError) -> Option<&'static str> {
    match error {
        CatalogError::FulfillmentMismatch { .. } => Some("/fulfillment"),
        CatalogError::AttributesKindMismatch { .. } => Some("/attributes"),
        CatalogError::CompareAtCurrencyMismatch { .. } => Some("/compare_at_price/currency"),
        CatalogError::CompareAtNotAbovePrice { .. } => Some("/compare_at_price/amount_minor"),
        _ => None,
    }
}

/// `app_error`, plus a field error when the aggregate refused one of the request's values, so
/// that clients show it next to the field like any other 422.
fn catalog_error(error: AppError<CatalogError>) -> ApiError {
    let field = match &error {
        AppError::Rejected(e) => rejected_field(e).map(|at| FieldError::new(at, e.code(), e)),
        _ => None,
    };
    let api = app_error(error);
    match field {
        Some(field) => api.with_errors(vec![field]),
        None => api,
    }
}

fn rejected(error: CatalogError) -> ApiError {
    catalog_error(AppError::Rejected(error))
}

type Api = Result<HttpResponse, ApiError>;

/// The currency every price of the tenant is in; 404 `tenant_not_found` before the tenant exists.
async fn tenant_currency(state: &ApiState, tenant_id: TenantId) -> Result<Currency, ApiError> {
    let tenant = state
        .app
        .catalog
        .tenancy()
        .tenant_ref(tenant_id)
        .await
        .map_err(app_error)?;
    Ok(tenant.default_currency)
}

/// The caller's product as variant commands need it; 404 when unknown or another tenant's.
async fn product_ref(
    state: &ApiState,
    tenant_id: TenantId,
    product_id: ProductId,
) -> Result<ProductRef, ApiError> {
    state
        .app
        .catalog
        .product_ref(tenant_id, product_id)
        .await
        .map_err(catalog_error)?
        .ok_or_else(|| rejected(CatalogError::ProductNotFound))
}

/// The caller's variant; 404 when unknown or another tenant's.
async fn variant_state(
    state: &ApiState,
    tenant_id: TenantId,
    variant_id: VariantId,
) -> Result<Variant, ApiError> {
    state
        .app
        .catalog
        .variant_state(tenant_id, variant_id)
        .await
        .map_err(catalog_error)?
        .ok_or_else(|| rejected(CatalogError::VariantNotFound))
}

/// Runs a product command under the idempotency protocol: 201 for creation, else 200.
async fn run_product(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    raw: &[u8],
    product_id: ProductId,
    command: ProductCommand,
) -> Api {
    let success = match command {
        ProductCommand::CreateProduct { .. } => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    let meta = caller.metadata(state.clock.now());
    let app = state.app.catalog.clone();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        raw,
        success,
        |idem| async move {
            app.product(product_id, command, &meta, idem.as_ref())
                .await
                .map_err(catalog_error)
        },
    )
    .await
}

/// A command on the product named in the path.
async fn product_command(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    raw: &[u8],
    command: ProductCommand,
) -> Api {
    let product_id: ProductId = path_id(&req, "product_id", "product")?;
    run_product(state, caller, req, key, raw, product_id, command).await
}

/// Runs a variant command under the idempotency protocol: 201 for a new variant, else 200.
async fn run_variant(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    raw: &[u8],
    variant_id: VariantId,
    command: VariantCommand,
) -> Api {
    let success = match command {
        VariantCommand::AddVariant { .. } => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    let meta = caller.metadata(state.clock.now());
    let app = state.app.catalog.clone();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        raw,
        success,
        |idem| async move {
            app.variant(variant_id, command, &meta, idem.as_ref())
                .await
                .map_err(catalog_error)
        },
    )
    .await
}

/// A command on the variant named in the path.
async fn variant_command(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    raw: &[u8],
    command: VariantCommand,
) -> Api {
    let variant_id: VariantId = path_id(&req, "variant_id", "variant")?;
    run_variant(state, caller, req, key, raw, variant_id, command).await
}

async fn create_product(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<CreateProduct>,
) -> Api {
    let mut f = Fields::default();
    let product_id = ProductId::new();
    let Some(command) =
        convert::create_product(&mut f, &body.value, product_id, caller.tenant_id())
    else {
        return Err(f.error());
    };
    run_product(state, caller, req, key, &body.raw, product_id, command).await
}

async fn update_product_details(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<UpdateProductDetails>,
) -> Api {
    let mut f = Fields::default();
    let Some(command) = convert::update_product_details(&mut f, &body.value, caller.tenant_id())
    else {
        return Err(f.error());
    };
    product_command(state, caller, req, key, &body.raw, command).await
}

async fn publish_product(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
) -> Api {
    let command = ProductCommand::PublishProduct {
        tenant_id: caller.tenant_id(),
    };
    product_command(state, caller, req, key, &[], command).await
}

async fn unpublish_product(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
) -> Api {
    let command = ProductCommand::UnpublishProduct {
        tenant_id: caller.tenant_id(),
    };
    product_command(state, caller, req, key, &[], command).await
}

async fn archive_product(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
) -> Api {
    let command = ProductCommand::ArchiveProduct {
        tenant_id: caller.tenant_id(),
    };
    product_command(state, caller, req, key, &[], command).await
}

async fn add_variant(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<AddVariant>,
) -> Api {
    let product_id: ProductId = path_id(&req, "product_id", "product")?;
    let product = product_ref(&state, caller.tenant_id(), product_id).await?;
    let currency = tenant_currency(&state, caller.tenant_id()).await?;
    let mut f = Fields::default();
    let variant_id = VariantId::new();
    let tenant_id = caller.tenant_id();
    let Some(command) = convert::add_variant(
        &mut f,
        &body.value,
        variant_id,
        tenant_id,
        product,
        currency,
    ) else {
        return Err(f.error());
    };
    run_variant(state, caller, req, key, &body.raw, variant_id, command).await
}

async fn update_variant_attributes(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<UpdateVariantAttributes>,
) -> Api {
    let mut f = Fields::default();
    let Some(command) = convert::update_variant_attributes(&mut f, &body.value, caller.tenant_id())
    else {
        return Err(f.error());
    };
    variant_command(state, caller, req, key, &body.raw, command).await
}

async fn change_variant_price(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<ChangeVariantPrice>,
) -> Api {
    let currency = tenant_currency(&state, caller.tenant_id()).await?;
    let mut f = Fields::default();
    let Some(command) =
        convert::change_variant_price(&mut f, &body.value, caller.tenant_id(), currency)
    else {
        return Err(f.error());
    };
    variant_command(state, caller, req, key, &body.raw, command).await
}

/// Publishing needs the product's current state, read through the variant's product id.
async fn publish_variant(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
) -> Api {
    let variant_id: VariantId = path_id(&req, "variant_id", "variant")?;
    let tenant_id = caller.tenant_id();
    let variant = variant_state(&state, tenant_id, variant_id).await?;
    let product_id = variant
        .product_id()
        .ok_or_else(|| rejected(CatalogError::VariantNotFound))?;
    let product = product_ref(&state, tenant_id, product_id).await?;
    let command = VariantCommand::PublishVariant { tenant_id, product };
    run_variant(state, caller, req, key, &[], variant_id, command).await
}

async fn unpublish_variant(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
) -> Api {
    let command = VariantCommand::UnpublishVariant {
        tenant_id: caller.tenant_id(),
    };
    variant_command(state, caller, req, key, &[], command).await
}

async fn archive_variant(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
) -> Api {
    let command = VariantCommand::ArchiveVariant {
        tenant_id: caller.tenant_id(),
    };
    variant_command(state, caller, req, key, &[], command).await
}

/// The product's fulfillment is reported as its kind's: the aggregate refuses any other at
/// creation and no command changes it.
async fn get_product(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let product_id: ProductId = path_id(&req, "product_id", "product")?;
    let product = state
        .app
        .catalog
        .product_state(caller.tenant_id(), product_id)
        .await
        .map_err(app_error)?;
    let Some((product, reference)) = product.and_then(|p| p.product_ref().map(|r| (p, r))) else {
        return Err(rejected(CatalogError::ProductNotFound));
    };
    Ok(HttpResponse::Ok().json(ProductView {
        id: reference.product_id.to_string(),
        kind: reference.kind.into(),
        name: product.name().map(ToString::to_string).unwrap_or_default(),
        brand: product.brand().map(ToString::to_string).unwrap_or_default(),
        description: product.description().map(ToString::to_string),
        fulfillment: product
            .fulfillment()
            .unwrap_or_else(|| reference.kind.fulfillment())
            .into(),
        status: reference.status.into(),
    }))
}

async fn get_variant(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let variant_id: VariantId = path_id(&req, "variant_id", "variant")?;
    let variant = variant_state(&state, caller.tenant_id(), variant_id).await?;
    let (Some(product_id), Some(sku), Some(price), Some(status)) = (
        variant.product_id(),
        variant.sku(),
        variant.price(),
        variant.status(),
    ) else {
        return Err(rejected(CatalogError::VariantNotFound));
    };
    Ok(HttpResponse::Ok().json(VariantView {
        id: variant_id.to_string(),
        product_id: product_id.to_string(),
        sku: sku.to_string(),
        price: price.into(),
        compare_at_price: variant.compare_at_price().map(MoneyView::from),
        status: status.into(),
    }))
}

fn problem(status: u16, description: &'static str) -> Response {
    Response {
        status,
        description,
        body: Some(schema::<Problem>),
    }
}

fn accepted(status: u16, description: &'static str) -> Vec<Response> {
    vec![
        Response {
            status,
            description,
            body: Some(schema::<CommandAccepted>),
        },
        problem(
            404,
            "Unknown product, variant or tenant (also another tenant's ids)",
        ),
        problem(
            409,
            "The current state does not allow this (e.g. already published, archived)",
        ),
    ]
}

fn view(body: crate::routes::SchemaFn, description: &'static str) -> Vec<Response> {
    vec![
        Response {
            status: 200,
            description,
            body: Some(body),
        },
        problem(404, "Not found (also for another tenant's ids)"),
    ]
}

macro_rules! endpoint {
    ($method:ident $path:literal, $id:literal, $summary:literal, $handler:path, $request:ty, $status:literal) => {
        Endpoint {
            method: Method::$method,
            path: $path,
            operation_id: $id,
            summary: $summary,
            tag: "catalog",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<$request>),
            upload: None,
            responses: accepted($status, $summary),
            route: || web::route().to($handler),
        }
    };
    ($method:ident $path:literal, $id:literal, $summary:literal, $handler:path, $status:literal) => {
        Endpoint {
            method: Method::$method,
            path: $path,
            operation_id: $id,
            summary: $summary,
            tag: "catalog",
            scope: Some(WRITE),
            idempotent: true,
            request: None,
            upload: None,
            responses: accepted($status, $summary),
            route: || web::route().to($handler),
        }
    };
}

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(POST "/catalog/products", "createProduct", "Create a product (in draft)", create_product, CreateProduct, 201),
        endpoint!(PUT "/catalog/products/{product_id}/details", "updateProductDetails", "Replace a product's name, brand and description", update_product_details, UpdateProductDetails, 200),
        endpoint!(POST "/catalog/products/{product_id}/publish", "publishProduct", "Publish a draft product", publish_product, 200),
        endpoint!(POST "/catalog/products/{product_id}/unpublish", "unpublishProduct", "Take a published product back to draft", unpublish_product, 200),
        endpoint!(POST "/catalog/products/{product_id}/archive", "archiveProduct", "Archive a product for good", archive_product, 200),
        endpoint!(POST "/catalog/products/{product_id}/variants", "addVariant", "Add a variant (in draft) to a product", add_variant, AddVariant, 201),
        endpoint!(PUT "/catalog/variants/{variant_id}/attributes", "updateVariantAttributes", "Replace a variant's attributes (same kind)", update_variant_attributes, UpdateVariantAttributes, 200),
        endpoint!(PUT "/catalog/variants/{variant_id}/price", "changeVariantPrice", "Set a variant's price and compare-at price", change_variant_price, ChangeVariantPrice, 200),
        endpoint!(POST "/catalog/variants/{variant_id}/publish", "publishVariant", "Publish a draft variant (not under an archived product)", publish_variant, 200),
        endpoint!(POST "/catalog/variants/{variant_id}/unpublish", "unpublishVariant", "Take a published variant back to draft", unpublish_variant, 200),
        endpoint!(POST "/catalog/variants/{variant_id}/archive", "archiveVariant", "Archive a variant for good", archive_variant, 200),
        Endpoint {
            method: Method::GET,
            path: "/catalog/products/{product_id}",
            operation_id: "getProduct",
            summary: "A product's kind, fulfillment and status as decided now",
            tag: "catalog",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: view(schema::<ProductView>, "The product"),
            route: || web::route().to(get_product),
        },
        Endpoint {
            method: Method::GET,
            path: "/catalog/variants/{variant_id}",
            operation_id: "getVariant",
            summary: "A variant's product, SKU, price and status as decided now",
            tag: "catalog",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: view(schema::<VariantView>, "The variant"),
            route: || web::route().to(get_variant),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::parse_json;
    use optical_catalog::{FulfillmentType, ProductKind};
    use optical_kernel::Money;

    #[test]
    fn rejections_of_the_requests_values_are_422_with_the_field() {
        let eur: Currency = "EUR".parse().unwrap();
        let error = rejected(CatalogError::CompareAtNotAbovePrice {
            price: Money::new(100, eur).unwrap(),
            compare_at: Money::new(100, eur).unwrap(),
        });
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.code, "compare_at_not_above_price");
        assert_eq!(error.errors[0].field, "/compare_at_price/amount_minor");
        let error = rejected(CatalogError::FulfillmentMismatch {
            kind: ProductKind::Frame,
            expected: FulfillmentType::Physical,
            requested: FulfillmentType::Digital,
        });
        assert_eq!(
            (error.status, error.errors[0].field.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "/fulfillment")
        );
    }

    #[test]
    fn unknown_ids_are_404_and_state_conflicts_409() {
        for (error, status) in [
            (CatalogError::ProductNotFound, StatusCode::NOT_FOUND),
            (CatalogError::VariantNotFound, StatusCode::NOT_FOUND),
            (CatalogError::ProductAlreadyPublished, StatusCode::CONFLICT),
            (CatalogError::VariantArchived, StatusCode::CONFLICT),
            (CatalogError::ProductMismatch, StatusCode::CONFLICT),
        ] {
            let api = rejected(error);
            assert_eq!(api.status, status, "{}", api.code);
            assert!(api.errors.is_empty());
        }
    }

    #[test]
    fn a_wrongly_typed_attribute_is_named_by_its_pointer() {
        let raw = br#"{"sku": "A", "price": {"amount_minor": 1},
            "attributes": {"frame": {"box_width_mm": "wide"}}}"#;
        let error = parse_json::<AddVariant>(raw).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.errors[0].field, "/attributes/frame/box_width_mm");
    }

    #[test]
    fn the_openapi_document_lists_the_attribute_shapes() {
        let document = crate::routes::openapi(&endpoints());
        let schemas = &document["components"]["schemas"];
        let attributes = schemas["VariantAttributesBody"].to_string();
        for member in [
            "frame",
            "ophthalmic_lens",
            "contact_lens",
            "accessory",
            "digital",
        ] {
            assert!(attributes.contains(member), "{member}");
        }
        assert_eq!(
            document["paths"]["/api/v1/catalog/variants/{variant_id}"]["get"]["x-required-scope"],
            READ
        );
    }
}
