//! The Station aggregate: a place in the lab that serves some stages and prints tickets for
//! the work orders that arrive there.

use crate::error::{StationError, ValueError};
use crate::values::{LabStage, StationId, StationName};
use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use optical_kernel::TenantId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

wire_enum!(
    /// How tickets reach the station's printer.
    PrinterProtocol {
        /// ESC/POS bytes over a raw TCP socket (port 9100), for thermal receipt printers.
        EscposTcp => "escpos_tcp",
        /// IPP Print-Job to an IPP Everywhere printer or a CUPS queue.
        Ipp => "ipp",
    }
);

wire_enum!(
    /// The paper the printer holds.
    PaperWidth {
        /// 58 mm thermal roll (32 columns).
        Roll58 => "roll58",
        /// 80 mm thermal roll (48 columns in font A).
        Roll80 => "roll80",
        /// A6 sheets (105 × 148 mm), PDF only.
        A6 => "a6",
    }
);

wire_enum!(
    /// A rendering of the ticket.
    TicketFormat {
        Escpos => "escpos",
        Pdf => "pdf",
    }
);

/// A station's printer. The protocol decides what is sent: ESC/POS to raw TCP printers, PDF to
/// IPP printers; a PDF listed beside ESC/POS is rendered too and kept for download.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PrinterRepr")]
pub struct Printer {
    protocol: PrinterProtocol,
    address: String,
    paper: PaperWidth,
    ticket_formats: Vec<TicketFormat>,
}

#[derive(Deserialize)]
struct PrinterRepr {
    protocol: PrinterProtocol,
    address: String,
    paper: PaperWidth,
    ticket_formats: Vec<TicketFormat>,
}

impl TryFrom<PrinterRepr> for Printer {
    type Error = ValueError;
    fn try_from(r: PrinterRepr) -> Result<Self, Self::Error> {
        Self::new(r.protocol, r.address, r.paper, r.ticket_formats)
    }
}

fn invalid_address(address: &str, reason: &'static str) -> ValueError {
    ValueError::InvalidPrinterAddress {
        address: address.to_owned(),
        reason,
    }
}

/// `host` or `host:port` (port 9100 when absent); no scheme, no path.
fn check_socket_address(address: &str) -> Result<(), ValueError> {
    let (host, port) = match address.rsplit_once(':') {
        // A bracketed IPv6 literal, or a host with a port.
        Some((host, port)) if !host.contains(':') || host.ends_with(']') => (host, Some(port)),
        _ => (address, None),
    };
    if host.is_empty()
        || host.contains('/')
        || host.chars().any(char::is_whitespace)
        || address.contains("://")
    {
        return Err(invalid_address(address, "expected host or host:port"));
    }
    if let Some(port) = port {
        match port.parse::<u16>() {
            Ok(p) if p > 0 => {}
            _ => return Err(invalid_address(address, "the port must be 1–65535")),
        }
    }
    Ok(())
}

/// An `ipp://`, `ipps://`, `http://` or `https://` URL with a host.
fn check_ipp_address(address: &str) -> Result<(), ValueError> {
    let rest = ["ipp://", "ipps://", "http://", "https://"]
        .iter()
        .find_map(|scheme| address.strip_prefix(scheme))
        .ok_or_else(|| invalid_address(address, "expected an ipp://, ipps:// or http(s):// URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || address.chars().any(char::is_whitespace) {
        return Err(invalid_address(address, "the URL has no host"));
    }
    Ok(())
}

impl Printer {
    pub fn new(
        protocol: PrinterProtocol,
        address: impl Into<String>,
        paper: PaperWidth,
        ticket_formats: Vec<TicketFormat>,
    ) -> Result<Self, ValueError> {
        let address: String = address.into().trim().to_owned();
        if address.is_empty() {
            return Err(ValueError::Empty {
                field: "printer address",
            });
        }
        if address.chars().count() > 500 {
            return Err(ValueError::TooLong {
                field: "printer address",
                max: 500,
                actual: address.chars().count(),
            });
        }
        match protocol {
            PrinterProtocol::EscposTcp => check_socket_address(&address)?,
            PrinterProtocol::Ipp => check_ipp_address(&address)?,
        }
        let formats: BTreeSet<TicketFormat> = ticket_formats.iter().copied().collect();
        if formats.is_empty() {
            return Err(ValueError::NoTicketFormats);
        }
        let sent = match protocol {
            PrinterProtocol::EscposTcp => TicketFormat::Escpos,
            PrinterProtocol::Ipp => TicketFormat::Pdf,
        };
        if let Some(other) = formats
            .iter()
            .find(|f| **f != sent && **f != TicketFormat::Pdf)
        {
            return Err(ValueError::UnsupportedTicketFormat {
                protocol: protocol.as_str(),
                format: other.as_str(),
            });
        }
        if !formats.contains(&sent) {
            return Err(ValueError::UnsupportedTicketFormat {
                protocol: protocol.as_str(),
                format: formats.iter().next().map_or("none", |f| f.as_str()),
            });
        }
        if paper == PaperWidth::A6 && protocol == PrinterProtocol::EscposTcp {
            return Err(ValueError::PaperNeedsPdf(paper.as_str()));
        }
        Ok(Self {
            protocol,
            address,
            paper,
            ticket_formats: formats.into_iter().collect(),
        })
    }

    pub fn protocol(&self) -> PrinterProtocol {
        self.protocol
    }

    /// `host[:port]` for raw TCP printers, a URL for IPP printers.
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn paper(&self) -> PaperWidth {
        self.paper
    }

    /// The formats rendered for every ticket, in a stable order.
    pub fn ticket_formats(&self) -> &[TicketFormat] {
        &self.ticket_formats
    }

    /// The format sent to the printer.
    pub fn sent_format(&self) -> TicketFormat {
        match self.protocol {
            PrinterProtocol::EscposTcp => TicketFormat::Escpos,
            PrinterProtocol::Ipp => TicketFormat::Pdf,
        }
    }
}

/// The stages a station serves: at least one, production stages only.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<LabStage>", into = "Vec<LabStage>")]
pub struct StationStages(BTreeSet<LabStage>);

impl StationStages {
    pub fn new(stages: impl IntoIterator<Item = LabStage>) -> Result<Self, ValueError> {
        let stages: BTreeSet<LabStage> = stages.into_iter().collect();
        if stages.is_empty() {
            return Err(ValueError::NoStages);
        }
        if let Some(stage) = stages.iter().find(|s| !s.is_production()) {
            return Err(ValueError::NotAProductionStage(*stage));
        }
        Ok(Self(stages))
    }

    pub fn contains(&self, stage: LabStage) -> bool {
        self.0.contains(&stage)
    }

    pub fn iter(&self) -> impl Iterator<Item = LabStage> + '_ {
        self.0.iter().copied()
    }
}

