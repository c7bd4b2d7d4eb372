//! The Payment aggregate: the money of one order — asked for, captured once, refunded in parts
//! up to what was captured, or voided before capture.

use crate::error::PaymentError;
use crate::values::{
    Actor, ConfirmationSource, PaymentMethod, PaymentReference, PaymentStatus, ProviderEventId,
    ProviderName, RefundId, RefundReason, VoidReason,
};
use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use optical_kernel::{Money, OrderId, PaymentId, TenantId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Every command names the caller's tenant: another tenant's payment is answered as not found.
/// Every command carries `now`, read by the application from its clock; it is recorded in the
/// event as the business time of the fact.
#[derive(Clone, Debug, PartialEq)]
pub enum PaymentCommand {
    /// Asks for the money of an order; creates the payment. Repeating the same request is a
    /// no-op, so a restarted saga is harmless.
    RequestPayment {
        tenant_id: TenantId,
        payment_id: PaymentId,
        order_id: OrderId,
        method: PaymentMethod,
        amount: Money,
        now: DateTime<Utc>,
    },
    /// Captures a bank transfer for exactly the amount due. The same provider event delivered
    /// again is a no-op; any other second confirmation is refused.
    ConfirmBankTransfer {
        tenant_id: TenantId,
        source: ConfirmationSource,
        reference: PaymentReference,
        amount: Money,
        now: DateTime<Utc>,
    },
    /// Captures cash on delivery for exactly the amount due.
    CollectCashOnDelivery {
        tenant_id: TenantId,
        collected_by: Actor,
        amount: Money,
        now: DateTime<Utc>,
    },
    /// Gives back part or all of the captured money. `refund_id` is chosen by the caller (the
    /// refund saga derives it deterministically): the same id again is a no-op.
    Refund {
        tenant_id: TenantId,
        refund_id: RefundId,
        amount: Money,
        reason: RefundReason,
        now: DateTime<Utc>,
    },
    /// Calls the payment off before capture; voiding a voided payment is a no-op.
    Void {
        tenant_id: TenantId,
        reason: VoidReason,
        now: DateTime<Utc>,
    },
}

impl PaymentCommand {
    /// The tenant the command is issued for.
    pub fn tenant_id(&self) -> TenantId {
        match self {
            PaymentCommand::RequestPayment { tenant_id, .. }
            | PaymentCommand::ConfirmBankTransfer { tenant_id, .. }
            | PaymentCommand::CollectCashOnDelivery { tenant_id, .. }
            | PaymentCommand::Refund { tenant_id, .. }
            | PaymentCommand::Void { tenant_id, .. } => *tenant_id,
        }
    }
}

/// Every event names its payment and the order it pays, so that the order saga and
/// projections need no state of their own to route it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PaymentEvent {
    PaymentRequested {
        tenant_id: TenantId,
        payment_id: PaymentId,
        order_id: OrderId,
        method: PaymentMethod,
        amount: Money,
        requested_at: DateTime<Utc>,
    },
    /// A bank transfer was captured.
    PaymentConfirmed {
        payment_id: PaymentId,
        order_id: OrderId,
        source: ConfirmationSource,
        reference: PaymentReference,
        amount: Money,
        confirmed_at: DateTime<Utc>,
    },
    /// Cash on delivery was captured.
    PaymentCollected {
        payment_id: PaymentId,
        order_id: OrderId,
        collected_by: Actor,
        amount: Money,
        collected_at: DateTime<Utc>,
    },
    /// Money was given back; `refunded_total` and `status` are the facts after it.
    PaymentRefunded {
        payment_id: PaymentId,
        order_id: OrderId,
        refund_id: RefundId,
        amount: Money,
        reason: RefundReason,
        refunded_total: Money,
        status: PaymentStatus,
        refunded_at: DateTime<Utc>,
    },
    PaymentVoided {
        payment_id: PaymentId,
        order_id: OrderId,
        reason: VoidReason,
        voided_at: DateTime<Utc>,
    },
}

