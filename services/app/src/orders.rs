//! Order use cases: placement from reserved items with patient and prescription snapshots
//! copied through the Customers facade, and the staff-driven steps of the lifecycle. The
//! steps driven by other contexts' events (payment → paid, lab, compensation) are the saga's.
use crate::catalog::{CatalogApp, CACHE_CAPACITY};
use crate::command::{execute, load_fresh, AppError, Idempotency, Receipt};
use crate::customers::CustomersApp;
use crate::inventory::InventoryApp;
use crate::tenancy::TenancyApp;
use optical_catalog::ProductKind;
use optical_event_store::{CachedEventStore, PgEventRepository};
use optical_inventory::ReservationStatus;
use optical_kernel::{
    Clock, EventMetadata, OrderId, PatientId, PrescriptionId, ReservationId, StoreId, TenantId,
    VariantId,
};
use optical_orders::{
    CancelReason, Carrier, LineDescription, LineKind, Order, OrderCommand, OrderError, OrderLine,
    PaymentMethod, PlaceOrder, Quantity, TrackingNumber,
};
use std::sync::Arc;

/// Why an order use case was refused: by the order, or because what it names (a store, a
/// reservation, a patient, a prescription) is missing, ended or unusable for the tenant.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OrderRejection {
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error("store not found")]
    StoreNotFound,
    #[error("the store is closed")]
    StoreClosed,
    #[error("reservation {0} is not active (released, expired, committed or unknown)")]
    ReservationNotActive(ReservationId),
    #[error("variant {0} not found")]
    VariantNotFound(VariantId),
    #[error("variant {0} has no price")]
    VariantNotPriced(VariantId),
    #[error("patient not found")]
    PatientNotFound,
    #[error("prescription not found")]
    PrescriptionNotFound,
    #[error("the prescription was voided")]
    PrescriptionVoided,
    #[error("the prescription belongs to another patient")]
    PrescriptionOfAnotherPatient,
    #[error("a prescription needs a patient")]
    PrescriptionWithoutPatient,
    #[error("a patient's data does not fit an order snapshot: {0}")]
    Snapshot(String),
}

impl OrderRejection {
    pub fn code(&self) -> &'static str {
        match self {
            OrderRejection::Order(e) => e.code(),
            OrderRejection::StoreNotFound => "store_not_found",
            OrderRejection::StoreClosed => "store_closed",
            OrderRejection::ReservationNotActive(_) => "reservation_not_active",
            OrderRejection::VariantNotFound(_) => "variant_not_found",
            OrderRejection::VariantNotPriced(_) => "variant_not_priced",
            OrderRejection::PatientNotFound => "patient_not_found",
            OrderRejection::PrescriptionNotFound => "prescription_not_found",
            OrderRejection::PrescriptionVoided => "prescription_voided",
            OrderRejection::PrescriptionOfAnotherPatient => "prescription_subject_mismatch",
            OrderRejection::PrescriptionWithoutPatient => "patient_required",
            OrderRejection::Snapshot(_) => "snapshot_invalid",
        }
    }
}

type Rejection = AppError<OrderRejection>;

/// An order as the caller asks for it: the reservations (of the caller's cart) become lines
/// at the variants' current prices.
#[derive(Clone, Debug, PartialEq)]
pub struct NewOrder {
    pub order_id: OrderId,
    pub store_id: StoreId,
    pub payment_method: PaymentMethod,
    pub reservations: Vec<ReservationId>,
    pub patient_id: Option<PatientId>,
    pub prescription_id: Option<PrescriptionId>,
}

pub struct OrdersApp {
    orders: CachedEventStore<PgEventRepository, Order>,
    repository: PgEventRepository,
    tenancy: Arc<TenancyApp>,
    catalog: Arc<CatalogApp>,
    inventory: Arc<InventoryApp>,
    customers: Arc<CustomersApp>,
    clock: Arc<dyn Clock>,
}

fn line_kind(kind: ProductKind) -> LineKind {
    match kind {
        ProductKind::Frame => LineKind::Frame,
        ProductKind::OphthalmicLens => LineKind::OphthalmicLens,
        ProductKind::ContactLens => LineKind::ContactLens,
        ProductKind::Accessory => LineKind::Accessory,
        ProductKind::Digital => LineKind::Digital,
    }
}