impl TryFrom<Vec<LabStage>> for StationStages {
    type Error = ValueError;
    fn try_from(stages: Vec<LabStage>) -> Result<Self, Self::Error> {
        Self::new(stages)
    }
}

impl From<StationStages> for Vec<LabStage> {
    fn from(stages: StationStages) -> Vec<LabStage> {
        stages.0.into_iter().collect()
    }
}

/// What a station is: its name, the stages it serves and its printer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StationSettings {
    pub name: StationName,
    pub stages: StationStages,
    pub printer: Printer,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StationCommand {
    CreateStation {
        tenant_id: TenantId,
        station_id: StationId,
        settings: StationSettings,
        now: DateTime<Utc>,
    },
    /// Replaces the settings; the same settings again change nothing.
    ChangeStation {
        tenant_id: TenantId,
        settings: StationSettings,
        now: DateTime<Utc>,
    },
}

impl StationCommand {
    pub fn tenant_id(&self) -> TenantId {
        match self {
            StationCommand::CreateStation { tenant_id, .. }
            | StationCommand::ChangeStation { tenant_id, .. } => *tenant_id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StationEvent {
    StationCreated {
        tenant_id: TenantId,
        station_id: StationId,
        settings: StationSettings,
        created_at: DateTime<Utc>,
    },
    StationChanged {
        station_id: StationId,
        settings: StationSettings,
        changed_at: DateTime<Utc>,
    },
}

impl StationEvent {
    pub const EVENT_TYPES: [&'static str; 2] = ["lab.station.created", "lab.station.changed"];

    pub fn station_id(&self) -> StationId {
        let (StationEvent::StationCreated { station_id, .. }
        | StationEvent::StationChanged { station_id, .. }) = self;
        *station_id
    }
}

impl DomainEvent for StationEvent {
    fn event_type(&self) -> String {
        let [created, changed] = Self::EVENT_TYPES;
        match self {
            StationEvent::StationCreated { .. } => created,
            StationEvent::StationChanged { .. } => changed,
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// A station's decision state; `None` until created.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Station {
    state: Option<StationState>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct StationState {
    tenant_id: TenantId,
    station_id: StationId,
    settings: StationSettings,
}

impl Station {
    pub fn tenant_id(&self) -> Option<TenantId> {
        self.state.as_ref().map(|s| s.tenant_id)
    }

    pub fn station_id(&self) -> Option<StationId> {
        self.state.as_ref().map(|s| s.station_id)
    }

    pub fn settings(&self) -> Option<&StationSettings> {
        self.state.as_ref().map(|s| &s.settings)
    }

    /// Whether the station exists and serves `stage`.
    pub fn serves(&self, stage: LabStage) -> bool {
        self.settings().is_some_and(|s| s.stages.contains(stage))
    }

    fn visible(&self, tenant_id: TenantId) -> Result<Option<&StationState>, StationError> {
        match &self.state {
            Some(state) if state.tenant_id != tenant_id => Err(StationError::StationNotFound),
            state => Ok(state.as_ref()),
        }
    }

    fn decide(&self, command: StationCommand) -> Result<Vec<StationEvent>, StationError> {
        match command {
            StationCommand::CreateStation {
                tenant_id,
                station_id,
                settings,
                now,
            } => match self.visible(tenant_id)? {
                Some(state) if state.settings == settings => Ok(vec![]),
                Some(_) => Err(StationError::AlreadyCreated),
                None => Ok(vec![StationEvent::StationCreated {
                    tenant_id,
                    station_id,
                    settings,
                    created_at: now,
                }]),
            },
            StationCommand::ChangeStation {
                tenant_id,
                settings,
                now,
            } => {
                let state = self
                    .visible(tenant_id)?
                    .ok_or(StationError::StationNotFound)?;
                if state.settings == settings {
                    return Ok(vec![]);
                }
                Ok(vec![StationEvent::StationChanged {
                    station_id: state.station_id,
                    settings,
                    changed_at: now,
                }])
            }
        }
    }
}

impl Aggregate for Station {
    const TYPE: &'static str = "lab.station";
    type Command = StationCommand;
    type Event = StationEvent;
    type Error = StationError;
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
        match event {
            StationEvent::StationCreated {
                tenant_id,
                station_id,
                settings,
                ..
            } => {
                if self.state.is_none() {
                    self.state = Some(StationState {
                        tenant_id,
                        station_id,
                        settings,
                    });
                }
            }
            StationEvent::StationChanged { settings, .. } => {
                if let Some(state) = &mut self.state {
                    state.settings = settings;
                }
            }
        }
    }
}

impl fmt::Display for Printer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.protocol, self.address, self.paper)
    }
}

#[cfg(test)]
mod tests;
