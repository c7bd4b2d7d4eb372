//! Tenancy endpoints: the caller's tenant, its stores, locations and vendors.
use crate::extract::{path_id, IdempotencyKey, JsonBody};
use crate::problem::ApiError;
use crate::respond::{app_error, run_command, Coded, CommandAccepted};
use crate::routes::{schema, Endpoint, Response};
use crate::security::Caller;
use crate::validate::Fields;
use crate::ApiState;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use optical_kernel::{Currency, LocationId, StoreId, VendorId};
use optical_tenancy::{
    CommissionRate, LocaleTag, LocationCommand, LocationKind, LocationName, StoreCode,
    StoreCommand, StoreName, SuspensionReason, TenancyError, TenantCommand, TenantKind, TenantName,
    TenantSettings, VendorCommand, VendorName,
};
use schemars::JsonSchema;
use serde::Deserialize;

const ADMIN: &str = "tenancy:admin";

impl Coded for TenancyError {
    fn code(&self) -> &'static str {
        TenancyError::code(self)
    }
}

/// Operating settings of a tenant; omitted fields take their defaults.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettingsBody {
    /// How long a cart reservation holds stock, 60–86400 seconds (default 900).
    pub reservation_ttl_seconds: Option<u32>,
    /// Most units one reservation may hold, 1–1000 (default 10).
    pub max_reservation_quantity: Option<u32>,
    /// Locale of documents, e.g. `en-GB` (default).
    pub locale: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantKindBody {
    SingleBrand,
    Mall,
}

