//! Tenancy domain: the Tenant, Store, Location and Vendor aggregates (one event stream each),
//! their commands, events (`tenancy.tenant.*`, `tenancy.store.*`, `tenancy.location.*`,
//! `tenancy.vendor.*`) and the value objects they are made of — names, store codes, locale,
//! tenant settings and commission rates.
//!
//! Owns: who the tenants are and how they trade (`single_brand` or `mall`, default currency,
//! reservation settings), which stores and stock locations they have, and which vendors sell in
//! a mall at what commission. In a single-brand tenant every store is its own vendor (same
//! UUID, no commission), so downstream contexts split orders per vendor the same way in both
//! kinds. Every value is validated when built and again when deserialised.
//!
//! Must never: perform I/O (no SQL, Kafka, HTTP), read a clock (time travels in event
//! metadata), or depend on another context's crate. Facts about another aggregate — the tenant
//! of a store, the vendor that runs it, the store of a location — are passed in by the
//! application as [`TenantRef`], [`VendorRef`] and [`StoreRef`]. Another tenant's aggregate is
//! always answered with that aggregate's "not found", so ids do not leak across tenants.
//!
//! The published Avro contract for these events lives in `schemas/avro/tenancy/`; the
//! [`samples`] module gives one instance of every event shape for codec tests.

mod error;
mod location;
pub mod samples;
mod store;
mod tenant;
mod values;
mod vendor;

pub use error::{TenancyError, ValueError};
pub use location::{Location, LocationCommand, LocationEvent, LocationRef};
pub use optical_kernel::{LocationId, StoreId, TenantId, VendorId};
pub use store::{Store, StoreCommand, StoreEvent, StoreRef};
pub use tenant::{Tenant, TenantCommand, TenantEvent, TenantRef};
pub use values::{
    CommissionRate, LocaleTag, LocationKind, LocationName, StoreCode, StoreName, SuspensionReason,
    TenantKind, TenantName, TenantSettings, VendorName,
};
pub use vendor::{Vendor, VendorCommand, VendorEvent, VendorRef};
