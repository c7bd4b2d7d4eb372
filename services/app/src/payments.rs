//! Payment use cases: the saga requests the payment of a placed order; staff confirm bank
//! transfers and collect cash on delivery; a provider's webhook confirms transfers; refunds.
//!
//! One payment per order: its id is the order's UUID, so every context can name it without
//! a lookup and a repeated request lands on the same stream.
use crate::catalog::CACHE_CAPACITY;
use crate::command::{execute, load_fresh, AppError, Idempotency, Receipt};
use optical_event_store::{CachedEventStore, PgEventRepository};
use optical_kernel::{Clock, EventMetadata, Money, OrderId, PaymentId, TenantId};
use optical_payments::{
    Actor, ConfirmationSource, Payment, PaymentCommand, PaymentError, PaymentMethod,
    PaymentReference, RefundId, RefundReason, VoidReason,
};
use std::sync::Arc;

/// The payment of an order.
pub fn payment_id_of(order_id: OrderId) -> PaymentId {
    PaymentId::from_uuid(*order_id.as_uuid())
}

pub struct PaymentsApp {
    payments: CachedEventStore<PgEventRepository, Payment>,
    repository: PgEventRepository,
    clock: Arc<dyn Clock>,
}

type Rejection = AppError<PaymentError>;

impl PaymentsApp {
    pub fn new(repository: PgEventRepository, clock: Arc<dyn Clock>) -> Self {
        Self {
            payments: CachedEventStore::new(repository.clone(), CACHE_CAPACITY),
            repository,
            clock,
        }
    }

    async fn run(
        &self,
        order_id: OrderId,
        command: PaymentCommand,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        execute(
            &self.payments,
            "payment",
            payment_id_of(order_id).to_string(),
            command.tenant_id(),
            command,
            meta,
            idempotency,
        )
        .await
    }

    /// Expects the order's amount by the order's method (the saga, on placement).
    pub async fn request(
        &self,
        order_id: OrderId,
        method: PaymentMethod,
        amount: Money,
        meta: &EventMetadata,
    ) -> Result<Receipt, Rejection> {
        let command = PaymentCommand::RequestPayment {
            tenant_id: meta.tenant_id,
            payment_id: payment_id_of(order_id),
            order_id,
            method,
            amount,
            now: self.clock.now(),
        };
        self.run(order_id, command, meta, None).await
    }

    /// A bank transfer arrived, confirmed by staff or by the provider's webhook.
    pub async fn confirm_transfer(
        &self,
        order_id: OrderId,
        source: ConfirmationSource,
        reference: PaymentReference,
        amount: Money,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let command = PaymentCommand::ConfirmBankTransfer {
            tenant_id: meta.tenant_id,
            source,
            reference,
            amount,
            now: self.clock.now(),
        };
        self.run(order_id, command, meta, idempotency).await
    }

    /// Cash collected on delivery.
    pub async fn collect(
        &self,
        order_id: OrderId,
        collected_by: Actor,
        amount: Money,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let command = PaymentCommand::CollectCashOnDelivery {
            tenant_id: meta.tenant_id,
            collected_by,
            amount,
            now: self.clock.now(),
        };
        self.run(order_id, command, meta, idempotency).await
    }

    /// Gives money back; the same `refund_id` twice refunds once.
    pub async fn refund(
        &self,
        order_id: OrderId,
        refund_id: RefundId,
        amount: Money,
        reason: RefundReason,
        meta: &EventMetadata,
        idempotency: Option<&Idempotency>,
    ) -> Result<Receipt, Rejection> {
        let command = PaymentCommand::Refund {
            tenant_id: meta.tenant_id,
            refund_id,
            amount,
            reason,
            now: self.clock.now(),
        };
        self.run(order_id, command, meta, idempotency).await
    }

    /// Cancels a payment that was never captured.
    pub async fn void(
        &self,
        order_id: OrderId,
        reason: VoidReason,
        meta: &EventMetadata,
    ) -> Result<Receipt, Rejection> {
        let command = PaymentCommand::Void {
            tenant_id: meta.tenant_id,
            reason,
            now: self.clock.now(),
        };
        self.run(order_id, command, meta, None).await
    }

    /// The payment read from its stream, as the tenant may see it.
    pub async fn payment(
        &self,
        tenant_id: TenantId,
        order_id: OrderId,
    ) -> Result<Option<Payment>, Rejection> {
        let payment = self.load(payment_id_of(order_id)).await?;
        Ok((payment.tenant_id() == Some(tenant_id)).then_some(payment))
    }

    /// The payment whatever its tenant: for a provider's webhook, which names our payment
    /// id and is authenticated by its signature rather than by a tenant's token.
    pub async fn payment_by_id(&self, payment_id: PaymentId) -> Result<Option<Payment>, Rejection> {
        let payment = self.load(payment_id).await?;
        Ok(payment.tenant_id().is_some().then_some(payment))
    }

    async fn load(&self, payment_id: PaymentId) -> Result<Payment, Rejection> {
        load_fresh(&self.repository, &payment_id.to_string()).await
    }
}