/// Creates the caller's tenant (the id is the token's `tenant_id`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    pub name: String,
    pub kind: TenantKindBody,
    /// ISO 4217 code, e.g. `EUR`; prices and orders use it.
    pub default_currency: String,
    pub settings: Option<TenantSettingsBody>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub name: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeSettings {
    pub settings: TenantSettingsBody,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenStore {
    pub name: String,
    /// 1–20 characters A–Z, 0–9 and `-`, printed on tickets and receipts.
    pub code: String,
    /// The vendor running the store: required in a mall tenant, absent in a single-brand
    /// one (where the store is its own vendor).
    pub vendor_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationKindBody {
    SalesFloor,
    BackRoom,
    Warehouse,
    Lab,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLocation {
    pub name: String,
    pub kind: LocationKindBody,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterVendor {
    pub name: String,
    /// Commission the mall keeps, in basis points (0–10000 = 0–100 %).
    pub commission_rate_bps: u32,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeCommissionRate {
    pub commission_rate_bps: u32,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendVendor {
    pub reason: String,
}

fn settings(fields: &mut Fields, body: Option<&TenantSettingsBody>) -> Option<TenantSettings> {
    let defaults = TenantSettings::default();
    let Some(body) = body else {
        return Some(defaults);
    };
    let locale = match &body.locale {
        Some(locale) => fields.check("/settings/locale", LocaleTag::new(locale))?,
        None => defaults.locale().clone(),
    };
    fields.check(
        "/settings",
        TenantSettings::new(
            body.reservation_ttl_seconds
                .unwrap_or(defaults.reservation_ttl_seconds()),
            body.max_reservation_quantity
                .unwrap_or(defaults.max_reservation_quantity()),
            locale,
        ),
    )
}

type Api = Result<HttpResponse, ApiError>;

async fn create_tenant(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<CreateTenant>,
) -> Api {
    let mut f = Fields::default();
    let b = &body.value;
    let name = f.check("/name", TenantName::new(&b.name));
    let currency = f.check("/default_currency", b.default_currency.parse::<Currency>());
    let settings = settings(&mut f, b.settings.as_ref());
    let (Some(name), Some(default_currency), Some(settings)) = (name, currency, settings) else {
        return Err(f.error());
    };
    let kind = match b.kind {
        TenantKindBody::SingleBrand => TenantKind::SingleBrand,
        TenantKindBody::Mall => TenantKind::Mall,
    };
    let command = TenantCommand::CreateTenant {
        tenant_id: caller.tenant_id(),
        name,
        kind,
        default_currency,
        settings,
    };
    tenant_command(
        state,
        caller,
        req,
        key,
        &body.raw,
        StatusCode::CREATED,
        command,
    )
    .await
}

async fn tenant_command(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    raw: &[u8],
    success: StatusCode,
    command: TenantCommand,
) -> Api {
    let meta = caller.metadata(state.clock.now());
    let app = state.app.tenancy.clone();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        raw,
        success,
        |idem| async move {
            app.tenant(command, &meta, idem.as_ref())
                .await
                .map_err(app_error)
        },
    )
    .await
}

async fn rename_tenant(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<Rename>,
) -> Api {
    let mut f = Fields::default();
    let Some(name) = f.check("/name", TenantName::new(&body.value.name)) else {
        return Err(f.error());
    };
    let command = TenantCommand::RenameTenant {
        tenant_id: caller.tenant_id(),
        name,
    };
    tenant_command(state, caller, req, key, &body.raw, StatusCode::OK, command).await
}

async fn change_tenant_settings(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<ChangeSettings>,
) -> Api {
    let mut f = Fields::default();
    let Some(settings) = settings(&mut f, Some(&body.value.settings)) else {
        return Err(f.error());
    };
    let command = TenantCommand::ChangeTenantSettings {
        tenant_id: caller.tenant_id(),
        settings,
    };
    tenant_command(state, caller, req, key, &body.raw, StatusCode::OK, command).await
}

async fn open_store(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<OpenStore>,
) -> Api {
    let mut f = Fields::default();
    let b = &body.value;
    let name = f.check("/name", StoreName::new(&b.name));
    let code = f.check("/code", StoreCode::new(&b.code));
    let vendor = f.check_opt(
        "/vendor_id",
        b.vendor_id.as_deref().map(str::parse::<VendorId>),
    );
    let (Some(name), Some(code), Some(vendor_id)) = (name, code, vendor) else {
        return Err(f.error());
    };
    let meta = caller.metadata(state.clock.now());
    let app = state.app.tenancy.clone();
    let store_id = StoreId::new();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        &body.raw,
        StatusCode::CREATED,
        |idem| async move {
            app.open_store(store_id, name, code, vendor_id, &meta, idem.as_ref())
                .await
                .map_err(app_error)
        },
    )
    .await
}

async fn store_command(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    raw: &[u8],
    command: StoreCommand,
) -> Api {
    let store_id: StoreId = path_id(&req, "store_id", "store")?;
    let meta = caller.metadata(state.clock.now());
    let app = state.app.tenancy.clone();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        raw,
        StatusCode::OK,
        |idem| async move {
            app.store(store_id, command, &meta, idem.as_ref())
                .await
                .map_err(app_error)
        },
    )
    .await
}

async fn rename_store(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<Rename>,
) -> Api {
    let mut f = Fields::default();
    let Some(name) = f.check("/name", StoreName::new(&body.value.name)) else {
        return Err(f.error());
    };
    let command = StoreCommand::RenameStore {
        tenant_id: caller.tenant_id(),
        name,
    };
    store_command(state, caller, req, key, &body.raw, command).await
}

async fn close_store(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
) -> Api {
    let command = StoreCommand::CloseStore {
        tenant_id: caller.tenant_id(),
    };
    store_command(state, caller, req, key, &[], command).await
}

async fn add_location(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<AddLocation>,
) -> Api {
    let store_id: StoreId = path_id(&req, "store_id", "store")?;
    let mut f = Fields::default();
    let Some(name) = f.check("/name", LocationName::new(&body.value.name)) else {
        return Err(f.error());
    };
    let kind = match body.value.kind {
        LocationKindBody::SalesFloor => LocationKind::SalesFloor,
        LocationKindBody::BackRoom => LocationKind::BackRoom,
        LocationKindBody::Warehouse => LocationKind::Warehouse,
        LocationKindBody::Lab => LocationKind::Lab,
    };
    let meta = caller.metadata(state.clock.now());
    let app = state.app.tenancy.clone();
    let location_id = LocationId::new();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        &body.raw,
        StatusCode::CREATED,
        |idem| async move {
            app.add_location(location_id, store_id, name, kind, &meta, idem.as_ref())
                .await
                .map_err(app_error)
        },
    )
    .await
}

async fn location_command(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    raw: &[u8],
    command: LocationCommand,
) -> Api {
    let location_id: LocationId = path_id(&req, "location_id", "location")?;
    let meta = caller.metadata(state.clock.now());
    let app = state.app.tenancy.clone();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        raw,
        StatusCode::OK,
        |idem| async move {
            app.location(location_id, command, &meta, idem.as_ref())
                .await
                .map_err(app_error)
        },
    )
    .await
}

async fn rename_location(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<Rename>,
) -> Api {
    let mut f = Fields::default();
    let Some(name) = f.check("/name", LocationName::new(&body.value.name)) else {
        return Err(f.error());
    };
    let command = LocationCommand::RenameLocation {
        tenant_id: caller.tenant_id(),
        name,
    };
    location_command(state, caller, req, key, &body.raw, command).await
}

async fn deactivate_location(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
) -> Api {
    let command = LocationCommand::DeactivateLocation {
        tenant_id: caller.tenant_id(),
    };
    location_command(state, caller, req, key, &[], command).await
}

async fn register_vendor(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<RegisterVendor>,
) -> Api {
    let mut f = Fields::default();
    let name = f.check("/name", VendorName::new(&body.value.name));
    let rate = f.check(
        "/commission_rate_bps",
        CommissionRate::from_basis_points(body.value.commission_rate_bps),
    );
    let (Some(name), Some(rate)) = (name, rate) else {
        return Err(f.error());
    };
    let meta = caller.metadata(state.clock.now());
    let app = state.app.tenancy.clone();
    let vendor_id = VendorId::new();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        &body.raw,
        StatusCode::CREATED,
        |idem| async move {
            app.register_vendor(vendor_id, name, rate, &meta, idem.as_ref())
                .await
                .map_err(app_error)
        },
    )
    .await
}

