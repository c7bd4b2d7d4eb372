//! The customers endpoints against real PostgreSQL: audited reads and erasure, prescriptions
//! from raw optics (400 naming the field), scans behind expiring signed links.
use crate::api::{assert_problem, Fixture, Reply};
use optical_kernel::Clock as _;
use optical_kernel::FixedClock;
use optical_testkit::api::{all_scopes, token, ApiOptions};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;

/// Registers a patient and returns their id; the answer carries ids and versions only.
pub(crate) async fn register_patient(f: &Fixture) -> String {
    let reply = f
        .post_with_key(
            "/customers/patients",
            json!({
                "given_name": "Ana",
                "family_name": "Lindqvist",
                "date_of_birth": "1984-03-09",
                "sex": "female",
                "contacts": {
                    "email": "ana.lindqvist@example.com",
                    "phone": "+49 30 1234567",
                    "address": {"line1": "Torstraße 1", "city": "Berlin", "country": "de"}
                },
                "preferences": {"email": true}
            }),
            &format!("register-{}", uuid::Uuid::now_v7()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let mut keys: Vec<&String> = reply.body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["consistency_token", "id", "version"]);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// A valid progressive prescription body for `patient`; `change` adjusts it.
pub(crate) fn prescription_body(patient: &str, change: impl FnOnce(&mut Value)) -> Value {
    let mut body = json!({
        "patient_id": patient,
        "right": {"sphere": -2.25, "cylinder": -0.5, "axis": 90, "add": 2.0, "segment_height": 18},
        "left": {"sphere": -2.0, "add": 2.0, "prism": {"amount": 0.5, "base": "in"}},
        "pd": {"right": 31.5, "left": 32},
        "near_pd": 60,
        "prescriber": {"name": "Dr. Eva Brandt", "licence_number": "OPT-4711"},
        "issued_on": "2025-01-10",
        "expires_on": "2099-01-10"
    });
    change(&mut body);
    body
}

pub(crate) async fn record_prescription(f: &Fixture, body: Value) -> String {
    let reply = f.post("/customers/prescriptions", body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn send_bytes(f: &Fixture, path: &str, content_type: &str, bytes: &[u8]) -> Reply {
    send_bytes_with(f, path, content_type, bytes, &[]).await
}

async fn send_bytes_with(
    f: &Fixture,
    path: &str,
    content_type: &str,
    bytes: &[u8],
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = f
        .http
        .post(f.api.url(path))
        .bearer_auth(&f.token)
        .header("content-type", content_type)
        .body(bytes.to_vec());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    reply(request.send().await.unwrap()).await
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let raw = response.bytes().await.unwrap().to_vec();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        raw,
    }
}

/// Follows a download link as anyone would: no bearer token.
async fn follow(f: &Fixture, url: &str) -> Reply {
    reply(f.http.get(url).send().await.unwrap()).await
}

async fn access_log(f: &Fixture, patient: &str) -> Vec<Value> {
    let reply = f
        .get(&format!("/customers/patients/{patient}/access-log"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["entries"].as_array().unwrap().clone()
}

async fn upload_scan(f: &Fixture, prescription: &str, bytes: &[u8]) -> String {
    let uploaded = send_bytes(
        f,
        &format!("/customers/prescriptions/{prescription}/scans"),
        "image/png",
        bytes,
    )
    .await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{:?}", uploaded.body);
    uploaded.body["scan_id"].as_str().unwrap().to_owned()
}

async fn download_url(f: &Fixture, prescription: &str, scan: &str) -> Reply {
    f.post(
        &format!("/customers/prescriptions/{prescription}/scans/{scan}/download-url"),
        json!({}),
    )
    .await
}

/// 4 KiB of a PNG-looking document that differs per call.
fn document() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    let seed = uuid::Uuid::now_v7();
    bytes.extend((0..4096u32).map(|i| seed.as_bytes()[(i % 16) as usize] ^ (i as u8)));
    bytes
}

#[tokio::test]
async fn a_patient_read_is_audited_and_erasure_leaves_nothing_readable() {
    let f = Fixture::new().await;
    let patient = register_patient(&f).await;
    // Idempotency records are stored in clear: they never hold personal data.
    let stored: Vec<String> =
        f.db.client()
            .await
            .query("SELECT response_body::text FROM api_idempotency_keys", &[])
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains("Lindqvist") && !stored[0].contains("example.com"));

    let shown = f.get(&format!("/customers/patients/{patient}")).await;
    assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
    assert_eq!(shown.body["erased"], false);
    let details = &shown.body["details"];
    assert_eq!(details["given_name"], "Ana");
    assert_eq!(details["family_name"], "Lindqvist");
    assert_eq!(details["date_of_birth"], "1984-03-09");
    assert_eq!(details["contacts"]["phone"], "+49301234567");
    assert_eq!(details["contacts"]["address"]["country"], "DE");
    assert_eq!(details["preferences"]["email"], true);

    let log = access_log(&f, &patient).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["actor"], "test");
    assert_eq!(
        log[0]["endpoint"],
        "GET /api/v1/customers/patients/{patient_id}"
    );
    assert_eq!(
        log[0]["request_id"].as_str(),
        shown.headers["x-request-id"].to_str().ok()
    );

    let consent = f
        .post(
            &format!("/customers/patients/{patient}/consents"),
            json!({"kind": "marketing_email", "granted": true, "source": "in_store"}),
        )
        .await;
    assert_eq!(consent.status, StatusCode::OK, "{:?}", consent.body);
    let prescription = record_prescription(&f, prescription_body(&patient, |_| {})).await;
    let scan = upload_scan(&f, &prescription, &document()).await;
    let link = download_url(&f, &prescription, &scan).await;
    assert_eq!(link.status, StatusCode::OK, "{:?}", link.body);
    let url = link.body["url"].as_str().unwrap().to_owned();

    // Another tenant sees none of it.
    let intruder = token(optical_kernel::TenantId::new(), &all_scopes());
    for path in [
        format!("/customers/patients/{patient}"),
        format!("/customers/patients/{patient}/access-log"),
        format!("/customers/prescriptions/{prescription}"),
    ] {
        let reply = f.send(Method::GET, &path, Some(&intruder), None, &[]).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {:?}",
            reply.body
        );
    }
    let erase = f
        .send(
            Method::DELETE,
            &format!("/customers/patients/{patient}"),
            Some(&intruder),
            None,
            &[],
        )
        .await;
    assert_problem(&erase, StatusCode::NOT_FOUND, "patient_not_found");

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

    let shown = f.get(&format!("/customers/patients/{patient}")).await;
    assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
    assert_eq!(shown.body["erased"], true);
    assert!(shown.body.get("details").is_none(), "{:?}", shown.body);
    assert!(shown.body.get("consents").is_none(), "{:?}", shown.body);
    let text = String::from_utf8_lossy(&shown.raw);
    assert!(!text.contains("Ana") && !text.contains("Lindqvist"));

    let rx = f
        .get(&format!("/customers/prescriptions/{prescription}"))
        .await;
    assert_eq!(rx.status, StatusCode::OK, "{:?}", rx.body);
    assert_eq!(rx.body["erased"], true);
    assert!(rx.body.get("refraction").is_none(), "{:?}", rx.body);
    assert!(rx.body.get("prescriber").is_none(), "{:?}", rx.body);
    assert_eq!(rx.body["scans"][0]["scan_id"], scan.as_str());

    // The link handed out before the erasure no longer opens anything, nor is a new one made.
    assert_problem(&follow(&f, &url).await, StatusCode::GONE, "patient_erased");
    assert_problem(
        &download_url(&f, &prescription, &scan).await,
        StatusCode::CONFLICT,
        "patient_erased",
    );
    // Erased is final.
    let again = f
        .post(
            &format!("/customers/patients/{patient}/consents"),
            json!({"kind": "marketing_email", "granted": false, "source": "email"}),
        )
        .await;
    assert_problem(&again, StatusCode::CONFLICT, "patient_erased");
    let endpoints: Vec<String> = access_log(&f, &patient)
        .await
        .iter()
        .map(|e| e["endpoint"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        endpoints,
        [
            "GET /api/v1/customers/patients/{patient_id}",
            "GET /api/v1/customers/patients/{patient_id}",
            "GET /api/v1/customers/prescriptions/{prescription_id}",
        ]
    );
}

#[tokio::test]
async fn ill_formed_optics_answer_400_naming_the_field_and_plus_cylinders_are_stored_transposed() {
    let f = Fixture::new().await;
    let patient = register_patient(&f).await;
    let cases: [(&str, Value, &str, &str); 3] = [
        (
            "/right",
            json!({"sphere": -1.0, "cylinder": -0.75, "axis": 0}),
            "/right/axis",
            "axis_out_of_range",
        ),
        (
            "/right",
            json!({"sphere": -2.10}),
            "/right/sphere",
            "off_step",
        ),
        ("/pd", json!(120), "/pd", "out_of_range"),
    ];
    for (at, value, field, code) in cases {
        let body = prescription_body(&patient, |b| *b.pointer_mut(at).unwrap() = value);
        let reply = f.post("/customers/prescriptions", body).await;
        assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid_refraction");
        let errors = reply.body["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0]["field"], field);
        assert_eq!(errors[0]["code"], code);
    }
    // Every bad field at once, optics or not.
    let body = prescription_body(&patient, |b| {
        b["right"]["sphere"] = json!(-2.1);
        b["left"]["axis"] = json!(90);
        b["prescriber"]["name"] = json!(" ");
    });
    let reply = f.post("/customers/prescriptions", body).await;
    assert_problem(&reply, StatusCode::BAD_REQUEST, "invalid_refraction");
    let fields: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["/right/sphere", "/left/axis", "/prescriber/name"]);
    // Well-formed optics but an invalid other value: 422 as everywhere else.
    let body = prescription_body(&patient, |b| b["prescriber"]["name"] = json!(""));
    let reply = f.post("/customers/prescriptions", body).await;
    assert_problem(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(reply.body["errors"][0]["field"], "/prescriber/name");
    let body = prescription_body(&patient, |b| b["expires_on"] = json!("2024-12-31"));
    let reply = f.post("/customers/prescriptions", body).await;
    assert_problem(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "expiry_not_after_issue",
    );
    assert_eq!(reply.body["errors"][0]["field"], "/expires_on");
    assert_eq!(f.count_events("customers.prescription.recorded").await, 0);

    // −1.00 / +0.50 × 90 in plus form is −0.50 / −0.50 × 180.
    let plus = prescription_body(&patient, |b| {
        b["cylinder_form"] = json!("plus");
        b["right"] = json!({"sphere": -1.0, "cylinder": 0.5, "axis": 90});
        b["left"] = json!({"sphere": 1.25, "cylinder": 0.75, "axis": 135, "add": 1.5});
    });
    let prescription = record_prescription(&f, plus).await;
    let shown = f
        .get(&format!("/customers/prescriptions/{prescription}"))
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
    let refraction = &shown.body["refraction"];
    assert_eq!(refraction["cylinder_form"], "minus");
    assert_eq!(
        (
            &refraction["right"]["sphere"],
            &refraction["right"]["cylinder"],
            &refraction["right"]["axis"]
        ),
        (&json!(-0.5), &json!(-0.5), &json!(180))
    );
    assert_eq!(
        (
            &refraction["left"]["sphere"],
            &refraction["left"]["cylinder"],
            &refraction["left"]["axis"],
            &refraction["left"]["add"]
        ),
        (&json!(2.0), &json!(-0.75), &json!(45), &json!(1.5))
    );
    assert_eq!(refraction["pd"], json!({"right": 31.5, "left": 32.0}));
    assert_eq!(shown.body["prescriber"]["licence_number"], "OPT-4711");
    assert_eq!(shown.body["erased"], false);
    assert_eq!(shown.body["patient_id"], patient.as_str());
}

#[tokio::test]
async fn a_scan_is_downloaded_through_a_signed_link_that_expires_and_cannot_be_altered() {
    let clock = Arc::new(FixedClock::at(chrono::Utc::now()));
    let f = Fixture::with(ApiOptions {
        clock: clock.clone(),
        ..ApiOptions::default()
    })
    .await;
    let patient = register_patient(&f).await;
    let prescription = record_prescription(&f, prescription_body(&patient, |_| {})).await;
    let bytes = document();

    let path = format!("/customers/prescriptions/{prescription}/scans");
    let text = send_bytes(&f, &path, "text/plain", b"not a scan").await;
    assert_problem(
        &text,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let huge = vec![0u8; 20 * 1024 * 1024 + 1];
    let too_large = send_bytes(&f, &path, "image/png", &huge).await;
    assert_problem(
        &too_large,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    let uploaded = send_bytes(&f, &path, "image/png", &bytes).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{:?}", uploaded.body);
    assert_eq!(uploaded.body["content_type"], "image/png");
    assert_eq!(uploaded.body["size_bytes"], bytes.len());
    assert_eq!(uploaded.body["id"], prescription.as_str());
    let scan = uploaded.body["scan_id"].as_str().unwrap().to_owned();
    let twice = send_bytes(&f, &path, "image/png", &bytes).await;
    assert_problem(&twice, StatusCode::CONFLICT, "duplicate_scan");
    // With a key, a retried upload answers as the first one and stores one scan.
    let pdf = b"%PDF-1.7 a referral letter".to_vec();
    let keyed = [("Idempotency-Key", "scan-pdf-1")];
    let first = send_bytes_with(&f, &path, "application/pdf", &pdf, &keyed).await;
    let retried = send_bytes_with(&f, &path, "application/pdf", &pdf, &keyed).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(retried.raw, first.raw);
    assert_eq!(retried.headers["idempotent-replayed"], "true");
    let other = send_bytes_with(&f, &path, "image/jpeg", &pdf, &keyed).await;
    assert_problem(
        &other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    );
    assert_eq!(
        f.count_events("customers.prescription.scan_attached").await,
        2
    );

    let link = download_url(&f, &prescription, &scan).await;
    assert_eq!(link.status, StatusCode::OK, "{:?}", link.body);
    let url = link.body["url"].as_str().unwrap().to_owned();
    let expires_at: chrono::DateTime<chrono::Utc> =
        link.body["expires_at"].as_str().unwrap().parse().unwrap();
    let lifetime = expires_at - clock.now();
    assert!(
        lifetime <= chrono::Duration::minutes(5) && lifetime > chrono::Duration::minutes(4),
        "{lifetime}"
    );
    assert!(url.starts_with(&f.api.url("/documents/scans/")), "{url}");

    let downloaded = follow(&f, &url).await;
    assert_eq!(downloaded.status, StatusCode::OK);
    assert_eq!(downloaded.headers["content-type"], "image/png");
    assert_eq!(downloaded.raw, bytes);
    let log = access_log(&f, &patient).await;
    let last = log.last().unwrap();
    assert_eq!(last["endpoint"], "GET /api/v1/documents/scans/{token}");
    assert_eq!(last["actor"], "test");

    // Any change to the token (the grant or its tag) is refused.
    let token = url.rsplit('/').next().unwrap();
    let (claims, tag) = token.split_once('.').unwrap();
    let flip = |s: &str, at: usize| {
        let mut chars: Vec<char> = s.chars().collect();
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect::<String>()
    };
    let base = url.trim_end_matches(token);
    for forged in [
        format!("{base}{}.{tag}", flip(claims, 5)),
        format!("{base}{claims}.{}", flip(tag, 3)),
        format!("{base}{claims}"),
    ] {
        assert_problem(
            &follow(&f, &forged).await,
            StatusCode::FORBIDDEN,
            "invalid_link",
        );
    }
    // Another tenant cannot have a link made for this scan.
    let intruder = token_for_another_tenant();
    let other = f
        .send(
            Method::POST,
            &format!("/customers/prescriptions/{prescription}/scans/{scan}/download-url"),
            Some(&intruder),
            Some(b"{}"),
            &[],
        )
        .await;
    assert_problem(&other, StatusCode::NOT_FOUND, "scan_not_found");

    clock.advance(chrono::Duration::seconds(301));
    assert_problem(&follow(&f, &url).await, StatusCode::GONE, "link_expired");
    let reads = access_log(&f, &patient).await.len();
    assert_eq!(reads, log.len(), "refused links read nothing");
}

fn token_for_another_tenant() -> String {
    token(optical_kernel::TenantId::new(), &all_scopes())
}