impl PaymentEvent {
    /// Every `event_type()` this enum can return.
    pub const EVENT_TYPES: [&'static str; 5] = [
        "payments.payment.requested",
        "payments.payment.confirmed",
        "payments.payment.collected",
        "payments.payment.refunded",
        "payments.payment.voided",
    ];

    /// The payment the event belongs to; its string form is the aggregate id.
    pub fn payment_id(&self) -> PaymentId {
        let (PaymentEvent::PaymentRequested { payment_id, .. }
        | PaymentEvent::PaymentConfirmed { payment_id, .. }
        | PaymentEvent::PaymentCollected { payment_id, .. }
        | PaymentEvent::PaymentRefunded { payment_id, .. }
        | PaymentEvent::PaymentVoided { payment_id, .. }) = self;
        *payment_id
    }

    /// The order the payment is for.
    pub fn order_id(&self) -> OrderId {
        let (PaymentEvent::PaymentRequested { order_id, .. }
        | PaymentEvent::PaymentConfirmed { order_id, .. }
        | PaymentEvent::PaymentCollected { order_id, .. }
        | PaymentEvent::PaymentRefunded { order_id, .. }
        | PaymentEvent::PaymentVoided { order_id, .. }) = self;
        *order_id
    }
}

impl DomainEvent for PaymentEvent {
    fn event_type(&self) -> String {
        let [requested, confirmed, collected, refunded, voided] = Self::EVENT_TYPES;
        match self {
            PaymentEvent::PaymentRequested { .. } => requested,
            PaymentEvent::PaymentConfirmed { .. } => confirmed,
            PaymentEvent::PaymentCollected { .. } => collected,
            PaymentEvent::PaymentRefunded { .. } => refunded,
            PaymentEvent::PaymentVoided { .. } => voided,
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// A payment's decision state. `None` until it is requested.
///
/// Invariant: `refunded <= captured <= amount_due`, all in the currency of the amount due;
/// `captured` is either zero or the amount due.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    state: Option<PaymentState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct PaymentState {
    tenant_id: TenantId,
    payment_id: PaymentId,
    order_id: OrderId,
    method: PaymentMethod,
    amount_due: Money,
    status: PaymentStatus,
    captured: Money,
    /// The webhook event that captured the payment, to recognise its redelivery.
    captured_by_provider: Option<(ProviderName, ProviderEventId)>,
    refunded: Money,
    refunds: BTreeMap<RefundId, Money>,
}

impl Payment {
    pub fn tenant_id(&self) -> Option<TenantId> {
        self.state.as_ref().map(|s| s.tenant_id)
    }

    pub fn payment_id(&self) -> Option<PaymentId> {
        self.state.as_ref().map(|s| s.payment_id)
    }

    pub fn order_id(&self) -> Option<OrderId> {
        self.state.as_ref().map(|s| s.order_id)
    }

    pub fn method(&self) -> Option<PaymentMethod> {
        self.state.as_ref().map(|s| s.method)
    }

    /// `None` until the payment is requested.
    pub fn status(&self) -> Option<PaymentStatus> {
        self.state.as_ref().map(|s| s.status)
    }

    /// The amount asked for.
    pub fn amount_due(&self) -> Option<Money> {
        self.state.as_ref().map(|s| s.amount_due)
    }

    /// The amount received: zero (in the payment's currency) until capture, then the amount due.
    pub fn captured(&self) -> Option<Money> {
        self.state.as_ref().map(|s| s.captured)
    }

    /// The sum of all refunds, in the payment's currency.
    pub fn refunded(&self) -> Option<Money> {
        self.state.as_ref().map(|s| s.refunded)
    }

    /// What may still be refunded: captured minus refunded.
    pub fn refundable(&self) -> Option<Money> {
        self.state.as_ref().and_then(|s| {
            Money::new(
                s.captured.amount_minor() - s.refunded.amount_minor(),
                s.captured.currency(),
            )
            .ok()
        })
    }

    /// The amount of a refund already made.
    pub fn refund(&self, refund_id: RefundId) -> Option<Money> {
        self.state
            .as_ref()
            .and_then(|s| s.refunds.get(&refund_id).copied())
    }

    /// The payment as the given tenant may see it: `Ok(None)` if it does not exist yet,
    /// not found if it belongs to someone else.
    fn visible(&self, tenant_id: TenantId) -> Result<Option<&PaymentState>, PaymentError> {
        match &self.state {
            Some(state) if state.tenant_id != tenant_id => Err(PaymentError::PaymentNotFound),
            state => Ok(state.as_ref()),
        }
    }

    fn existing(&self, tenant_id: TenantId) -> Result<&PaymentState, PaymentError> {
        self.visible(tenant_id)?
            .ok_or(PaymentError::PaymentNotFound)
    }

    fn positive(amount: Money) -> Result<Money, PaymentError> {
        if amount.amount_minor() <= 0 {
            return Err(PaymentError::AmountNotPositive(amount));
        }
        Ok(amount)
    }

    /// The checks shared by both ways of capturing: right method, not voided, not captured
    /// yet, exactly the amount due.
    fn capturable(
        state: &PaymentState,
        method: PaymentMethod,
        amount: Money,
    ) -> Result<(), PaymentError> {
        if state.method != method {
            return Err(PaymentError::MethodMismatch {
                expected: method,
                actual: state.method,
            });
        }
        match state.status {
            PaymentStatus::Voided => return Err(PaymentError::PaymentVoided),
            status if status.is_captured() => return Err(PaymentError::AlreadyCaptured),
            _ => {}
        }
        if amount != state.amount_due {
            return Err(PaymentError::AmountMismatch {
                due: state.amount_due,
                offered: amount,
            });
        }
        Ok(())
    }

    fn decide(&self, command: PaymentCommand) -> Result<Vec<PaymentEvent>, PaymentError> {
        match command {
            PaymentCommand::RequestPayment {
                tenant_id,
                payment_id,
                order_id,
                method,
                amount,
                now,
            } => {
                if let Some(state) = self.visible(tenant_id)? {
                    let same = state.payment_id == payment_id
                        && state.order_id == order_id
                        && state.method == method
                        && state.amount_due == amount;
                    return if same {
                        Ok(vec![])
                    } else {
                        Err(PaymentError::PaymentAlreadyRequested)
                    };
                }
                Ok(vec![PaymentEvent::PaymentRequested {
                    tenant_id,
                    payment_id,
                    order_id,
                    method,
                    amount: Self::positive(amount)?,
                    requested_at: now,
                }])
            }
            PaymentCommand::ConfirmBankTransfer {
                tenant_id,
                source,
                reference,
                amount,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                // A webhook delivered again is the same fact, whatever else it says.
                if let (Some(captured_by), Some((provider, event_id))) =
                    (&state.captured_by_provider, source.provider_event())
                {
                    if captured_by.0 == *provider && captured_by.1 == *event_id {
                        return Ok(vec![]);
                    }
                }
                Self::capturable(state, PaymentMethod::BankTransfer, amount)?;
                Ok(vec![PaymentEvent::PaymentConfirmed {
                    payment_id: state.payment_id,
                    order_id: state.order_id,
                    source,
                    reference,
                    amount,
                    confirmed_at: now,
                }])
            }
            PaymentCommand::CollectCashOnDelivery {
                tenant_id,
                collected_by,
                amount,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                Self::capturable(state, PaymentMethod::Cod, amount)?;
                Ok(vec![PaymentEvent::PaymentCollected {
                    payment_id: state.payment_id,
                    order_id: state.order_id,
                    collected_by,
                    amount,
                    collected_at: now,
                }])
            }
            PaymentCommand::Refund {
                tenant_id,
                refund_id,
                amount,
                reason,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                if state.refunds.contains_key(&refund_id) {
                    return Ok(vec![]);
                }
                match state.status {
                    PaymentStatus::Voided => return Err(PaymentError::PaymentVoided),
                    status if !status.is_captured() => {
                        return Err(PaymentError::NotCaptured(status))
                    }
                    _ => {}
                }
                if amount.currency() != state.captured.currency() {
                    return Err(PaymentError::CurrencyMismatch {
                        expected: state.captured.currency(),
                        actual: amount.currency(),
                    });
                }
                let amount = Self::positive(amount)?;
                let exceeds = || PaymentError::RefundExceedsCaptured {
                    captured: state.captured,
                    refunded: state.refunded,
                    requested: amount,
                };
                let refunded_total = state.refunded.checked_add(amount).map_err(|_| exceeds())?;
                let status = match refunded_total.try_cmp(&state.captured) {
                    Ok(std::cmp::Ordering::Less) => PaymentStatus::PartiallyRefunded,
                    Ok(std::cmp::Ordering::Equal) => PaymentStatus::Refunded,
                    _ => return Err(exceeds()),
                };
                Ok(vec![PaymentEvent::PaymentRefunded {
                    payment_id: state.payment_id,
                    order_id: state.order_id,
                    refund_id,
                    amount,
                    reason,
                    refunded_total,
                    status,
                    refunded_at: now,
                }])
            }
            PaymentCommand::Void {
                tenant_id,
                reason,
                now,
            } => {
                let state = self.existing(tenant_id)?;
                match state.status {
                    PaymentStatus::Voided => Ok(vec![]),
                    PaymentStatus::Requested => Ok(vec![PaymentEvent::PaymentVoided {
                        payment_id: state.payment_id,
                        order_id: state.order_id,
                        reason,
                        voided_at: now,
                    }]),
                    _ => Err(PaymentError::AlreadyCaptured),
                }
            }
        }
    }
}

impl Aggregate for Payment {
    const TYPE: &'static str = "payments.payment";
    type Command = PaymentCommand;
    type Event = PaymentEvent;
    type Error = PaymentError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    // Totals in an event are the facts after it; applying takes them as they are.
    fn apply(&mut self, event: Self::Event) {
        if let PaymentEvent::PaymentRequested {
            tenant_id,
            payment_id,
            order_id,
            method,
            amount,
            ..
        } = &event
        {
            // Zero of a valid currency is a valid amount.
            let Ok(zero) = Money::new(0, amount.currency()) else {
                return;
            };
            self.state.get_or_insert_with(|| PaymentState {
                tenant_id: *tenant_id,
                payment_id: *payment_id,
                order_id: *order_id,
                method: *method,
                amount_due: *amount,
                status: PaymentStatus::Requested,
                captured: zero,
                captured_by_provider: None,
                refunded: zero,
                refunds: BTreeMap::new(),
            });
        }
        let Some(state) = &mut self.state else {
            return;
        };
        match event {
            PaymentEvent::PaymentRequested { .. } => {}
            PaymentEvent::PaymentConfirmed { source, amount, .. } => {
                state.status = PaymentStatus::Captured;
                state.captured = amount;
                state.captured_by_provider = match source {
                    ConfirmationSource::Provider {
                        provider,
                        provider_event_id,
                    } => Some((provider, provider_event_id)),
                    ConfirmationSource::Staff { .. } => None,
                };
            }
            PaymentEvent::PaymentCollected { amount, .. } => {
                state.status = PaymentStatus::Captured;
                state.captured = amount;
            }
            PaymentEvent::PaymentRefunded {
                refund_id,
                amount,
                refunded_total,
                status,
                ..
            } => {
                state.refunds.insert(refund_id, amount);
                state.refunded = refunded_total;
                state.status = status;
            }
            PaymentEvent::PaymentVoided { .. } => state.status = PaymentStatus::Voided,
        }
    }
}

#[cfg(test)]
mod tests;
