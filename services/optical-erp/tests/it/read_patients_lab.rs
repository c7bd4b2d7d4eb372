//! The `patients` and `lab` read models against real PostgreSQL, without Kafka: commands go
//! through the API, their events are read back from the log, opened with the patients' keys
//! and applied as the projector would; queries go through the read endpoints. The queue per
//! station and stage with time in stage, stage history, erasure, the access audit of every
//! listed patient, tenant isolation, cursor pagination, duplicates and bad query strings.
use crate::api::{assert_problem, Fixture, Reply};
use chrono::{DateTime, Duration, Utc};
use optical_event_store::{Destination, NewPrintJob, PrintSpool};
use optical_kernel::{EventPosition, FixedClock, TenantId};
use optical_read_model::lab::{self, LabProjection};
use optical_read_model::patients::{self, PatientFilter, PatientsProjection};
use optical_read_model::{apply_event, Applied, Projection};
use optical_testkit::api::{all_scopes, token, ApiOptions};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use uuid::Uuid;

/// A fixture whose clock starts three hours ago and moves only when told.
async fn fixture() -> (Fixture, Arc<FixedClock>, DateTime<Utc>) {
    let start = Utc::now() - Duration::hours(3);
    let clock = Arc::new(FixedClock::at(start));
    let f = Fixture::with(ApiOptions {
        clock: clock.clone(),
        ..ApiOptions::default()
    })
    .await;
    (f, clock, start)
}