impl OrdersApp {
    pub fn new(
        repository: PgEventRepository,
        tenancy: Arc<TenancyApp>,
        catalog: Arc<CatalogApp>,
        inventory: Arc<InventoryApp>,
        customers: Arc<CustomersApp>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            orders: CachedEventStore::new(repository.clone(), CACHE_CAPACITY),
            repository,
            tenancy,
            catalog,
            inventory,
            customers,
            clock,
        }
    }

    /// Places an order from active reservations. The reservations are committed by the saga
    /// once `orders.order.placed` is out, so placement is one append.
    pub async fn place(
        &self,
        new: NewOrder,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let tenant_id = meta.tenant_id;
        let tenant = self
            .tenancy
            .tenant_ref(tenant_id)
            .await
            .map_err(|e| e.map_rejection(|_| OrderRejection::StoreNotFound))?;
        let store = self
            .tenancy
            .store_ref(tenant_id, new.store_id)
            .await
            .map_err(|e| e.map_rejection(|_| OrderRejection::StoreNotFound))?;
        if !store.open {
            return Err(AppError::Rejected(OrderRejection::StoreClosed));
        }
        // A reservation named twice becomes two lines: the order rejects the duplicate.
        let mut lines = Vec::with_capacity(new.reservations.len());
        for reservation_id in &new.reservations {
            lines.push(self.line(tenant_id, *reservation_id).await?);
        }
        let (patient, prescription) = match (new.patient_id, new.prescription_id) {
            (None, None) => (None, None),
            (None, Some(_)) => {
                return Err(AppError::Rejected(
                    OrderRejection::PrescriptionWithoutPatient,
                ))
            }
            (Some(patient_id), prescription_id) => {
                let (patient, prescription) = self
                    .customers
                    .order_snapshots(tenant_id, patient_id, prescription_id)
                    .await?;
                (Some(patient), prescription)
            }
        };
        let command = OrderCommand::PlaceOrder(Box::new(PlaceOrder {
            tenant_id,
            order_id: new.order_id,
            store_id: new.store_id,
            currency: tenant.default_currency,
            payment_method: new.payment_method,
            lines,
            patient,
            prescription,
            now: self.clock.now(),
        }));
        self.run(new.order_id, command, meta, idempotency).await
    }

    /// One order line from an active reservation, at the variant's current price.
    async fn line(
        &self,
        tenant_id: TenantId,
        reservation_id: ReservationId,
    ) -> Result<OrderLine, Rejection> {
        let not_active =
            || AppError::Rejected(OrderRejection::ReservationNotActive(reservation_id));
        let (key, level) = self
            .inventory
            .reservation(tenant_id, reservation_id)
            .await
            .map_err(|e| e.map_rejection(|_| OrderRejection::ReservationNotActive(reservation_id)))?
            .ok_or_else(not_active)?;
        let Some(ReservationStatus::Active(reservation)) = level.reservation_status(reservation_id)
        else {
            return Err(not_active());
        };
        let variant_id = key.variant_id;
        let variant = self
            .catalog
            .variant_state(tenant_id, variant_id)
            .await
            .map_err(|e| e.map_rejection(|_| OrderRejection::VariantNotFound(variant_id)))?
            .ok_or(AppError::Rejected(OrderRejection::VariantNotFound(
                variant_id,
            )))?;
        let price = variant
            .price()
            .ok_or(AppError::Rejected(OrderRejection::VariantNotPriced(
                variant_id,
            )))?;
        let product_id =
            variant
                .product_id()
                .ok_or(AppError::Rejected(OrderRejection::VariantNotFound(
                    variant_id,
                )))?;
        let product = self
            .catalog
            .product_state(tenant_id, product_id)
            .await
            .map_err(|e| e.map_rejection(|_| OrderRejection::VariantNotFound(variant_id)))?
            .ok_or(AppError::Rejected(OrderRejection::VariantNotFound(
                variant_id,
            )))?;
        let kind = product
            .product_ref()
            .map(|p| line_kind(p.kind))
            .ok_or(AppError::Rejected(OrderRejection::VariantNotFound(
                variant_id,
            )))?;
        let name = product.name().map(|n| n.to_string()).unwrap_or_default();
        let sku = variant.sku().map(|s| s.to_string()).unwrap_or_default();
        let text: String = format!("{name} ({sku})").chars().take(300).collect();
        let description = LineDescription::new(text)
            .map_err(|e| AppError::Rejected(OrderRejection::Snapshot(e.to_string())))?;
        let quantity = Quantity::new(reservation.quantity.get())
            .map_err(|e| AppError::Rejected(OrderRejection::Snapshot(e.to_string())))?;
        Ok(OrderLine {
            variant_id,
            location_id: key.location_id,
            reservation_id,
            quantity,
            unit_price: price,
            kind,
            description,
        })
    }

    async fn run(
        &self,
        order_id: OrderId,
        command: OrderCommand,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        execute(
            &self.orders,
            "order",
            order_id.to_string(),
            command.tenant_id(),
            command,
            meta,
            idempotency,
        )
        .await
        .map_err(|e| e.map_rejection(OrderRejection::Order))
    }

    /// Runs a lifecycle command built from the caller's tenant and the clock.
    pub async fn transition(
        &self,
        order_id: OrderId,
        step: OrderStep,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let (tenant_id, now) = (meta.tenant_id, self.clock.now());
        let command = match step {
            OrderStep::MarkPaid(payment_id) => OrderCommand::MarkPaid {
                tenant_id,
                payment_id,
                now,
            },
            OrderStep::SendToLab => OrderCommand::SendToLab { tenant_id, now },
            OrderStep::MarkReady => OrderCommand::MarkReady { tenant_id, now },
            OrderStep::Ship {
                carrier,
                tracking_number,
            } => OrderCommand::Ship {
                tenant_id,
                carrier,
                tracking_number,
                now,
            },
            OrderStep::Complete => OrderCommand::Complete { tenant_id, now },
            OrderStep::Cancel(reason) => OrderCommand::Cancel {
                tenant_id,
                reason,
                now,
            },
            OrderStep::RecordStockShortfall(reservation_id) => OrderCommand::RecordStockShortfall {
                tenant_id,
                reservation_id,
                now,
            },
        };
        self.run(order_id, command, meta, idempotency).await
    }

    /// The order read from its stream (never from the cache, so an erasure elsewhere shows),
    /// as the tenant may see it.
    pub async fn order(
        &self,
        tenant_id: TenantId,
        order_id: OrderId,
    ) -> Result<Option<Order>, Rejection> {
        let order: Order = load_fresh(&self.repository, &order_id.to_string()).await?;
        Ok((order.tenant_id() == Some(tenant_id)).then_some(order))
    }
}

/// A step of the order's lifecycle after placement.
#[derive(Clone, Debug, PartialEq)]
pub enum OrderStep {
    MarkPaid(optical_kernel::PaymentId),
    SendToLab,
    MarkReady,
    Ship {
        carrier: Carrier,
        tracking_number: TrackingNumber,
    },
    Complete,
    Cancel(CancelReason),
    RecordStockShortfall(ReservationId),
}