async fn vendor_command(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    raw: &[u8],
    command: VendorCommand,
) -> Api {
    let vendor_id: VendorId = path_id(&req, "vendor_id", "vendor")?;
    let meta = caller.metadata(state.clock.now());
    let app = state.app.tenancy.clone();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        raw,
        StatusCode::OK,
        |idem| async move {
            app.vendor(vendor_id, command, &meta, idem.as_ref())
                .await
                .map_err(app_error)
        },
    )
    .await
}

async fn change_commission_rate(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<ChangeCommissionRate>,
) -> Api {
    let mut f = Fields::default();
    let Some(commission_rate) = f.check(
        "/commission_rate_bps",
        CommissionRate::from_basis_points(body.value.commission_rate_bps),
    ) else {
        return Err(f.error());
    };
    let command = VendorCommand::ChangeCommissionRate {
        tenant_id: caller.tenant_id(),
        commission_rate,
    };
    vendor_command(state, caller, req, key, &body.raw, command).await
}

async fn suspend_vendor(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<SuspendVendor>,
) -> Api {
    let mut f = Fields::default();
    let Some(reason) = f.check("/reason", SuspensionReason::new(&body.value.reason)) else {
        return Err(f.error());
    };
    let command = VendorCommand::SuspendVendor {
        tenant_id: caller.tenant_id(),
        reason,
    };
    vendor_command(state, caller, req, key, &body.raw, command).await
}

async fn reinstate_vendor(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
) -> Api {
    let command = VendorCommand::ReinstateVendor {
        tenant_id: caller.tenant_id(),
    };
    vendor_command(state, caller, req, key, &[], command).await
}

fn accepted(status: u16, description: &'static str) -> Vec<Response> {
    vec![Response {
        status,
        description,
        body: Some(schema::<CommandAccepted>),
    }]
}

fn conflict(mut responses: Vec<Response>) -> Vec<Response> {
    responses.push(Response {
        status: 404,
        description: "Not found (also for another tenant's ids)",
        body: Some(schema::<crate::problem::Problem>),
    });
    responses.push(Response {
        status: 409,
        description: "The current state does not allow this",
        body: Some(schema::<crate::problem::Problem>),
    });
    responses
}

macro_rules! endpoint {
    ($method:ident $path:literal, $id:literal, $summary:literal, $handler:path, $request:ty, $status:literal) => {
        Endpoint {
            method: Method::$method,
            path: $path,
            operation_id: $id,
            summary: $summary,
            tag: "tenancy",
            scope: Some(ADMIN),
            idempotent: true,
            request: Some(schema::<$request>),
            upload: None,
            responses: conflict(accepted($status, $summary)),
            route: || web::route().to($handler),
        }
    };
    ($method:ident $path:literal, $id:literal, $summary:literal, $handler:path, $status:literal) => {
        Endpoint {
            method: Method::$method,
            path: $path,
            operation_id: $id,
            summary: $summary,
            tag: "tenancy",
            scope: Some(ADMIN),
            idempotent: true,
            request: None,
            upload: None,
            responses: conflict(accepted($status, $summary)),
            route: || web::route().to($handler),
        }
    };
}

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint!(POST "/tenancy/tenant", "createTenant", "Create the caller's tenant", create_tenant, CreateTenant, 201),
        endpoint!(PUT "/tenancy/tenant/name", "renameTenant", "Rename the tenant", rename_tenant, Rename, 200),
        endpoint!(PUT "/tenancy/tenant/settings", "changeTenantSettings", "Replace the tenant's settings", change_tenant_settings, ChangeSettings, 200),
        endpoint!(POST "/tenancy/stores", "openStore", "Open a store", open_store, OpenStore, 201),
        endpoint!(PUT "/tenancy/stores/{store_id}/name", "renameStore", "Rename a store", rename_store, Rename, 200),
        endpoint!(POST "/tenancy/stores/{store_id}/close", "closeStore", "Close a store", close_store, 200),
        endpoint!(POST "/tenancy/stores/{store_id}/locations", "addLocation", "Add a stock location to a store", add_location, AddLocation, 201),
        endpoint!(PUT "/tenancy/locations/{location_id}/name", "renameLocation", "Rename a location", rename_location, Rename, 200),
        endpoint!(POST "/tenancy/locations/{location_id}/deactivate", "deactivateLocation", "Deactivate a location", deactivate_location, 200),
        endpoint!(POST "/tenancy/vendors", "registerVendor", "Register a vendor (mall tenants)", register_vendor, RegisterVendor, 201),
        endpoint!(PUT "/tenancy/vendors/{vendor_id}/commission-rate", "changeCommissionRate", "Change a vendor's commission rate", change_commission_rate, ChangeCommissionRate, 200),
        endpoint!(POST "/tenancy/vendors/{vendor_id}/suspend", "suspendVendor", "Suspend a vendor", suspend_vendor, SuspendVendor, 200),
        endpoint!(POST "/tenancy/vendors/{vendor_id}/reinstate", "reinstateVendor", "Reinstate a suspended vendor", reinstate_vendor, 200),
    ]
}