/// Applies every committed event of the projection's contexts, from the start of the log, in
/// one transaction: `(changed, duplicates)`.
async fn project(f: &Fixture, projection: &dyn Projection) -> (u64, u64) {
    let mut client = f.db.client().await;
    let contexts: Vec<String> = projection
        .contexts()
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    // Events are read below the horizon of running transactions: wait until every event
    // written so far is below it.
    let written: i64 = client
        .query_one(
            "SELECT count(*) FROM events WHERE split_part(event_type, '.', 1) = ANY($1)",
            &[&contexts],
        )
        .await
        .unwrap()
        .get(0);
    let mut events = Vec::new();
    for _ in 0..200 {
        events = optical_event_store::committed_after(
            &client,
            EventPosition::default(),
            &contexts,
            10_000,
        )
        .await
        .unwrap();
        if events.len() as i64 >= written {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(
        events.len() as i64,
        written,
        "events stay above the horizon"
    );
    let tx = client.transaction().await.unwrap();
    let (mut changed, mut duplicates) = (0, 0);
    for event in events {
        let event = optical_read_model::rebuild::open(&f.api.app.keys, event)
            .await
            .unwrap();
        match apply_event(&tx, projection, &event).await.unwrap() {
            Applied::Changed => changed += 1,
            Applied::Duplicate => duplicates += 1,
        }
    }
    tx.commit().await.unwrap();
    (changed, duplicates)
}

/// Every row of the projection's tables, as JSON, in a stable order.
async fn snapshot(f: &Fixture, projection: &dyn Projection) -> Vec<Value> {
    let client = f.db.client().await;
    let mut all = Vec::new();
    for table in projection.tables() {
        let rows = client
            .query(
                &format!("SELECT to_jsonb(t) FROM {table} t ORDER BY to_jsonb(t)::text"),
                &[],
            )
            .await
            .unwrap();
        all.extend(
            rows.iter()
                .map(|r| json!({"table": table, "row": r.get::<_, Value>(0)})),
        );
    }
    all
}

async fn register(f: &Fixture, given: &str, family: &str) -> String {
    let reply = f
        .post(
            "/customers/patients",
            json!({
                "given_name": given,
                "family_name": family,
                "date_of_birth": "1984-03-09",
                "contacts": {"email": format!("{}@example.com", given.to_lowercase()),
                             "phone": "+49 30 1234567"},
                "preferences": {"email": true}
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn prescription(f: &Fixture, patient: &str, expires_on: &str) -> String {
    crate::api_customers::record_prescription(
        f,
        crate::api_customers::prescription_body(patient, |b| b["expires_on"] = json!(expires_on)),
    )
    .await
}

async fn station(f: &Fixture, name: &str, stages: &[&str]) -> String {
    let reply = f
        .post(
            "/lab/stations",
            json!({"name": name, "stages": stages, "printer": {
                "protocol": "escpos_tcp", "address": "10.0.0.21:9100", "paper": "roll80",
                "ticket_formats": ["escpos"]}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn walk_in(f: &Fixture, patient: &str, rx: &str) -> String {
    let reply = f
        .post(
            "/lab/work-orders",
            json!({"patient_id": patient, "prescription_id": rx,
                   "frame": {"a_mm": 52, "b_mm": 40, "dbl_mm": 18, "ed_mm": 56,
                             "brand": "Lumen Optics", "model": "Aurora 52"},
                   "lens": {"description": "Varifocal 1.6", "material": "mid_index",
                            "index": 1.60, "design": "progressive",
                            "coatings": ["anti_reflective"]},
                   "due_on": "2099-02-01"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn step(f: &Fixture, wo: &str, action: &str, body: Value) {
    let reply = f
        .post(&format!("/lab/work-orders/{wo}/{action}"), body)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{action}: {:?}", reply.body);
}

async fn delete(f: &Fixture, path: &str) -> Reply {
    f.send(Method::DELETE, path, Some(&f.token), None, &[])
        .await
}

fn ids(reply: &Reply, field: &str) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {:?}", reply.body))
        .iter()
        .map(|i| i[field].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of `path` (which has a query string) with `limit`, following the cursors.
async fn all_pages(f: &Fixture, path: &str, limit: u32, field: &str) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}&limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let reply = f.get(&url).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        pages += 1;
        let page = ids(&reply, field);
        assert!(page.len() <= limit as usize);
        seen.extend(page);
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (seen, pages),
        }
    }
}

fn assert_about(actual: &Value, expected: i64) {
    let actual = actual
        .as_i64()
        .unwrap_or_else(|| panic!("not a number: {actual}"));
    // The test's own run time passes between the clock's start and the query.
    assert!(
        (expected..expected + 120).contains(&actual),
        "time in stage {actual}, expected about {expected}"
    );
}

#[tokio::test]
async fn the_queue_shows_the_oldest_waiting_first_per_station_and_stage_with_time_in_stage() {
    let (f, clock, start) = fixture().await;
    let surfacing = station(&f, "Generator 1", &["surfacing"]).await;
    let edging = station(&f, "Edger 2", &["edging"]).await;
    let patient = register(&f, "Ana", "Lindqvist").await;
    let rx = prescription(&f, &patient, "2099-01-10").await;

    let a = walk_in(&f, &patient, &rx).await; // t0
    clock.advance(Duration::minutes(10));
    let b = walk_in(&f, &patient, &rx).await; // t0 + 10
    clock.advance(Duration::minutes(10));
    let c = walk_in(&f, &patient, &rx).await; // t0 + 20
    clock.advance(Duration::minutes(10));
    step(
        &f,
        &c,
        "stage",
        json!({"to": "surfacing", "station_id": surfacing}),
    )
    .await; // t0 + 30
    clock.advance(Duration::minutes(10));
    step(
        &f,
        &a,
        "stage",
        json!({"to": "surfacing", "station_id": surfacing}),
    )
    .await; // t0 + 40
    clock.advance(Duration::minutes(10));
    // Coating is not needed: straight to edging.
    step(
        &f,
        &a,
        "stage",
        json!({"to": "edging", "station_id": edging}),
    )
    .await; // t0 + 50
    clock.advance(Duration::minutes(10));
    step(&f, &b, "hold", json!({"reason": "waiting for the frame"})).await; // t0 + 60

    let (changed, duplicates) = project(&f, &LabProjection).await;
    assert!(changed > 0);
    assert_eq!(duplicates, 0);

    // Everything waiting: oldest stage change first.
    let all = f.get("/lab/queue").await;
    assert_eq!(all.status, StatusCode::OK, "{:?}", all.body);
    assert_eq!(all.headers["cache-control"], "private, no-store");
    assert_eq!(
        ids(&all, "work_order_id"),
        [c.clone(), a.clone(), b.clone()]
    );
    let items = all.body["items"].as_array().unwrap();
    let now_minus =
        |minutes: i64| (Utc::now() - (start + Duration::minutes(minutes))).num_seconds();
    assert_eq!(items[0]["stage"], "surfacing");
    assert_eq!(items[0]["station_id"], surfacing.as_str());
    assert_about(&items[0]["time_in_stage_seconds"], now_minus(30) - 5);
    assert_eq!(items[1]["stage"], "edging");
    assert_eq!(items[1]["station_id"], edging.as_str());
    assert_about(&items[1]["time_in_stage_seconds"], now_minus(50) - 5);
    assert_eq!(items[2]["stage"], "on_hold");
    assert_eq!(items[2]["held"], true);
    assert_eq!(items[2]["held_from"], "received");
    assert!(items[2]["number"].as_str().unwrap().starts_with("WO-"));
    assert!(items[2]["patient_initials"].as_str().is_some());
    assert_eq!(items[2]["due_on"], "2099-02-01");

    // Per station, per stage, and both.
    let at_generator = f.get(&format!("/lab/queue?station_id={surfacing}")).await;
    assert_eq!(ids(&at_generator, "work_order_id"), [c.as_str()]);
    let edging_now = f.get("/lab/queue?stage=edging").await;
    assert_eq!(ids(&edging_now, "work_order_id"), [a.as_str()]);
    let none = f
        .get(&format!("/lab/queue?station_id={surfacing}&stage=edging"))
        .await;
    assert_eq!(ids(&none, "work_order_id"), Vec::<String>::new());
    let held = f.get("/lab/queue?stage=on_hold").await;
    assert_eq!(ids(&held, "work_order_id"), [b.as_str()]);

    // Cancelled jobs leave the queue, unless asked for by stage.
    step(
        &f,
        &b,
        "cancel",
        json!({"reason": "patient changed their mind"}),
    )
    .await;
    project(&f, &LabProjection).await;
    let waiting = f.get("/lab/queue").await;
    assert_eq!(ids(&waiting, "work_order_id"), [c.clone(), a.clone()]);
    let cancelled = f.get("/lab/queue?stage=cancelled").await;
    assert_eq!(ids(&cancelled, "work_order_id"), [b.as_str()]);

    // A's history: received at t0, surfacing for 10 minutes, edging since t0 + 50.
    let history = f.get(&format!("/lab/work-orders/{a}/history")).await;
    assert_eq!(history.status, StatusCode::OK, "{:?}", history.body);
    assert_eq!(history.body["work_order"]["work_order_id"], a.as_str());
    let stages = history.body["stages"].as_array().unwrap();
    let path: Vec<(Value, &str)> = stages
        .iter()
        .map(|s| (s["from_stage"].clone(), s["to_stage"].as_str().unwrap()))
        .collect();
    assert_eq!(
        path,
        [
            (Value::Null, "received"),
            (json!("received"), "surfacing"),
            (json!("surfacing"), "edging"),
        ]
    );
    let seqs: Vec<i64> = stages.iter().map(|s| s["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(stages[0]["time_in_stage_seconds"], 40 * 60);
    assert_eq!(stages[1]["time_in_stage_seconds"], 10 * 60);
    assert_eq!(stages[1]["station_id"], surfacing.as_str());
    assert_about(&stages[2]["time_in_stage_seconds"], now_minus(50) - 5);
    assert_eq!(stages[0]["actor"], "user:test");

    // B's history keeps the hold's and the cancellation's reasons.
    let client = f.db.client().await;
    let (row, stages) = lab::history(&client, *f.tenant.as_uuid(), b.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.stage, "cancelled");
    assert!(!row.held);
    let reasons: Vec<Option<String>> = stages.iter().map(|s| s.reason.clone()).collect();
    assert_eq!(
        reasons,
        [
            None,
            Some("waiting for the frame".to_owned()),
            Some("patient changed their mind".to_owned())
        ]
    );

    // Unknown work orders answer 404.
    let unknown = f
        .get(&format!("/lab/work-orders/{}/history", Uuid::now_v7()))
        .await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "work_order_not_found");
}

#[tokio::test]
async fn an_erased_patient_shows_as_erased_and_every_listed_patient_is_audited() {
    let (f, _clock, _start) = fixture().await;
    let ana = register(&f, "Ana", "Lindqvist").await;
    let bo = register(&f, "Bo", "Andersson").await;
    let cy = register(&f, "Cyrille", "Ndiaye").await;
    let first = prescription(&f, &ana, "2098-05-01").await;
    prescription(&f, &ana, "2099-01-10").await;
    let voided = prescription(&f, &ana, "2099-12-31").await;
    let reply = f
        .post(
            &format!("/customers/prescriptions/{voided}/void"),
            json!({"reason": "entered_in_error"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let bo_rx = prescription(&f, &bo, "2099-01-10").await;
    let job = walk_in(&f, &bo, &bo_rx).await;

    // The live projectors apply everything before the erasure ...
    project(&f, &PatientsProjection).await;
    project(&f, &LabProjection).await;
    let client = f.db.client().await;
    let tenant = *f.tenant.as_uuid();
    let row = patients::get(&client, tenant, bo.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.display_name.as_deref(), Some("Bo Andersson"));
    assert_eq!(row.email.as_deref(), Some("bo@example.com"));
    let wo = lab::get(&client, tenant, job.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(wo.patient_initials.is_some());
    assert!(!wo.patient_erased);

    // ... then Bo is erased: both read models wipe his data.
    let erased = delete(&f, &format!("/customers/patients/{bo}")).await;
    assert_eq!(erased.status, StatusCode::OK, "{:?}", erased.body);
    project(&f, &PatientsProjection).await;
    project(&f, &LabProjection).await;
    let row = patients::get(&client, tenant, bo.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(row.erased);
    assert_eq!(
        (
            row.given_name,
            row.family_name,
            row.display_name,
            row.date_of_birth,
            row.email,
            row.phone
        ),
        (None, None, None, None, None, None)
    );
    assert_eq!(row.prescriptions_count, 1, "counts are not personal");
    let wo = lab::get(&client, tenant, job.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(wo.patient_initials, None);
    assert!(wo.patient_erased);

    // Ana: two prescriptions in force, the voided one not counted.
    let row = patients::get(&client, tenant, ana.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.prescriptions_count, 2);
    assert_eq!(
        row.latest_prescription_expires_on,
        Some(chrono::NaiveDate::from_ymd_opt(2099, 1, 10).unwrap())
    );
    assert!(!first.is_empty());

    // Through the API: by family name (the erased patient, nameless, first).
    let list = f.get("/customers/patients").await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    assert_eq!(list.headers["cache-control"], "private, no-store");
    assert_eq!(
        ids(&list, "patient_id"),
        [bo.clone(), ana.clone(), cy.clone()]
    );
    let shown_bo = list.body["items"][0].as_object().unwrap();
    assert_eq!(shown_bo["erased"], true);
    for personal in [
        "given_name",
        "family_name",
        "display_name",
        "date_of_birth",
        "email",
        "phone",
    ] {
        assert!(
            !shown_bo.contains_key(personal),
            "{personal} shown: {shown_bo:?}"
        );
    }
    let shown_ana = &list.body["items"][1];
    assert_eq!(shown_ana["display_name"], "Ana Lindqvist");
    assert_eq!(shown_ana["date_of_birth"], "1984-03-09");
    assert_eq!(shown_ana["email"], "ana@example.com");
    assert_eq!(shown_ana["phone"], "+49301234567");
    assert_eq!(shown_ana["prescriptions_count"], 2);
    assert_eq!(shown_ana["latest_prescription_expires_on"], "2099-01-10");
    assert_eq!(shown_ana["erased"], false);

    // Filters: a case-insensitive prefix of the family or the given name; erased or not.
    let by_family = f.get("/customers/patients?name=LIND").await;
    assert_eq!(ids(&by_family, "patient_id"), [ana.as_str()]);
    let by_given = f.get("/customers/patients?name=cy").await;
    assert_eq!(ids(&by_given, "patient_id"), [cy.as_str()]);
    let wildcard = f.get("/customers/patients?name=%25").await;
    assert_eq!(ids(&wildcard, "patient_id"), Vec::<String>::new());
    let only_erased = f.get("/customers/patients?erased=true").await;
    assert_eq!(ids(&only_erased, "patient_id"), [bo.as_str()]);
    let not_erased = f.get("/customers/patients?erased=false&name=a").await;
    assert_eq!(ids(&not_erased, "patient_id"), [ana.as_str()]);

    // Every patient returned was audited, once per listing that returned them.
    let audited: Vec<(Uuid, String, String, Option<String>)> = client
        .query(
            "SELECT patient_id, actor, endpoint, request_id FROM customers_access_audit
              WHERE tenant_id = $1 ORDER BY id",
            &[&tenant],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let count = |patient: &str| {
        audited
            .iter()
            .filter(|(p, _, e, _)| {
                p.to_string() == patient && e == "GET /api/v1/customers/patients"
            })
            .count()
    };
    assert_eq!(
        count(&ana),
        3,
        "the whole list, `LIND` and `erased=false&name=a`"
    );
    assert_eq!(count(&bo), 2);
    assert_eq!(count(&cy), 2);
    assert!(audited
        .iter()
        .all(|(_, actor, _, request)| actor == "test" && request.is_some()));
    // ... and shows in the patient's access log.
    let log = f.get(&format!("/customers/patients/{cy}/access-log")).await;
    assert_eq!(log.status, StatusCode::OK, "{:?}", log.body);
    let endpoints: Vec<&str> = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["endpoint"].as_str().unwrap())
        .collect();
    assert!(
        endpoints.contains(&"GET /api/v1/customers/patients"),
        "{endpoints:?}"
    );

    // The lab's queue shows the erased patient's job without initials, and audits nobody.
    let before = audited.len();
    let queue = f.get("/lab/queue").await;
    assert_eq!(queue.status, StatusCode::OK, "{:?}", queue.body);
    let shown = queue.body["items"][0].as_object().unwrap();
    assert_eq!(shown["patient_erased"], true);
    assert!(!shown.contains_key("patient_initials"));
    let after: i64 = client
        .query_one(
            "SELECT count(*) FROM customers_access_audit WHERE tenant_id = $1",
            &[&tenant],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(after as usize, before);

    // Rebuilt from the log, where the erased patient's data reads as erased from the start,
    // both read models come out exactly as the live ones ended up.
    for projection in [&PatientsProjection as &dyn Projection, &LabProjection] {
        let live = snapshot(&f, projection).await;
        let mut session = f.db.client().await;
        let report =
            optical_read_model::rebuild::rebuild(&mut session, projection, &f.api.app.keys)
                .await
                .unwrap();
        assert!(report.events_applied > 0);
        assert_eq!(
            snapshot(&f, projection).await,
            live,
            "{}",
            projection.name()
        );
    }
    let row = patients::get(&client, tenant, bo.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(row.erased);
    assert_eq!(row.display_name, None);
    let wo = lab::get(&client, tenant, job.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(wo.patient_erased);
    assert_eq!(wo.patient_initials, None);
}

#[tokio::test]
async fn another_tenant_sees_nothing_of_these_read_models() {
    let (f, _clock, _start) = fixture().await;
    let patient = register(&f, "Ana", "Lindqvist").await;
    let rx = prescription(&f, &patient, "2099-01-10").await;
    let job = walk_in(&f, &patient, &rx).await;
    let edger = station(&f, "Edger", &["edging"]).await;
    enqueue(&f, f.tenant, &job, &edger, "queued").await;
    project(&f, &PatientsProjection).await;
    project(&f, &LabProjection).await;

    let other = TenantId::new();
    let stranger = token(other, &all_scopes());
    let get = |path: String| {
        let f = &f;
        let stranger = stranger.clone();
        async move { f.send(Method::GET, &path, Some(&stranger), None, &[]).await }
    };
    for path in ["/customers/patients", "/lab/queue", "/lab/print-jobs"] {
        let mine = f.get(path).await;
        assert_eq!(mine.body["items"].as_array().unwrap().len(), 1, "{path}");
        let theirs = get(path.to_owned()).await;
        assert_eq!(theirs.status, StatusCode::OK, "{:?}", theirs.body);
        assert_eq!(theirs.body["items"], json!([]), "{path}");
    }
    let history = get(format!("/lab/work-orders/{job}/history")).await;
    assert_problem(&history, StatusCode::NOT_FOUND, "work_order_not_found");
    let client = f.db.client().await;
    assert!(
        patients::get(&client, *other.as_uuid(), patient.parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let page = patients::list(
        &client,
        *other.as_uuid(),
        &PatientFilter::default(),
        50,
        None,
    )
    .await
    .unwrap();
    assert!(page.items.is_empty());
    // The stranger's listing audited nobody.
    let audited: i64 = client
        .query_one(
            "SELECT count(*) FROM customers_access_audit WHERE tenant_id = $1",
            &[other.as_uuid()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 0);

    // Scopes: the patient list needs customers:read, the lab's queries lab:read.
    let lab_only = token(f.tenant, &["lab:read"]);
    let refused = f
        .send(
            Method::GET,
            "/customers/patients",
            Some(&lab_only),
            None,
            &[],
        )
        .await;
    assert_problem(&refused, StatusCode::FORBIDDEN, "insufficient_scope");
    let customers_only = token(f.tenant, &["customers:read"]);
    for path in ["/lab/queue", "/lab/print-jobs"] {
        let refused = f
            .send(Method::GET, path, Some(&customers_only), None, &[])
            .await;
        assert_problem(&refused, StatusCode::FORBIDDEN, "insufficient_scope");
    }
}

/// Spools a ticket for `work_order` at `station` directly, in `state` (`queued` or `parked`).
async fn enqueue(
    f: &Fixture,
    tenant: TenantId,
    work_order: &str,
    station: &str,
    state: &str,
) -> Uuid {
    let spool = PrintSpool::new(f.db.pool(2));
    let id = Uuid::now_v7();
    spool
        .enqueue(&NewPrintJob {
            print_job_id: id,
            tenant_id: tenant,
            work_order_id: work_order.parse().unwrap(),
            work_order_number: "WO-000001".into(),
            station_id: station.parse().unwrap(),
            stage_change_id: Uuid::now_v7(),
            stage: "edging".into(),
            format: "escpos".into(),
            destination: Destination::Printer {
                protocol: "escpos_tcp".into(),
                address: "10.0.0.21:9100".into(),
            },
            document: b"ticket".to_vec(),
            sha256: [7; 32],
        })
        .await
        .unwrap();
    if state == "parked" {
        let (_, parked) = spool
            .mark_failed(id, "paper out", std::time::Duration::ZERO, 1)
            .await
            .unwrap();
        assert!(parked);
    }
    id
}

#[tokio::test]
async fn cursors_page_through_every_row_once() {
    let (f, clock, _start) = fixture().await;
    // Patients: two share a family name, one differs only in case.
    let mut expected = Vec::new();
    for (given, family) in [
        ("Ana", "Lindqvist"),
        ("Bo", "lindqvist"),
        ("Cyrille", "Ndiaye"),
        ("Dag", "Ortega"),
        ("Eva", "Brandt"),
        ("Finn", "Lindqvist"),
        ("Gro", "Zeller"),
    ] {
        expected.push(register(&f, given, family).await);
    }
    let patient = expected[0].clone();
    let rx = prescription(&f, &patient, "2099-01-10").await;
    let mut jobs = Vec::new();
    for _ in 0..5 {
        jobs.push(walk_in(&f, &patient, &rx).await);
        clock.advance(Duration::minutes(1));
    }
    let edger = station(&f, "Edger", &["edging"]).await;
    let mut tickets = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let state = if i % 2 == 0 { "queued" } else { "parked" };
        tickets.push((enqueue(&f, f.tenant, job, &edger, state).await, state));
    }
    project(&f, &PatientsProjection).await;
    project(&f, &LabProjection).await;

    // Patients, by family name then id, 3 at a time.
    let (seen, pages) = all_pages(&f, "/customers/patients?erased=false", 3, "patient_id").await;
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), expected.len());
    assert_eq!(
        seen.iter().collect::<BTreeSet<_>>(),
        expected.iter().collect::<BTreeSet<_>>()
    );
    let whole = f.get("/customers/patients?limit=200").await;
    assert_eq!(
        ids(&whole, "patient_id"),
        seen,
        "pages concatenate to the whole list"
    );
    assert!(whole.body["next_cursor"].is_null());
    let family: Vec<String> = whole.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["family_name"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(family.len(), 7);
    assert_eq!(family[0], "brandt");
    assert_eq!(&family[1..4], ["lindqvist", "lindqvist", "lindqvist"]);

    // A patient registered between two pages, before the cursor, is not seen and nothing repeats.
    let first = f.get("/customers/patients?limit=3").await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    register(&f, "Aki", "Aalto").await;
    project(&f, &PatientsProjection).await;
    let mut rest = ids(&first, "patient_id");
    let mut next = Some(cursor);
    while let Some(c) = next {
        let page = f
            .get(&format!("/customers/patients?limit=3&cursor={c}"))
            .await;
        rest.extend(ids(&page, "patient_id"));
        next = page.body["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(rest, seen);

    // The queue, 2 at a time, oldest first.
    let (queue, pages) = all_pages(&f, "/lab/queue?stage=received", 2, "work_order_id").await;
    assert_eq!(pages, 3);
    assert_eq!(queue, jobs);

    // The spool, 2 at a time, newest first; filtered by state and station.
    let by_station = format!("/lab/print-jobs?station_id={edger}");
    let (spooled, _) = all_pages(&f, &by_station, 2, "id").await;
    let newest_first: Vec<String> = tickets.iter().rev().map(|(id, _)| id.to_string()).collect();
    assert_eq!(spooled, newest_first);
    let (parked, _) = all_pages(&f, "/lab/print-jobs?state=parked", 1, "id").await;
    let expected_parked: Vec<String> = tickets
        .iter()
        .rev()
        .filter(|(_, s)| *s == "parked")
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(parked, expected_parked);
    let one = f.get("/lab/print-jobs?state=queued&limit=1").await;
    let ticket = &one.body["items"][0];
    assert_eq!(ticket["state"], "queued");
    assert_eq!(ticket["size_bytes"], 6);
    assert_eq!(ticket["sha256"], "07".repeat(32));
    assert!(ticket.get("document").is_none());
    assert!(ticket["next_attempt_at"].is_string());
    let elsewhere = f
        .get(&format!("/lab/print-jobs?station_id={}", Uuid::now_v7()))
        .await;
    assert_eq!(elsewhere.body["items"], json!([]));

    // A cursor of one listing is refused by another.
    let queue_page = f.get("/lab/queue?limit=1").await;
    let queue_cursor = queue_page.body["next_cursor"].as_str().unwrap();
    let refused = f
        .get(&format!("/lab/print-jobs?cursor={queue_cursor}"))
        .await;
    assert_problem(&refused, StatusCode::BAD_REQUEST, "invalid_cursor");
}

#[tokio::test]
async fn events_applied_twice_change_nothing() {
    let (f, clock, _start) = fixture().await;
    let patient = register(&f, "Ana", "Lindqvist").await;
    let rx = prescription(&f, &patient, "2099-01-10").await;
    let job = walk_in(&f, &patient, &rx).await;
    let edger = station(&f, "Edger", &["edging"]).await;
    clock.advance(Duration::minutes(5));
    step(
        &f,
        &job,
        "stage",
        json!({"to": "edging", "station_id": edger}),
    )
    .await;

    for projection in [&PatientsProjection as &dyn Projection, &LabProjection] {
        let (changed, duplicates) = project(&f, projection).await;
        assert!(changed > 0);
        assert_eq!(duplicates, 0);
        let before = snapshot(&f, projection).await;
        let (changed, duplicates) = project(&f, projection).await;
        assert_eq!(changed, 0, "{}", projection.name());
        assert!(duplicates > 0);
        assert_eq!(
            snapshot(&f, projection).await,
            before,
            "{}",
            projection.name()
        );
    }
    let history = f.get(&format!("/lab/work-orders/{job}/history")).await;
    assert_eq!(history.body["stages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_query_strings_answer_400_naming_the_parameter() {
    let (f, _clock, _start) = fixture().await;
    let field = |reply: &Reply| -> Vec<String> {
        reply.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors: {:?}", reply.body))
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    };
    for (path, code, expected) in [
        (
            "/lab/queue?station_id=nope",
            "invalid_query",
            "query:station_id",
        ),
        ("/lab/queue?stage=polishing", "invalid_query", "query:stage"),
        ("/lab/queue?colour=red", "invalid_query", "query:"),
        ("/lab/queue?limit=0", "invalid_limit", "query:limit"),
        ("/lab/queue?limit=201", "invalid_limit", "query:limit"),
        ("/lab/queue?limit=many", "invalid_query", "query:limit"),
        (
            "/lab/queue?cursor=garbage",
            "invalid_cursor",
            "query:cursor",
        ),
        (
            "/customers/patients?erased=maybe",
            "invalid_query",
            "query:erased",
        ),
        ("/customers/patients?sort=name", "invalid_query", "query:"),
        (
            "/customers/patients?cursor=garbage",
            "invalid_cursor",
            "query:cursor",
        ),
        ("/lab/print-jobs?state=lost", "invalid_query", "query:state"),
        (
            "/lab/print-jobs?station_id=12",
            "invalid_query",
            "query:station_id",
        ),
        (
            "/lab/print-jobs?cursor=garbage",
            "invalid_cursor",
            "query:cursor",
        ),
    ] {
        let reply = f.get(path).await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, code);
        let fields = field(&reply);
        assert!(
            fields.iter().any(|f| f.starts_with(expected)),
            "{path}: {fields:?}"
        );
    }
    // Several bad values at once are all named.
    let both = f.get("/lab/queue?station_id=x&stage=y").await;
    assert_problem(&both, StatusCode::BAD_REQUEST, "invalid_query");
    assert_eq!(field(&both), ["query:station_id", "query:stage"]);
    // An unknown parameter is named in the message.
    let unknown = f.get("/lab/queue?colour=red").await;
    assert!(unknown.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("colour"));
    // A consistency token this API did not hand out.
    let forged = f
        .send(
            Method::GET,
            "/lab/queue",
            Some(&f.token),
            None,
            &[("X-Consistency-Token", "99999999.1")],
        )
        .await;
    assert_problem(
        &forged,
        StatusCode::BAD_REQUEST,
        "invalid_consistency_token",
    );
}
