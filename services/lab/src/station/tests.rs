use super::*;
use crate::samples;
use cqrs_es::test::TestFramework;

type Fixture = TestFramework<Station>;

fn created() -> StationEvent {
    StationEvent::StationCreated {
        tenant_id: samples::tenant_id(),
        station_id: samples::station_id(),
        settings: samples::station_settings(),
        created_at: samples::at(),
    }
}

fn create() -> StationCommand {
    StationCommand::CreateStation {
        tenant_id: samples::tenant_id(),
        station_id: samples::station_id(),
        settings: samples::station_settings(),
        now: samples::at(),
    }
}

fn inspection_settings() -> StationSettings {
    StationSettings {
        name: StationName::new("Final inspection").unwrap(),
        stages: StationStages::new([LabStage::FinalInspection]).unwrap(),
        printer: samples::ipp_printer(),
    }
}

#[test]
fn a_station_is_created_once() {
    Fixture::with(())
        .given_no_previous_events()
        .when(create())
        .then_expect_events(vec![created()]);
    Fixture::with(())
        .given(vec![created()])
        .when(create())
        .then_expect_events(vec![]);
    Fixture::with(())
        .given(vec![created()])
        .when(StationCommand::CreateStation {
            tenant_id: samples::tenant_id(),
            station_id: samples::station_id(),
            settings: inspection_settings(),
            now: samples::at(),
        })
        .then_expect_error(StationError::AlreadyCreated);
}

#[test]
fn changing_replaces_the_settings() {
    Fixture::with(())
        .given(vec![created()])
        .when(StationCommand::ChangeStation {
            tenant_id: samples::tenant_id(),
            settings: inspection_settings(),
            now: samples::at(),
        })
        .then_expect_events(vec![StationEvent::StationChanged {
            station_id: samples::station_id(),
            settings: inspection_settings(),
            changed_at: samples::at(),
        }]);
    Fixture::with(())
        .given(vec![created()])
        .when(StationCommand::ChangeStation {
            tenant_id: samples::tenant_id(),
            settings: samples::station_settings(),
            now: samples::at(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn another_tenants_or_a_missing_station_is_not_found() {
    Fixture::with(())
        .given(vec![created()])
        .when(StationCommand::ChangeStation {
            tenant_id: TenantId::new(),
            settings: inspection_settings(),
            now: samples::at(),
        })
        .then_expect_error(StationError::StationNotFound);
    Fixture::with(())
        .given_no_previous_events()
        .when(StationCommand::ChangeStation {
            tenant_id: samples::tenant_id(),
            settings: inspection_settings(),
            now: samples::at(),
        })
        .then_expect_error(StationError::StationNotFound);
}

#[test]
fn a_station_serves_its_stages() {
    let mut station = Station::default();
    station.apply(created());
    assert!(station.serves(LabStage::Edging));
    assert!(!station.serves(LabStage::Coating));
}

#[test]
fn stages_must_be_production_stages() {
    assert_eq!(StationStages::new([]), Err(ValueError::NoStages));
    assert_eq!(
        StationStages::new([LabStage::OnHold]),
        Err(ValueError::NotAProductionStage(LabStage::OnHold))
    );
    assert!(serde_json::from_str::<StationStages>(r#"["cancelled"]"#).is_err());
}

#[test]
fn printers_are_validated_by_protocol() {
    use PaperWidth::*;
    use PrinterProtocol::*;
    use TicketFormat::*;
    assert!(Printer::new(EscposTcp, "printer.local", Roll80, vec![Escpos]).is_ok());
    assert!(Printer::new(EscposTcp, "[::1]:9100", Roll80, vec![Escpos]).is_ok());
    assert!(Printer::new(Ipp, "ipp://127.0.0.1:8631/ipp/print", A6, vec![Pdf]).is_ok());
    let code = |r: Result<Printer, ValueError>| r.unwrap_err().code();
    assert_eq!(
        code(Printer::new(EscposTcp, "ipp://x", Roll80, vec![Escpos])),
        "invalid_printer_address"
    );
    assert_eq!(
        code(Printer::new(EscposTcp, "host:99999", Roll80, vec![Escpos])),
        "invalid_printer_address"
    );
    assert_eq!(
        code(Printer::new(Ipp, "cups.local", A6, vec![Pdf])),
        "invalid_printer_address"
    );
    assert_eq!(
        code(Printer::new(
            Ipp,
            "ipp://cups.local/q",
            Roll80,
            vec![Escpos]
        )),
        "unsupported_ticket_format"
    );
    assert_eq!(
        code(Printer::new(EscposTcp, "host", Roll80, vec![Pdf])),
        "unsupported_ticket_format"
    );
    assert_eq!(
        code(Printer::new(EscposTcp, "host", A6, vec![Escpos])),
        "paper_needs_pdf"
    );
    assert_eq!(
        code(Printer::new(EscposTcp, "host", Roll80, vec![])),
        "no_ticket_formats"
    );
}

#[test]
fn printers_deserialise_through_the_same_checks() {
    let bad = serde_json::json!({
        "protocol": "ipp", "address": "not a url", "paper": "a6", "ticket_formats": ["pdf"]
    });
    assert!(serde_json::from_value::<Printer>(bad).is_err());
    let good = serde_json::to_value(samples::printer()).unwrap();
    assert_eq!(
        serde_json::from_value::<Printer>(good).unwrap(),
        samples::printer()
    );
}

#[test]
fn every_sample_event_survives_a_json_round_trip() {
    for event in samples::station_events() {
        let json = serde_json::to_value(&event).unwrap();
        let back: StationEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}
