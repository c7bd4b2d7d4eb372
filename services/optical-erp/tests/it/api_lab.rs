//! The lab endpoints against real PostgreSQL: stations, walk-in work orders through their
//! stages at stations, holds, cancellations, QA against ANSI Z80.1 and remakes, the audited
//! read, erasure, and the DCS export read back by an independent parser.
use crate::api::{assert_problem, Fixture, Reply};
use crate::api_customers::register_patient;
use optical_optics::{samples, EyeInput, PdInput, RefractionInput};
use optical_testkit::api::{all_scopes, token};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn eye_json(eye: &EyeInput) -> Value {
    assert!(eye.prism.is_none(), "the samples used here have no prism");
    json!({"sphere": eye.sphere, "cylinder": eye.cylinder, "axis": eye.axis, "add": eye.add,
           "segment_height": eye.segment_height})
}

fn pd_json(pd: &PdInput) -> Value {
    match pd {
        PdInput::Binocular(mm) => json!(mm),
        PdInput::Monocular { right, left } => json!({"right": right, "left": left}),
    }
}

/// Records `rx` (a sample's input) as a prescription of `patient`.
async fn prescription(f: &Fixture, patient: &str, rx: &RefractionInput) -> String {
    let reply = f
        .post(
            "/customers/prescriptions",
            json!({
                "patient_id": patient,
                "right": eye_json(&rx.right),
                "left": eye_json(&rx.left),
                "pd": pd_json(&rx.pd),
                "near_pd": rx.near_pd.as_ref().map(pd_json),
                "prescriber": {"name": "Dr. Eva Brandt", "licence_number": "OPT-4711"},
                "issued_on": "2025-01-10",
                "expires_on": "2099-01-10"
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// A patient with the progressive sample prescription: `(patient, prescription)`.
async fn patient_with_progressive_rx(f: &Fixture) -> (String, String) {
    let patient = register_patient(f).await;
    let rx = prescription(f, &patient, &samples::refraction_input()).await;
    (patient, rx)
}

fn frame() -> Value {
    json!({"a_mm": 52, "b_mm": 40, "dbl_mm": 18, "ed_mm": 56,
           "brand": "Lumen Optics", "model": "Aurora 52"})
}

fn progressive_lens() -> Value {
    json!({"description": "Varifocal 1.6", "material": "mid_index", "index": 1.60,
           "design": "progressive", "coatings": ["anti_reflective", "hard_coat"]})
}

fn walk_in_body(patient: &str, rx: &str) -> Value {
    json!({"patient_id": patient, "prescription_id": rx, "frame": frame(),
           "lens": progressive_lens(), "due_on": "2099-02-01", "notes": "rush"})
}

/// Creates a walk-in job and returns its id.
async fn walk_in(f: &Fixture, body: Value) -> String {
    let reply = f.post("/lab/work-orders", body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        reply.headers["location"],
        format!("/api/v1/lab/work-orders/{id}").as_str()
    );
    id
}

fn station_body(name: &str, stages: &[&str]) -> Value {
    json!({"name": name, "stages": stages, "printer": {
        "protocol": "escpos_tcp", "address": "10.0.0.21:9100", "paper": "roll80",
        "ticket_formats": ["escpos", "pdf"]}})
}

async fn station(f: &Fixture, name: &str, stages: &[&str]) -> String {
    let reply = f.post("/lab/stations", station_body(name, stages)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn put(f: &Fixture, path: &str, body: Value) -> Reply {
    let bytes = serde_json::to_vec(&body).unwrap();
    f.send(Method::PUT, path, Some(&f.token), Some(&bytes), &[])
        .await
}

async fn move_to(f: &Fixture, wo: &str, to: &str, station: Option<&str>) -> Reply {
    f.post(
        &format!("/lab/work-orders/{wo}/stage"),
        json!({"to": to, "station_id": station}),
    )
    .await
}

async fn moved(f: &Fixture, wo: &str, to: &str, station: Option<&str>) {
    let reply = move_to(f, wo, to, station).await;
    assert_eq!(reply.status, StatusCode::OK, "{to}: {:?}", reply.body);
}

async fn work_order(f: &Fixture, wo: &str) -> Value {
    let reply = f.get(&format!("/lab/work-orders/{wo}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body
}

async fn inspect(f: &Fixture, wo: &str, body: Value) -> Reply {
    f.post(&format!("/lab/work-orders/{wo}/inspection"), body)
        .await
}

/// Readings exactly as the progressive sample was ordered; the left lens read in plus
/// cylinder (+0.25 / +0.75 × 175 is +1.00 / −0.75 × 085).
fn readings_as_ordered() -> Value {
    json!({
        "right": {"sphere": 1.25, "cylinder": -0.5, "axis": 90, "add": 2.0},
        "left": {"sphere": 0.25, "cylinder": 0.75, "axis": 175, "add": 2.0}
    })
}

fn fields(reply: &Reply) -> Vec<(String, String)> {
    reply.body["errors"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

async fn access_endpoints(f: &Fixture, patient: &str) -> Vec<String> {
    let log = f
        .get(&format!("/customers/patients/{patient}/access-log"))
        .await;
    assert_eq!(log.status, StatusCode::OK, "{:?}", log.body);
    log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["endpoint"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn stations_are_created_replaced_listed_and_validated_per_tenant() {
    let f = Fixture::new().await;
    let body = station_body("Edger 2", &["edging", "mounting"]);
    let created = f
        .post_with_key("/lab/stations", body.clone(), "station-1")
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let location = format!("/api/v1/lab/stations/{id}");
    assert_eq!(created.headers["location"], location.as_str());
    let replay = f.post_with_key("/lab/stations", body, "station-1").await;
    assert_eq!(replay.raw, created.raw);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.headers["location"], location.as_str());
    assert_eq!(f.count_events("lab.station.created").await, 1);

    let shown = f.get(&format!("/lab/stations/{id}")).await;
    assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
    assert_eq!(
        shown.body,
        json!({"id": id, "name": "Edger 2", "stages": ["edging", "mounting"], "printer": {
            "protocol": "escpos_tcp", "address": "10.0.0.21:9100", "paper": "roll80",
            "ticket_formats": ["escpos", "pdf"], "sent_format": "escpos"}})
    );

    // Replacing the settings; the same settings again change nothing.
    let ipp = json!({"name": "QA desk", "stages": ["final_inspection", "completed"], "printer": {
        "protocol": "ipp", "address": "ipp://printer.lab.local/ipp/print", "paper": "a6",
        "ticket_formats": ["pdf"]}});
    let replaced = put(&f, &format!("/lab/stations/{id}"), ipp.clone()).await;
    assert_eq!(replaced.status, StatusCode::OK, "{:?}", replaced.body);
    assert!(replaced.body["consistency_token"].is_string());
    let again = put(&f, &format!("/lab/stations/{id}"), ipp).await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    assert!(again.body["consistency_token"].is_null());
    let shown = f.get(&format!("/lab/stations/{id}")).await.body;
    assert_eq!(shown["name"], "QA desk");
    assert_eq!(shown["stages"], json!(["final_inspection", "completed"]));
    assert_eq!(shown["printer"]["sent_format"], "pdf");
    assert_eq!(shown["printer"]["paper"], "a6");

    let second = station(&f, "Front desk", &["received", "shipped"]).await;
    let list = f.get("/lab/stations").await;
    assert_eq!(list.status, StatusCode::OK, "{:?}", list.body);
    let ids: Vec<&str> = list.body["stations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str(), second.as_str()]);

    // A printer that cannot work is malformed (400), naming the field; other bad values 422.
    let with_printer = |protocol: &str, address: &str, paper: &str, formats: Value| {
        json!({"name": "Bench", "stages": ["surfacing"], "printer": {
            "protocol": protocol, "address": address, "paper": paper, "ticket_formats": formats}})
    };
    for (body, field, code) in [
        (
            with_printer(
                "escpos_tcp",
                "http://10.0.0.5/print",
                "roll58",
                json!(["escpos"]),
            ),
            "/printer/address",
            "invalid_printer_address",
        ),
        (
            with_printer("escpos_tcp", "10.0.0.5:70000", "roll58", json!(["escpos"])),
            "/printer/address",
            "invalid_printer_address",
        ),
        (
            with_printer("ipp", "printer.local", "a6", json!(["pdf"])),
            "/printer/address",
            "invalid_printer_address",
        ),
        (
            with_printer(
                "ipp",
                "ipp://printer.local/ipp",
                "roll80",
                json!(["escpos"]),
            ),
            "/printer/ticket_formats",
            "unsupported_ticket_format",
        ),
        (
            with_printer("escpos_tcp", "10.0.0.5", "a6", json!(["escpos"])),
            "/printer/paper",
            "paper_needs_pdf",
        ),
    ] {
        let reply = f.post("/lab/stations", body).await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid_printer");
        assert_eq!(fields(&reply), pairs(&[(field, code)]));
    }
    let mut both = with_printer("escpos_tcp", "", "roll58", json!(["escpos"]));
    both["name"] = json!(" ");
    let reply = f.post("/lab/stations", both).await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid_printer");
    assert_eq!(
        fields(&reply),
        pairs(&[("/printer/address", "empty"), ("/name", "empty")])
    );
    for (stages, field, code) in [
        (json!([]), "/stages", "no_stages"),
        (
            json!(["surfacing", "on_hold"]),
            "/stages/1",
            "not_a_production_stage",
        ),
    ] {
        let mut body = station_body("Bench", &[]);
        body["stages"] = stages;
        let reply = f.post("/lab/stations", body).await;
        assert_problem(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_eq!(fields(&reply), pairs(&[(field, code)]));
    }
    let mut unknown = station_body("Bench", &[]);
    unknown["stages"] = json!(["polishing"]);
    let reply = f.post("/lab/stations", unknown).await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid_body");
    assert_eq!(reply.body["errors"][0]["field"], "/stages/0");
    assert_eq!(f.count_events("lab.station.created").await, 2);

    // Unknown and another tenant's stations are not found; station management is its own scope.
    let unknown_id = uuid::Uuid::now_v7();
    let reply = put(
        &f,
        &format!("/lab/stations/{unknown_id}"),
        station_body("X", &["edging"]),
    )
    .await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "station_not_found");
    let intruder = token(optical_kernel::TenantId::new(), &all_scopes());
    let path = format!("/lab/stations/{id}");
    let reply = f.send(Method::GET, &path, Some(&intruder), None, &[]).await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "station_not_found");
    let bytes = serde_json::to_vec(&station_body("Mine now", &["edging"])).unwrap();
    let reply = f
        .send(Method::PUT, &path, Some(&intruder), Some(&bytes), &[])
        .await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "station_not_found");
    let theirs = f
        .send(Method::GET, "/lab/stations", Some(&intruder), None, &[])
        .await;
    assert_eq!(theirs.body, json!({"stations": []}));
    let bench_hand = token(f.tenant, &["lab:read", "lab:write"]);
    let reply = f
        .send(
            Method::POST,
            "/lab/stations",
            Some(&bench_hand),
            Some(&bytes),
            &[],
        )
        .await;
    assert_problem(&reply, StatusCode::FORBIDDEN, "insufficient_scope");
    assert_eq!(f.get(&path).await.body["name"], "QA desk");
}

#[tokio::test]
async fn a_walk_in_job_moves_through_its_stations_and_completes_after_passing_qa() {
    let f = Fixture::new().await;
    let front = station(&f, "Front desk", &["received", "shipped"]).await;
    let bench = station(&f, "Surfacing bench", &["surfacing"]).await;
    let coater = station(&f, "Coater", &["coating"]).await;
    let edger = station(&f, "Edger", &["edging", "mounting"]).await;
    let qa = station(&f, "QA desk", &["final_inspection", "completed"]).await;
    let (patient, rx) = patient_with_progressive_rx(&f).await;

    let body = walk_in_body(&patient, &rx);
    let created = f
        .post_with_key("/lab/work-orders", body.clone(), "walk-in-1")
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let wo = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.headers["location"],
        format!("/api/v1/lab/work-orders/{wo}").as_str()
    );
    let replay = f.post_with_key("/lab/work-orders", body, "walk-in-1").await;
    assert_eq!(replay.raw, created.raw);
    assert_eq!(replay.headers["location"], created.headers["location"]);
    assert_eq!(f.count_events("lab.work_order.created").await, 1);
    // Command responses never carry the job.
    let text = String::from_utf8_lossy(&created.raw);
    assert!(!text.contains("A. L.") && !text.contains("1.25"), "{text}");

    let shown = work_order(&f, &wo).await;
    assert!(shown["number"].as_str().unwrap().starts_with("WO-"));
    assert_eq!(shown["stage"], "received");
    // The first station (by creation) serving `received` receives the job.
    assert_eq!(shown["station_id"], front.as_str());
    assert_eq!(shown["order_id"], Value::Null);
    assert_eq!(shown["patient_id"], patient.as_str());
    assert_eq!(shown["prescription_id"], rx.as_str());
    assert_eq!(shown["erased"], false);
    assert_eq!(shown["patient_initials"], "A. L.");
    assert_eq!(shown["due_on"], "2099-02-01");
    assert_eq!(shown["notes"], "rush");
    assert_eq!(
        shown["frame"],
        json!({"a_mm": 52.0, "b_mm": 40.0, "dbl_mm": 18.0, "ed_mm": 56.0,
               "brand": "Lumen Optics", "model": "Aurora 52"})
    );
    assert_eq!(
        shown["lens"],
        json!({"description": "Varifocal 1.6", "material": "mid_index", "index": 1.6,
               "design": "progressive", "coatings": ["anti_reflective", "hard_coat"],
               "tint": null, "tolerance_table": "progressive"})
    );
    let prescription = &shown["prescription"];
    assert_eq!(prescription["right"]["sphere"], 1.25);
    assert_eq!(prescription["right"]["cylinder"], -0.5);
    assert_eq!(prescription["right"]["axis"], 90);
    assert_eq!(prescription["left"]["axis"], 85);
    assert_eq!(prescription["left"]["add"], 2.0);
    assert_eq!(prescription["pd"], json!({"right": 31.5, "left": 32.0}));
    // Frame PD 52 + 18 = 70; (70 / 2) − 31.5 = 3.5 mm and 35 − 32 = 3 mm inward; blanks
    // 56 + 2 × 3.5 + 2 = 65 and 56 + 2 × 3 + 2 = 64 mm. Prentice: 0.35 cm × 0.75 D (the
    // horizontal power of +1.25 / −0.50 × 90) = 0.26 Δ and 0.30 cm × (1.00 − 0.75 sin² 85°) =
    // 0.08 Δ, both base out on plus lenses decentred inward.
    assert_eq!(
        shown["geometry"],
        json!({"frame_pd_mm": 70.0,
               "right": {"decentration_mm": 3.5, "minimum_blank_mm": 65.0,
                         "induced_prism": {"amount": 0.26, "base": "out"}},
               "left": {"decentration_mm": 3.0, "minimum_blank_mm": 64.0,
                        "induced_prism": {"amount": 0.08, "base": "out"}}})
    );
    assert_eq!(shown["inspection"], Value::Null);
    assert_eq!(shown["remake_offered"], false);

    // A named station must serve the stage, and exist in this tenant.
    let wrong = move_to(&f, &wo, "coating", Some(&bench)).await;
    assert_problem(
        &wrong,
        StatusCode::UNPROCESSABLE_ENTITY,
        "station_does_not_serve_stage",
    );
    assert_eq!(wrong.body["errors"][0]["field"], "/station_id");
    let unknown = uuid::Uuid::now_v7().to_string();
    let missing = move_to(&f, &wo, "surfacing", Some(&unknown)).await;
    assert_problem(&missing, StatusCode::NOT_FOUND, "station_not_found");
    let malformed = move_to(&f, &wo, "surfacing", Some("bench-1")).await;
    assert_problem(
        &malformed,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(work_order(&f, &wo).await["stage"], "received");

    moved(&f, &wo, "surfacing", Some(&bench)).await;
    moved(&f, &wo, "coating", Some(&coater)).await;
    moved(&f, &wo, "edging", Some(&edger)).await;
    moved(&f, &wo, "mounting", Some(&edger)).await;
    // Moving to the stage it is at changes nothing.
    let same = move_to(&f, &wo, "mounting", Some(&edger)).await;
    assert_eq!(same.status, StatusCode::OK, "{:?}", same.body);
    assert!(same.body["consistency_token"].is_null());
    moved(&f, &wo, "final_inspection", Some(&qa)).await;
    let early = move_to(&f, &wo, "completed", None).await;
    assert_problem(&early, StatusCode::CONFLICT, "inspection_not_passed");

    let passed = inspect(&f, &wo, readings_as_ordered()).await;
    assert_eq!(passed.status, StatusCode::OK, "{:?}", passed.body);
    assert_eq!(passed.body["passed"], true);
    assert_eq!(passed.body["remake_offered"], false);
    assert_eq!(passed.body["id"], wo.as_str());
    assert_eq!(
        passed.body["work_order_url"],
        format!("/api/v1/lab/work-orders/{wo}").as_str()
    );
    let shown = work_order(&f, &wo).await;
    let inspection = &shown["inspection"];
    assert_eq!(inspection["passed"], true);
    assert_eq!(inspection["table"], "progressive");
    assert_eq!(inspection["inspected_by"], "user:test");
    let right = &inspection["results"]["right"];
    assert_eq!(right["passed"], true);
    assert_eq!(
        right["sphere"],
        json!({"ordered": 1.25, "measured": 1.25, "deviation": 0.0, "passed": true,
               "tolerance": {"kind": "dioptres", "limit": 0.16, "percent": null, "text": "±0.16 D"}})
    );
    // The axis tolerance follows the ordered cylinder: ±7° for 0.50 D, ±5° for 0.75 D.
    assert_eq!(right["axis"]["tolerance"]["limit"], 7.0);
    assert_eq!(right["axis"]["tolerance"]["kind"], "degrees");
    let left = &inspection["results"]["left"];
    assert_eq!(left["axis"]["tolerance"]["text"], "±5°");
    assert_eq!(left["axis"]["measured"], 85);
    assert_eq!(left["sphere"]["measured"], 1.0);
    assert_eq!(left["cylinder"]["measured"], -0.75);
    assert_eq!(left["add"]["tolerance"]["limit"], 0.12);
    assert_eq!(left["prism"]["ordered"], Value::Null);
    assert_eq!(left["prism"]["passed"], true);
    assert_eq!(shown["remake_offered"], false);

    moved(&f, &wo, "completed", Some(&qa)).await;
    // No station named: the first serving `shipped` is recorded.
    moved(&f, &wo, "shipped", None).await;
    let shown = work_order(&f, &wo).await;
    assert_eq!(shown["stage"], "shipped");
    assert_eq!(shown["station_id"], front.as_str());
    let history = shown["history"].as_array().unwrap();
    let steps: Vec<(&Value, &str, &str)> = history
        .iter()
        .map(|h| {
            (
                &h["from"],
                h["to"].as_str().unwrap(),
                h["station_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (&Value::Null, "received", front.as_str()),
            (&json!("received"), "surfacing", bench.as_str()),
            (&json!("surfacing"), "coating", coater.as_str()),
            (&json!("coating"), "edging", edger.as_str()),
            (&json!("edging"), "mounting", edger.as_str()),
            (&json!("mounting"), "final_inspection", qa.as_str()),
            (&json!("final_inspection"), "completed", qa.as_str()),
            (&json!("completed"), "shipped", front.as_str()),
        ]
    );
    // Each stage lasted from its entry until the next one; the current one is still running.
    for (entry, next) in history.iter().zip(history.iter().skip(1)) {
        assert_eq!(entry["left_at"], next["at"]);
        let at = chrono::DateTime::parse_from_rfc3339(entry["at"].as_str().unwrap()).unwrap();
        let left_at = chrono::DateTime::parse_from_rfc3339(next["at"].as_str().unwrap()).unwrap();
        let ms = entry["time_in_stage_ms"].as_i64().unwrap();
        assert_eq!(ms, (left_at - at).num_milliseconds());
        assert!(ms >= 0);
        assert_eq!(entry["actor"], "user:test");
    }
    let last = history.last().unwrap();
    assert_eq!(last["left_at"], Value::Null);
    assert_eq!(last["time_in_stage_ms"], Value::Null);
    let reversal = move_to(&f, &wo, "final_inspection", None).await;
    assert_problem(&reversal, StatusCode::CONFLICT, "work_order_shipped");
    assert_eq!(f.count_events("lab.work_order.inspected").await, 1);
}

#[tokio::test]
async fn stages_may_be_skipped_but_never_reversed_and_holds_resume_where_they_were() {
    let f = Fixture::new().await;
    let (patient, rx) = patient_with_progressive_rx(&f).await;
    let mut body = walk_in_body(&patient, &rx);
    body.as_object_mut().unwrap().remove("frame");
    let wo = walk_in(&f, body).await;
    let shown = work_order(&f, &wo).await;
    // No station serves `received`, and the frame is not known yet.
    assert_eq!(shown["station_id"], Value::Null);
    assert_eq!(shown["frame"], Value::Null);
    assert_eq!(shown["geometry"], Value::Null);

    // The frame arrives before edging; ill-formed measurements name their fields.
    let path = format!("/lab/work-orders/{wo}/frame");
    let bad = put(
        &f,
        &path,
        json!({"a_mm": 20, "b_mm": 40, "dbl_mm": 18.05, "ed_mm": 56, "brand": ""}),
    )
    .await;
    assert_problem(&bad, StatusCode::BAD_REQUEST, "invalid_frame");
    assert_eq!(
        fields(&bad),
        pairs(&[
            ("/a_mm", "out_of_range"),
            ("/dbl_mm", "off_step"),
            ("/brand", "empty")
        ])
    );
    let measured = put(&f, &path, frame()).await;
    assert_eq!(measured.status, StatusCode::OK, "{:?}", measured.body);
    let shown = work_order(&f, &wo).await;
    assert_eq!(shown["frame"]["a_mm"], 52.0);
    assert_eq!(shown["geometry"]["right"]["decentration_mm"], 3.5);

    // Surfacing and coating are skipped; going back is refused, as is skipping inspection.
    moved(&f, &wo, "edging", None).await;
    let back = move_to(&f, &wo, "surfacing", None).await;
    assert_problem(&back, StatusCode::CONFLICT, "stage_reversal");
    let skip = move_to(&f, &wo, "completed", None).await;
    assert_problem(&skip, StatusCode::CONFLICT, "stage_not_skippable");
    let held = move_to(&f, &wo, "on_hold", None).await;
    assert_problem(
        &held,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_a_production_stage",
    );
    assert_eq!(held.body["errors"][0]["field"], "/to");
    let late = put(
        &f,
        &path,
        json!({"a_mm": 54, "b_mm": 40, "dbl_mm": 18, "ed_mm": 58}),
    )
    .await;
    assert_problem(&late, StatusCode::CONFLICT, "frame_too_late");

    // Held at edging, resumed at edging.
    let empty = f
        .post(
            &format!("/lab/work-orders/{wo}/hold"),
            json!({"reason": " "}),
        )
        .await;
    assert_problem(
        &empty,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(fields(&empty), pairs(&[("/reason", "empty")]));
    let hold = f
        .post_with_key(
            &format!("/lab/work-orders/{wo}/hold"),
            json!({"reason": "waiting for the patient's frame"}),
            "hold-1",
        )
        .await;
    assert_eq!(hold.status, StatusCode::OK, "{:?}", hold.body);
    let again = f
        .post_with_key(
            &format!("/lab/work-orders/{wo}/hold"),
            json!({"reason": "waiting for the patient's frame"}),
            "hold-1",
        )
        .await;
    assert_eq!(again.raw, hold.raw);
    let shown = work_order(&f, &wo).await;
    assert_eq!(shown["stage"], "on_hold");
    assert_eq!(shown["held_from"], "edging");
    assert_eq!(
        shown["history"].as_array().unwrap().last().unwrap()["reason"],
        "waiting for the patient's frame"
    );
    let blocked = move_to(&f, &wo, "mounting", None).await;
    assert_problem(&blocked, StatusCode::CONFLICT, "work_order_on_hold");
    let inspecting = inspect(&f, &wo, readings_as_ordered()).await;
    assert_problem(&inspecting, StatusCode::CONFLICT, "not_at_final_inspection");
    let resumed = f
        .post(&format!("/lab/work-orders/{wo}/resume"), json!({}))
        .await;
    assert_eq!(resumed.status, StatusCode::OK, "{:?}", resumed.body);
    let shown = work_order(&f, &wo).await;
    assert_eq!(shown["stage"], "edging");
    assert_eq!(shown["held_from"], Value::Null);
    let not_held = f
        .post(&format!("/lab/work-orders/{wo}/resume"), json!({}))
        .await;
    assert_problem(&not_held, StatusCode::CONFLICT, "work_order_not_on_hold");

    // Held again and resumed forward, skipping mounting, at a station that serves the stage.
    let qa = station(&f, "QA desk", &["final_inspection"]).await;
    let hold = f
        .post(
            &format!("/lab/work-orders/{wo}/hold"),
            json!({"reason": "edger down"}),
        )
        .await;
    assert_eq!(hold.status, StatusCode::OK, "{:?}", hold.body);
    let unknown = uuid::Uuid::now_v7().to_string();
    let resumed = f
        .post(
            &format!("/lab/work-orders/{wo}/resume"),
            json!({"to": "final_inspection", "station_id": unknown}),
        )
        .await;
    assert_problem(&resumed, StatusCode::NOT_FOUND, "station_not_found");
    let resumed = f
        .post(
            &format!("/lab/work-orders/{wo}/resume"),
            json!({"to": "final_inspection", "station_id": qa}),
        )
        .await;
    assert_eq!(resumed.status, StatusCode::OK, "{:?}", resumed.body);
    let shown = work_order(&f, &wo).await;
    assert_eq!(shown["stage"], "final_inspection");
    assert_eq!(shown["station_id"], qa.as_str());

    // Cancelled: nothing moves it any more; cancelling again changes nothing.
    let cancelled = f
        .post(
            &format!("/lab/work-orders/{wo}/cancel"),
            json!({"reason": "patient changed their mind"}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{:?}", cancelled.body);
    let again = f
        .post(
            &format!("/lab/work-orders/{wo}/cancel"),
            json!({"reason": "patient changed their mind"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    assert!(again.body["consistency_token"].is_null());
    let dead = move_to(&f, &wo, "completed", None).await;
    assert_problem(&dead, StatusCode::CONFLICT, "work_order_cancelled");
    let shown = work_order(&f, &wo).await;
    let stages: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "received",
            "edging",
            "on_hold",
            "edging",
            "on_hold",
            "final_inspection",
            "cancelled"
        ]
    );
    let unknown = uuid::Uuid::now_v7();
    let reply = move_to(&f, &unknown.to_string(), "edging", None).await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "work_order_not_found");
}

#[tokio::test]
async fn a_failed_inspection_offers_a_remake_linked_to_the_original_which_stops() {
    let f = Fixture::new().await;
    let (patient, rx) = patient_with_progressive_rx(&f).await;
    let wo = walk_in(&f, walk_in_body(&patient, &rx)).await;
    let original_number = work_order(&f, &wo).await["number"].clone();

    let early = f
        .post(
            &format!("/lab/work-orders/{wo}/remake"),
            json!({"reason": "power"}),
        )
        .await;
    assert_problem(&early, StatusCode::CONFLICT, "remake_before_inspection");
    let early = inspect(&f, &wo, readings_as_ordered()).await;
    assert_problem(&early, StatusCode::CONFLICT, "not_at_final_inspection");
    moved(&f, &wo, "final_inspection", None).await;

    // A lens left out reaches the work order, which refuses it.
    let mut one = readings_as_ordered();
    one.as_object_mut().unwrap().remove("left");
    let reply = inspect(&f, &wo, one).await;
    assert_problem(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "measurements_missing",
    );
    assert_eq!(fields(&reply), pairs(&[("/left", "measurements_missing")]));
    let reply = inspect(&f, &wo, json!({"right": null})).await;
    assert_problem(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "measurements_missing",
    );
    assert_eq!(reply.body["errors"][0]["field"], "/right");
    // So does a value the order needs: an axis with the cylinder, the add.
    let mut no_axis = readings_as_ordered();
    no_axis["right"].as_object_mut().unwrap().remove("axis");
    let reply = inspect(&f, &wo, no_axis).await;
    assert_problem(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_measurement",
    );
    assert_eq!(
        fields(&reply),
        pairs(&[("/right/axis", "missing_measurement")])
    );

    // Ill-formed readings are malformed input, each named by its JSON pointer.
    let mut bad = readings_as_ordered();
    bad["right"]["axis"] = json!(0);
    bad["left"]["axis"] = json!(181);
    bad["left"]["add"] = json!(1e12);
    bad["left"]["prism"] = json!({"amount": -1e300, "base": "in"});
    let reply = inspect(&f, &wo, bad).await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid_measurements");
    assert_eq!(
        fields(&reply),
        pairs(&[
            ("/right/axis", "axis_out_of_range"),
            ("/left/axis", "axis_out_of_range"),
            ("/left/add", "not_finite"),
            ("/left/prism/amount", "not_finite"),
        ])
    );
    let mut fraction = readings_as_ordered();
    fraction["left"]["axis"] = json!(84.5);
    let reply = inspect(&f, &wo, fraction).await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid_measurements");
    assert_eq!(fields(&reply), pairs(&[("/left/axis", "axis_not_whole")]));
    let mut text = readings_as_ordered();
    text["left"]["sphere"] = json!("plus one");
    let reply = inspect(&f, &wo, text).await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid_body");
    assert_eq!(fields(&reply), pairs(&[("/left/sphere", "invalid_type")]));
    assert_eq!(f.count_events("lab.work_order.inspected").await, 0);

    // The right lens is 0.50 D too strong: outside ±0.16 D.
    let mut strong = readings_as_ordered();
    strong["right"]["sphere"] = json!(1.75);
    let failed = f
        .post_with_key(
            &format!("/lab/work-orders/{wo}/inspection"),
            strong.clone(),
            "qa-1",
        )
        .await;
    assert_eq!(failed.status, StatusCode::OK, "{:?}", failed.body);
    assert_eq!(failed.body["passed"], false);
    assert_eq!(failed.body["remake_offered"], true);
    let replay = f
        .post_with_key(&format!("/lab/work-orders/{wo}/inspection"), strong, "qa-1")
        .await;
    assert_eq!(replay.status, StatusCode::OK, "{:?}", replay.body);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.body, failed.body);
    assert_eq!(f.count_events("lab.work_order.inspected").await, 1);
    let shown = work_order(&f, &wo).await;
    assert_eq!(shown["remake_offered"], true);
    let inspection = &shown["inspection"];
    assert_eq!(inspection["passed"], false);
    assert_eq!(inspection["results"]["right"]["passed"], false);
    assert_eq!(inspection["results"]["right"]["sphere"]["deviation"], 0.5);
    assert_eq!(inspection["results"]["right"]["sphere"]["passed"], false);
    assert_eq!(inspection["results"]["right"]["cylinder"]["passed"], true);
    assert_eq!(inspection["results"]["left"]["passed"], true);
    let done = move_to(&f, &wo, "completed", None).await;
    assert_problem(&done, StatusCode::CONFLICT, "inspection_not_passed");

    // The remake is a new work order linked to the original, which stops.
    let remake_path = format!("/lab/work-orders/{wo}/remake");
    let bad_notes = f
        .post(&remake_path, json!({"reason": "power", "notes": ""}))
        .await;
    assert_problem(
        &bad_notes,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let unknown_reason = f.post(&remake_path, json!({"reason": "bad_luck"})).await;
    assert_problem(&unknown_reason, StatusCode::BAD_REQUEST, "invalid_body");
    let remade = f
        .post_with_key(
            &remake_path,
            json!({"reason": "power", "notes": "right lens +0.50 D off"}),
            "remake-1",
        )
        .await;
    assert_eq!(remade.status, StatusCode::CREATED, "{:?}", remade.body);
    let remake = remade.body["id"].as_str().unwrap().to_owned();
    assert_ne!(remake, wo);
    assert_eq!(
        remade.headers["location"],
        format!("/api/v1/lab/work-orders/{remake}").as_str()
    );
    let replay = f
        .post_with_key(
            &remake_path,
            json!({"reason": "power", "notes": "right lens +0.50 D off"}),
            "remake-1",
        )
        .await;
    assert_eq!(replay.raw, remade.raw);
    assert_eq!(replay.headers["location"], remade.headers["location"]);
    // Asked again for the same reason, the same remake answers; another reason is refused.
    let again = f.post(&remake_path, json!({"reason": "power"})).await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    assert_eq!(again.body["id"], remake.as_str());
    let other = f.post(&remake_path, json!({"reason": "fit"})).await;
    assert_problem(&other, StatusCode::CONFLICT, "already_remade");
    assert_eq!(f.count_events("lab.work_order.created").await, 2);

    let original = work_order(&f, &wo).await;
    assert_eq!(original["stage"], "cancelled");
    assert_eq!(original["remake_offered"], false);
    assert_eq!(original["remake"]["work_order_id"], remake.as_str());
    assert_eq!(original["remake"]["reason"], "power");
    assert_eq!(original["remake"]["notes"], "right lens +0.50 D off");
    assert_eq!(
        original["remake"]["url"],
        format!("/api/v1/lab/work-orders/{remake}").as_str()
    );
    assert_eq!(
        original["history"].as_array().unwrap().last().unwrap()["reason"],
        "remade (power)"
    );
    let new = work_order(&f, &remake).await;
    assert_eq!(new["stage"], "received");
    assert_ne!(new["number"], original_number);
    assert_eq!(
        new["remake_of"],
        json!({"work_order_id": wo, "number": original_number, "reason": "power",
               "url": format!("/api/v1/lab/work-orders/{wo}")})
    );
    assert_eq!(new["notes"], "right lens +0.50 D off");
    assert_eq!(new["prescription"], original["prescription"]);
    assert_eq!(new["frame"], original["frame"]);
    assert_eq!(new["lens"], original["lens"]);
    assert_eq!(new["geometry"], original["geometry"]);
    assert_eq!(new["inspection"], Value::Null);
    assert_eq!(new["remake"], Value::Null);
}

#[tokio::test]
async fn walk_in_jobs_need_a_usable_prescription_and_well_formed_values() {
    let f = Fixture::new().await;
    let patient = register_patient(&f).await;
    let single_vision = prescription(
        &f,
        &patient,
        &samples::single_vision_refraction().to_input(),
    )
    .await;
    // A progressive lens needs an addition.
    let reply = f
        .post("/lab/work-orders", walk_in_body(&patient, &single_vision))
        .await;
    assert_problem(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "addition_required",
    );
    assert_eq!(reply.body["errors"][0]["field"], "/lens/design");
    let other_patient = register_patient(&f).await;
    let reply = f
        .post(
            "/lab/work-orders",
            walk_in_body(&other_patient, &single_vision),
        )
        .await;
    assert_problem(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "prescription_subject_mismatch",
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    let reply = f
        .post("/lab/work-orders", walk_in_body(&patient, &unknown))
        .await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "prescription_not_found");
    let reply = f
        .post("/lab/work-orders", walk_in_body(&unknown, &single_vision))
        .await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "patient_not_found");

    // Ill-formed frames answer 400 naming every bad field of the body; other values 422.
    let mut body = walk_in_body(&patient, &single_vision);
    body["frame"]["ed_mm"] = json!(50);
    body["lens"]["index"] = json!(1.55);
    let reply = f.post("/lab/work-orders", body).await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid_frame");
    assert_eq!(
        fields(&reply),
        pairs(&[
            ("/frame/ed_mm", "out_of_range"),
            ("/lens/index", "unsupported_lens_index")
        ])
    );
    let mut body = walk_in_body(&patient, &single_vision);
    body["patient_id"] = json!("ana");
    body["lens"]["tint"] = json!("");
    body["notes"] = json!("x".repeat(1001));
    let reply = f.post("/lab/work-orders", body).await;
    assert_problem(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        fields(&reply),
        pairs(&[
            ("/patient_id", "invalid_value"),
            ("/lens/tint", "empty_text"),
            ("/notes", "too_long"),
        ])
    );
    let mut body = walk_in_body(&patient, &single_vision);
    body["lens"]["coatings"] = json!(["mirror", "hard_coat", "mirror"]);
    let reply = f.post("/lab/work-orders", body).await;
    assert_problem(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(
        fields(&reply),
        pairs(&[("/lens/coatings/2", "duplicate_coating")])
    );

    // A single-vision job with the caller's id, and the id taken by another job.
    let id = uuid::Uuid::now_v7().to_string();
    let mut body = walk_in_body(&patient, &single_vision);
    body["work_order_id"] = json!(id);
    body["lens"] = json!({"material": "polycarbonate", "index": 1.59, "design": "single_vision"});
    let created = walk_in(&f, body.clone()).await;
    assert_eq!(created, id);
    let shown = work_order(&f, &id).await;
    assert_eq!(shown["lens"]["tolerance_table"], "single_vision_multifocal");
    assert_eq!(shown["lens"]["coatings"], json!([]));
    body["notes"] = json!("another job");
    body["lens"]["index"] = json!(1.6);
    let reply = f.post("/lab/work-orders", body).await;
    assert_problem(&reply, StatusCode::CONFLICT, "work_order_already_created");

    // Voided and expired prescriptions cannot be made.
    let progressive = prescription(&f, &patient, &samples::refraction_input()).await;
    let voided = f
        .post(
            &format!("/customers/prescriptions/{progressive}/void"),
            json!({"reason": "entered_in_error"}),
        )
        .await;
    assert_eq!(voided.status, StatusCode::OK, "{:?}", voided.body);
    let reply = f
        .post("/lab/work-orders", walk_in_body(&patient, &progressive))
        .await;
    assert_problem(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "prescription_voided",
    );
    assert_eq!(reply.body["errors"][0]["field"], "/prescription_id");
}

#[tokio::test]
async fn reading_a_work_order_is_audited_and_an_erased_patients_job_is_gone() {
    let f = Fixture::new().await;
    let (patient, rx) = patient_with_progressive_rx(&f).await;
    let wo = walk_in(&f, walk_in_body(&patient, &rx)).await;
    assert!(access_endpoints(&f, &patient).await.is_empty());

    let shown = f.get(&format!("/lab/work-orders/{wo}")).await;
    assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
    assert_eq!(shown.headers["cache-control"], "private, no-store");
    let dcs = f.get(&format!("/lab/work-orders/{wo}/dcs")).await;
    assert_eq!(dcs.status, StatusCode::OK);
    let log = f
        .get(&format!("/customers/patients/{patient}/access-log"))
        .await;
    let entries = log.body["entries"].as_array().unwrap();
    let endpoints: Vec<&str> = entries
        .iter()
        .map(|e| e["endpoint"].as_str().unwrap())
        .collect();
    assert_eq!(
        endpoints,
        [
            "GET /api/v1/lab/work-orders/{work_order_id}",
            "GET /api/v1/lab/work-orders/{work_order_id}/dcs"
        ]
    );
    assert_eq!(entries[0]["actor"], "test");
    assert_eq!(
        entries[0]["request_id"].as_str(),
        shown.headers["x-request-id"].to_str().ok()
    );

    // Another tenant sees nothing, and writes nothing, and nothing is audited for it.
    let intruder = token(optical_kernel::TenantId::new(), &all_scopes());
    for path in [
        format!("/lab/work-orders/{wo}"),
        format!("/lab/work-orders/{wo}/dcs"),
    ] {
        let reply = f.send(Method::GET, &path, Some(&intruder), None, &[]).await;
        assert_problem(&reply, StatusCode::NOT_FOUND, "work_order_not_found");
    }
    let bytes = serde_json::to_vec(&json!({"reason": "mine"})).unwrap();
    let reply = f
        .send(
            Method::POST,
            &format!("/lab/work-orders/{wo}/cancel"),
            Some(&intruder),
            Some(&bytes),
            &[],
        )
        .await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "work_order_not_found");
    let malformed = f.get("/lab/work-orders/WO-000001").await;
    assert_problem(&malformed, StatusCode::NOT_FOUND, "work_order_not_found");
    assert_eq!(access_endpoints(&f, &patient).await.len(), 2);

    // Inspected, then the patient is erased: the job is unreadable everywhere.
    moved(&f, &wo, "final_inspection", None).await;
    let passed = inspect(&f, &wo, readings_as_ordered()).await;
    assert_eq!(passed.body["passed"], true, "{:?}", passed.body);
    let erased = f
        .send(
            Method::DELETE,
            &format!("/customers/patients/{patient}"),
            Some(&f.token),
            None,
            &[],
        )
        .await;
    assert_eq!(erased.status, StatusCode::OK, "{:?}", erased.body);
    let shown = f.get(&format!("/lab/work-orders/{wo}")).await;
    assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
    let view = &shown.body;
    assert_eq!(view["erased"], true);
    for personal in ["patient_initials", "prescription", "geometry"] {
        assert_eq!(view[personal], Value::Null, "{personal}");
    }
    assert_eq!(view["inspection"]["passed"], true);
    assert_eq!(view["inspection"]["results"], Value::Null);
    assert_eq!(view["frame"]["a_mm"], 52.0);
    assert_eq!(view["stage"], "final_inspection");
    let text = String::from_utf8_lossy(&shown.raw);
    assert!(!text.contains("A. L."), "{text}");
    let dcs = f.get(&format!("/lab/work-orders/{wo}/dcs")).await;
    assert_problem(&dcs, StatusCode::GONE, "patient_erased");
    let remake = f
        .post(
            &format!("/lab/work-orders/{wo}/remake"),
            json!({"reason": "breakage"}),
        )
        .await;
    assert_problem(&remake, StatusCode::CONFLICT, "patient_erased");
    let again = f
        .post("/lab/work-orders", walk_in_body(&patient, &rx))
        .await;
    assert_problem(&again, StatusCode::UNPROCESSABLE_ENTITY, "patient_erased");
    assert_eq!(again.body["errors"][0]["field"], "/patient_id");
}

/// A DCS job read back independently of the exporter: every record ends with CR LF, is
/// `LABEL=value`, and per-eye values are `right;left`.
struct Dcs(BTreeMap<String, Vec<String>>);

impl Dcs {
    fn parse(text: &str) -> Self {
        assert!(text.ends_with("\r\n"), "{text:?}");
        let mut records = BTreeMap::new();
        for line in text.split_inclusive('\n') {
            let record = line
                .strip_suffix("\r\n")
                .unwrap_or_else(|| panic!("{line:?} does not end with CR LF"));
            assert!(!record.contains('\r'), "{line:?}");
            let (label, value) = record.split_once('=').unwrap();
            assert!(
                !label.is_empty()
                    && label
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
                "{label}"
            );
            let values: Vec<String> = value.split(';').map(str::to_owned).collect();
            assert!(values.len() <= 2, "{record}");
            assert!(
                records.insert(label.to_owned(), values).is_none(),
                "{label} twice"
            );
        }
        Self(records)
    }

    fn single(&self, label: &str) -> &str {
        let values = self.0.get(label).unwrap_or_else(|| panic!("no {label}"));
        assert_eq!(values.len(), 1, "{label}: {values:?}");
        &values[0]
    }

    fn eyes(&self, label: &str) -> (&str, &str) {
        let values = self.0.get(label).unwrap_or_else(|| panic!("no {label}"));
        assert_eq!(values.len(), 2, "{label}: {values:?}");
        (&values[0], &values[1])
    }

    /// Both eyes as written and as numbers: two decimals, equal to what was given.
    fn assert_numbers(&self, label: &str, right: Option<f64>, left: Option<f64>) {
        let written = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_default();
        let (r, l) = self.eyes(label);
        assert_eq!(
            (r, l),
            (written(right).as_str(), written(left).as_str()),
            "{label}"
        );
        for (text, value) in [(r, right), (l, left)] {
            if let Some(value) = value {
                assert_eq!(text.parse::<f64>().unwrap(), value, "{label}");
            }
        }
    }
}

fn half_or_mono(pd: &PdInput) -> (f64, f64) {
    match *pd {
        PdInput::Binocular(mm) => (mm / 2.0, mm / 2.0),
        PdInput::Monocular { right, left } => (right, left),
    }
}

/// The DCS text of a work order, checked as a download.
async fn dcs(f: &Fixture, wo: &str) -> Dcs {
    let reply = f.get(&format!("/lab/work-orders/{wo}/dcs")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.raw);
    assert_eq!(reply.headers["content-type"], "text/plain; charset=utf-8");
    let number = work_order(f, wo).await["number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        reply.headers["content-disposition"],
        format!("attachment; filename=\"{number}.dcs\"").as_str()
    );
    let parsed = Dcs::parse(std::str::from_utf8(&reply.raw).unwrap());
    assert_eq!(parsed.single("JOB"), number);
    assert_eq!(parsed.single("DO"), "B");
    parsed
}

/// Checks the prescription records against the sample's input.
fn assert_prescription(dcs: &Dcs, rx: &RefractionInput) {
    let (r, l) = (&rx.right, &rx.left);
    dcs.assert_numbers("SPH", Some(r.sphere), Some(l.sphere));
    dcs.assert_numbers(
        "CYL",
        Some(r.cylinder.unwrap_or(0.0)),
        Some(l.cylinder.unwrap_or(0.0)),
    );
    let axis = |eye: &EyeInput| eye.axis.map(|a| format!("{a:.0}")).unwrap_or_default();
    assert_eq!(dcs.eyes("AX"), (axis(r).as_str(), axis(l).as_str()));
    dcs.assert_numbers("ADD", r.add, l.add);
    let (pd_right, pd_left) = half_or_mono(&rx.pd);
    dcs.assert_numbers("IPD", Some(pd_right), Some(pd_left));
    let near = rx.near_pd.as_ref().map(half_or_mono);
    dcs.assert_numbers("NPD", near.map(|n| n.0), near.map(|n| n.1));
    dcs.assert_numbers("SEGHT", r.segment_height, l.segment_height);
    // No prism was prescribed: none, base 0°.
    dcs.assert_numbers("PRVM", Some(0.0), Some(0.0));
    assert_eq!(dcs.eyes("PRVA"), ("0", "0"));
}

#[tokio::test]
async fn the_dcs_export_reads_back_as_the_prescription_frame_and_lens() {
    let f = Fixture::new().await;
    let (patient, rx_id) = patient_with_progressive_rx(&f).await;
    let wo = walk_in(&f, walk_in_body(&patient, &rx_id)).await;
    let job = dcs(&f, &wo).await;
    let rx = samples::refraction_input();
    assert_prescription(&job, &rx);
    // The progressive sample as the brief spells it out, to catch a sample that drifts.
    assert_eq!(job.eyes("SPH"), ("1.25", "1.00"));
    assert_eq!(job.eyes("CYL"), ("-0.50", "-0.75"));
    assert_eq!(job.eyes("AX"), ("90", "85"));
    assert_eq!(job.eyes("ADD"), ("2.00", "2.00"));
    assert_eq!(job.eyes("IPD"), ("31.50", "32.00"));
    assert_eq!(job.eyes("NPD"), ("30.00", "30.00"));
    assert_eq!(job.eyes("SEGHT"), ("18.00", "18.00"));
    // The frame, as sent: A 52, B 40, DBL 18, ED 56.
    let frame = frame();
    let mm = |name: &str| frame[name].as_f64();
    job.assert_numbers("HBOX", mm("a_mm"), mm("a_mm"));
    job.assert_numbers("VBOX", mm("b_mm"), mm("b_mm"));
    job.assert_numbers("FED", mm("ed_mm"), mm("ed_mm"));
    assert_eq!(job.single("DBL"), "18.00");
    // The lens: progressive, mid-index 1.60.
    assert_eq!(job.eyes("LTYP"), ("PR", "PR"));
    assert_eq!(job.eyes("LMATTYPE"), ("MIDINDEX", "MIDINDEX"));
    assert_eq!(job.eyes("LIND"), ("1.60", "1.60"));
    assert_eq!(job.eyes("LDNAM"), ("Varifocal 1.6", "Varifocal 1.6"));

    // A single-vision job without a frame: binocular PD halved, no add, no heights, no box.
    let patient = register_patient(&f).await;
    let single = samples::single_vision_refraction().to_input();
    let rx_id = prescription(&f, &patient, &single).await;
    let mut body = walk_in_body(&patient, &rx_id);
    body.as_object_mut().unwrap().remove("frame");
    body["lens"] = json!({"material": "high_index", "index": 1.67, "design": "single_vision"});
    let wo = walk_in(&f, body).await;
    let job = dcs(&f, &wo).await;
    assert_prescription(&job, &single);
    assert_eq!(job.eyes("SPH"), ("-2.25", "-2.00"));
    assert_eq!(job.eyes("AX"), ("", "180"));
    assert_eq!(job.eyes("IPD"), ("31.50", "31.50"));
    assert_eq!(job.eyes("ADD"), ("", ""));
    assert_eq!(job.eyes("NPD"), ("", ""));
    assert_eq!(job.eyes("SEGHT"), ("", ""));
    for label in ["HBOX", "VBOX", "FED"] {
        assert_eq!(job.eyes(label), ("", ""), "{label}");
    }
    assert_eq!(job.single("DBL"), "");
    assert_eq!(job.eyes("LTYP"), ("SV", "SV"));
    assert_eq!(job.eyes("LMATTYPE"), ("HIINDEX", "HIINDEX"));
    assert_eq!(job.eyes("LIND"), ("1.67", "1.67"));

    let unknown = uuid::Uuid::now_v7();
    let reply = f.get(&format!("/lab/work-orders/{unknown}/dcs")).await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "work_order_not_found");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The number of a tenant's first work order.
const FIRST_NUMBER: &str = "WO-000001";

/// Spools a ticket of the tenant's first work order for its move to edging, as the lab-print
/// process would, straight into the spooler's table.
async fn spool_ticket(
    f: &Fixture,
    spool: &optical_event_store::PrintSpool,
    (wo, station): (&str, &str),
    format: &str,
    destination: optical_event_store::Destination,
    document: &[u8],
) -> String {
    use sha2::Digest;
    let print_job_id = uuid::Uuid::now_v7();
    let inserted = spool
        .enqueue(&optical_event_store::NewPrintJob {
            print_job_id,
            tenant_id: f.tenant,
            work_order_id: wo.parse().unwrap(),
            work_order_number: FIRST_NUMBER.to_owned(),
            station_id: station.parse().unwrap(),
            stage_change_id: uuid::Uuid::now_v7(),
            stage: "edging".into(),
            format: format.into(),
            destination,
            document: document.to_vec(),
            sha256: sha2::Sha256::digest(document).into(),
        })
        .await
        .unwrap();
    assert!(inserted);
    print_job_id.to_string()
}

async fn reprint(f: &Fixture, token: &str, job: &str) -> Reply {
    f.send(
        Method::POST,
        &format!("/lab/print-jobs/{job}/reprint"),
        Some(token),
        None,
        &[],
    )
    .await
}

#[tokio::test]
async fn a_work_orders_tickets_are_listed_downloaded_checked_and_reprinted() {
    let f = Fixture::new().await;
    let (patient, rx) = patient_with_progressive_rx(&f).await;
    let wo = walk_in(&f, walk_in_body(&patient, &rx)).await;
    let edger = station(&f, "Edger 2", &["edging"]).await;
    moved(&f, &wo, "edging", Some(&edger)).await;
    let listed = f.get(&format!("/lab/work-orders/{wo}/print-jobs")).await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    assert_eq!(listed.body, json!({"print_jobs": []}));
    // Not read through the API: that read would be audited too.
    let number = FIRST_NUMBER;

    // What the lab-print process would have spooled for the move to edging: the ESC/POS
    // ticket for the station's printer, which gave up after failing, and a PDF kept copy.
    let spool = optical_event_store::PrintSpool::new(f.db.pool(2));
    let escpos = b"\x1b@Patient: A. L.\n\x1dV\x00".to_vec();
    let pdf = b"%PDF-1.7\nA. L.\n%%EOF\n".to_vec();
    let printer = optical_event_store::Destination::Printer {
        protocol: "escpos_tcp".into(),
        address: "10.0.0.21:9100".into(),
    };
    let at = (wo.as_str(), edger.as_str());
    let sent = spool_ticket(&f, &spool, at, "escpos", printer, &escpos).await;
    let kept = spool_ticket(
        &f,
        &spool,
        at,
        "pdf",
        optical_event_store::Destination::Kept,
        &pdf,
    )
    .await;
    // Parked as the spooler parks a ticket whose printer stayed away (its last failed attempt).
    f.db.client()
        .await
        .execute(
            "UPDATE lab_print_jobs SET state = 'parked', attempts = 1,
                    last_error = 'connection refused', next_attempt_at = now() + interval '30 s'
              WHERE print_job_id = $1",
            &[&sent.parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap();

    // Listed oldest first, without their bytes.
    let listed = f.get(&format!("/lab/work-orders/{wo}/print-jobs")).await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    let jobs = listed.body["print_jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let view = &jobs[0];
    assert_eq!(view["id"], sent.as_str());
    assert_eq!(view["work_order_id"], wo.as_str());
    assert_eq!(view["number"], number);
    assert_eq!(view["station_id"], edger.as_str());
    assert_eq!(view["stage"], "edging");
    assert_eq!(view["format"], "escpos");
    assert_eq!(
        view["destination"],
        json!({"protocol": "escpos_tcp", "address": "10.0.0.21:9100"})
    );
    assert_eq!(view["state"], "parked");
    assert_eq!(view["attempts"], 1);
    assert_eq!(view["next_attempt_at"], Value::Null);
    assert_eq!(view["last_error"], "connection refused");
    assert_eq!(view["reprints"], 0);
    assert!(view["created_at"].is_string());
    assert_eq!(view["printed_at"], Value::Null);
    assert_eq!(view["sha256"], sha256_hex(&escpos).as_str());
    assert_eq!(view["size_bytes"], escpos.len());
    assert_eq!(
        view["links"],
        json!({"document": format!("/api/v1/lab/print-jobs/{sent}/document"),
               "reprint": format!("/api/v1/lab/print-jobs/{sent}/reprint")})
    );
    assert!(view.get("document").is_none());
    let copy = &jobs[1];
    assert_eq!(copy["id"], kept.as_str());
    assert_eq!(copy["format"], "pdf");
    assert_eq!(copy["destination"], Value::Null);
    assert_eq!(copy["state"], "kept");
    assert!(!String::from_utf8_lossy(&listed.raw).contains("A. L."));

    // One by one: the same view.
    let shown = f.get(&format!("/lab/print-jobs/{sent}")).await;
    assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
    assert_eq!(&shown.body, view);
    assert!(access_endpoints(&f, &patient).await.is_empty());

    // The documents, byte for byte, each download audited.
    let download = f.get(&format!("/lab/print-jobs/{sent}/document")).await;
    assert_eq!(download.status, StatusCode::OK, "{:?}", download.body);
    assert_eq!(download.raw, escpos);
    assert_eq!(sha256_hex(&download.raw), view["sha256"].as_str().unwrap());
    assert_eq!(download.headers["content-type"], "application/vnd.escpos");
    assert_eq!(
        download.headers["content-disposition"],
        format!("attachment; filename=\"{number}-edging.escpos\"").as_str()
    );
    assert_eq!(download.headers["cache-control"], "private, no-store");
    let download = f.get(&format!("/lab/print-jobs/{kept}/document")).await;
    assert_eq!(download.status, StatusCode::OK, "{:?}", download.body);
    assert_eq!(download.raw, pdf);
    assert_eq!(download.headers["content-type"], "application/pdf");
    assert_eq!(
        download.headers["content-disposition"],
        format!("attachment; filename=\"{number}-edging.pdf\"").as_str()
    );
    let document = "GET /api/v1/lab/print-jobs/{print_job_id}/document";
    assert_eq!(access_endpoints(&f, &patient).await, [document, document]);

    // The parked ticket goes back to its printer; a kept copy has none.
    let queued = reprint(&f, &f.token, &sent).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{:?}", queued.body);
    assert_eq!(queued.body["id"], sent.as_str());
    assert_eq!(queued.body["state"], "queued");
    assert_eq!(queued.body["attempts"], 0);
    assert_eq!(queued.body["reprints"], 1);
    assert_eq!(queued.body["last_error"], Value::Null);
    assert!(queued.body["next_attempt_at"].is_string());
    let shown = f.get(&format!("/lab/print-jobs/{sent}")).await;
    assert_eq!(shown.body, queued.body);
    let refused = reprint(&f, &f.token, &kept).await;
    assert_problem(&refused, StatusCode::CONFLICT, "print_job_kept");
    assert_eq!(
        spool
            .get(f.tenant, kept.parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .reprints,
        0
    );
    let unknown = uuid::Uuid::now_v7();
    for reply in [
        f.get(&format!("/lab/print-jobs/{unknown}")).await,
        f.get(&format!("/lab/print-jobs/{unknown}/document")).await,
        reprint(&f, &f.token, &unknown.to_string()).await,
        f.get("/lab/print-jobs/not-an-id").await,
    ] {
        assert_problem(&reply, StatusCode::NOT_FOUND, "print_job_not_found");
    }
    let reply = f
        .get(&format!("/lab/work-orders/{unknown}/print-jobs"))
        .await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "work_order_not_found");

    // Another tenant sees none of it, reprints nothing, and nothing is audited for it.
    let intruder = token(optical_kernel::TenantId::new(), &all_scopes());
    let reply = f
        .send(
            Method::GET,
            &format!("/lab/work-orders/{wo}/print-jobs"),
            Some(&intruder),
            None,
            &[],
        )
        .await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "work_order_not_found");
    for path in [
        format!("/lab/print-jobs/{sent}"),
        format!("/lab/print-jobs/{sent}/document"),
    ] {
        let reply = f.send(Method::GET, &path, Some(&intruder), None, &[]).await;
        assert_problem(&reply, StatusCode::NOT_FOUND, "print_job_not_found");
    }
    let reply = reprint(&f, &intruder, &sent).await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "print_job_not_found");
    assert_eq!(
        f.get(&format!("/lab/print-jobs/{sent}")).await.body["reprints"],
        1
    );
    assert_eq!(access_endpoints(&f, &patient).await.len(), 2);

    // Bytes that changed since they were rendered are never answered, nor audited.
    f.db.client()
        .await
        .execute(
            "UPDATE lab_print_jobs SET document = $1 WHERE print_job_id = $2",
            &[
                &b"\x1b@Patient: X. Y.\n".to_vec(),
                &sent.parse::<uuid::Uuid>().unwrap(),
            ],
        )
        .await
        .unwrap();
    let corrupted = f.get(&format!("/lab/print-jobs/{sent}/document")).await;
    assert_problem(
        &corrupted,
        StatusCode::INTERNAL_SERVER_ERROR,
        "print_job_corrupted",
    );
    assert!(!String::from_utf8_lossy(&corrupted.raw).contains("Patient"));
    assert_eq!(access_endpoints(&f, &patient).await.len(), 2);

    // Once the patient is erased, the initials on the tickets are neither shown nor printed.
    let erased = f
        .send(
            Method::DELETE,
            &format!("/customers/patients/{patient}"),
            Some(&f.token),
            None,
            &[],
        )
        .await;
    assert_eq!(erased.status, StatusCode::OK, "{:?}", erased.body);
    let gone = f.get(&format!("/lab/print-jobs/{kept}/document")).await;
    assert_problem(&gone, StatusCode::GONE, "patient_erased");
    let refused = reprint(&f, &f.token, &sent).await;
    assert_problem(&refused, StatusCode::CONFLICT, "patient_erased");
    let listed = f.get(&format!("/lab/work-orders/{wo}/print-jobs")).await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    assert_eq!(listed.body["print_jobs"].as_array().unwrap().len(), 2);
}
