//! The PrintJob aggregate: the facts about a lab ticket that others must hear of. Spooling
//! and delivery are operational state in the lab-print spooler; only a ticket that could not
//! be printed becomes an event (`lab.print_job.failed`), so that staff and partners learn a
//! station's printer needs attention.

use crate::values::{LabStage, StationId, WorkOrderId, WorkOrderNumber};
use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use optical_kernel::TenantId;
use serde::{Deserialize, Serialize};
use thiserror::Error;

optical_kernel::typed_id!(
    /// Identifies a spooled lab ticket.
    PrintJobId
);

bounded_text!(
    /// Why the last attempt failed, as the printer or the network said it.
    PrintFailure, field = "print failure", max = 1000
);

/// Why a print job command was refused.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum PrintJobError {
    #[error("print job not found")]
    PrintJobNotFound,
}

impl PrintJobError {
    pub fn code(&self) -> &'static str {
        match self {
            PrintJobError::PrintJobNotFound => "print_job_not_found",
        }
    }
}

/// The spooler gave up on a ticket after `attempts` tries (in its `reprint`-th round).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordPrintFailure {
    pub tenant_id: TenantId,
    pub print_job_id: PrintJobId,
    pub work_order_id: WorkOrderId,
    pub number: WorkOrderNumber,
    pub station_id: StationId,
    pub stage: LabStage,
    pub reprint: u32,
    pub attempts: u32,
    pub error: PrintFailure,
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PrintJobCommand {
    /// Recording the same round's failure again changes nothing.
    RecordFailure(RecordPrintFailure),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PrintJobEvent {
    PrintJobFailed {
        tenant_id: TenantId,
        print_job_id: PrintJobId,
        work_order_id: WorkOrderId,
        work_order_number: WorkOrderNumber,
        station_id: StationId,
        stage: LabStage,
        /// 0 for the first printing, n for the n-th reprint.
        reprint: u32,
        attempts: u32,
        error: PrintFailure,
        failed_at: DateTime<Utc>,
    },
}

impl PrintJobEvent {
    pub const EVENT_TYPES: [&'static str; 1] = ["lab.print_job.failed"];
}

impl DomainEvent for PrintJobEvent {
    fn event_type(&self) -> String {
        Self::EVENT_TYPES[0].to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// The rounds whose failure was recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PrintJob {
    tenant_id: Option<TenantId>,
    failed_rounds: Vec<u32>,
}

impl PrintJob {
    /// How many times the ticket was given up on.
    pub fn failures(&self) -> usize {
        self.failed_rounds.len()
    }

    fn decide(&self, command: PrintJobCommand) -> Result<Vec<PrintJobEvent>, PrintJobError> {
        let PrintJobCommand::RecordFailure(failure) = command;
        match self.tenant_id {
            Some(tenant) if tenant != failure.tenant_id => {
                return Err(PrintJobError::PrintJobNotFound)
            }
            _ => {}
        }
        if self.failed_rounds.contains(&failure.reprint) {
            return Ok(vec![]);
        }
        Ok(vec![PrintJobEvent::PrintJobFailed {
            tenant_id: failure.tenant_id,
            print_job_id: failure.print_job_id,
            work_order_id: failure.work_order_id,
            work_order_number: failure.number,
            station_id: failure.station_id,
            stage: failure.stage,
            reprint: failure.reprint,
            attempts: failure.attempts,
            error: failure.error,
            failed_at: failure.now,
        }])
    }
}

impl Aggregate for PrintJob {
    const TYPE: &'static str = "lab.print_job";
    type Command = PrintJobCommand;
    type Event = PrintJobEvent;
    type Error = PrintJobError;
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

    fn apply(&mut self, event: Self::Event) {
        let PrintJobEvent::PrintJobFailed {
            tenant_id, reprint, ..
        } = event;
        self.tenant_id.get_or_insert(tenant_id);
        self.failed_rounds.push(reprint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples;
    use cqrs_es::test::TestFramework;

    fn failure(reprint: u32) -> RecordPrintFailure {
        RecordPrintFailure {
            tenant_id: samples::tenant_id(),
            print_job_id: samples::print_job_id(),
            work_order_id: samples::work_order_id(),
            number: samples::number(),
            station_id: samples::station_id(),
            stage: LabStage::Edging,
            reprint,
            attempts: 8,
            error: PrintFailure::new("printer unreachable: connection refused").unwrap(),
            now: samples::at(),
        }
    }

    fn failed(reprint: u32) -> PrintJobEvent {
        let f = failure(reprint);
        PrintJobEvent::PrintJobFailed {
            tenant_id: f.tenant_id,
            print_job_id: f.print_job_id,
            work_order_id: f.work_order_id,
            work_order_number: f.number,
            station_id: f.station_id,
            stage: f.stage,
            reprint: f.reprint,
            attempts: f.attempts,
            error: f.error,
            failed_at: f.now,
        }
    }

    #[test]
    fn a_failure_is_recorded_once_per_round() {
        TestFramework::<PrintJob>::with(())
            .given_no_previous_events()
            .when(PrintJobCommand::RecordFailure(failure(0)))
            .then_expect_events(vec![failed(0)]);
        TestFramework::<PrintJob>::with(())
            .given(vec![failed(0)])
            .when(PrintJobCommand::RecordFailure(failure(0)))
            .then_expect_events(vec![]);
        TestFramework::<PrintJob>::with(())
            .given(vec![failed(0)])
            .when(PrintJobCommand::RecordFailure(failure(1)))
            .then_expect_events(vec![failed(1)]);
    }

    #[test]
    fn another_tenants_print_job_is_not_found() {
        let mut other = failure(1);
        other.tenant_id = TenantId::new();
        TestFramework::<PrintJob>::with(())
            .given(vec![failed(0)])
            .when(PrintJobCommand::RecordFailure(other))
            .then_expect_error(PrintJobError::PrintJobNotFound);
    }
}
