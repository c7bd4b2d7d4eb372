//! The published contracts, checked from the outside: what the relay puts on the topic is
//! decoded by fastavro (Python) given only the `.avsc` files.
use crate::helpers::*;
use cqrs_es::persist::{PersistedEventRepository, SerializedEvent};
use cqrs_es::DomainEvent;
use optical_bus::registry::RegistryClient;
use optical_bus::{AvroCodec, SchemaCatalog};
use optical_catalog::{samples, Variant};
use optical_event_store::PgEventRepository;
use optical_kernel::TenantId;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn schema_path(event_type: &str) -> PathBuf {
    let mut parts = event_type.splitn(2, '.');
    let (context, rest) = (parts.next().unwrap(), parts.next().unwrap());
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../schemas/avro/{context}/{rest}.avsc"))
}

fn fastavro(items: &[Value]) -> Vec<Value> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/decode_with_fastavro.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(items).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "fastavro failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn stored<E: DomainEvent>(events: Vec<E>) -> impl Iterator<Item = (String, Value)> {
    events.into_iter().map(|e| {
        let mut payload = serde_json::to_value(&e).unwrap();
        // Personal data is published sealed; a stand-in ciphertext has the same shape.
        optical_kernel::personal::seal_all(&mut payload, &mut |subject, _| {
            Ok::<_, optical_kernel::PersonalEnvelopeError>(format!("c2VhbGVk-{subject}"))
        })
        .unwrap();
        (e.event_type(), payload)
    })
}

/// Every sample of every event type of every context, as stored JSON.
fn sample_payloads() -> Vec<(String, Value)> {
    use optical_inventory::samples as inventory;
    use optical_tenancy::samples as tenancy;
    stored(samples::product_events())
        .chain(stored(samples::variant_events()))
        .chain(stored(tenancy::tenant_events()))
        .chain(stored(tenancy::store_events()))
        .chain(stored(tenancy::location_events()))
        .chain(stored(tenancy::vendor_events()))
        .chain(stored(inventory::stock_level_events()))
        .chain(stored(optical_customers::samples::patient_events()))
        .chain(stored(optical_customers::samples::prescription_events()))
        .chain(stored(optical_orders::samples::order_events()))
        .chain(stored(optical_lab::samples::work_order_events()))
        .chain(stored(optical_lab::samples::station_events()))
        .chain(stored(optical_lab::samples::print_job_events()))
        .chain(stored(optical_payments::samples::payment_events()))
        .collect()
}

/// Every event type the code can emit.
fn all_event_types() -> std::collections::BTreeSet<String> {
    samples::all_event_types()
        .into_iter()
        .chain(optical_tenancy::samples::all_event_types())
        .chain(optical_inventory::samples::all_event_types())
        .chain(optical_customers::samples::all_event_types())
        .chain(optical_orders::samples::all_event_types())
        .chain(optical_lab::samples::all_event_types())
        .chain(optical_payments::samples::all_event_types())
        .map(str::to_owned)
        .collect()
}

fn body(payload: &Value) -> Value {
    payload
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fastavro_decodes_every_event_the_relay_published_to_what_was_written() {
    let pipeline = spawn_pipeline().await;
    let tenant = TenantId::new();
    let repo = PgEventRepository::new(pipeline.db.pool(2));
    let mut written = HashMap::new();
    for (event_type, payload) in sample_payloads() {
        let aggregate_id = uuid::Uuid::now_v7().to_string();
        let mut parts = event_type.split('.');
        let aggregate_type = format!("{}.{}", parts.next().unwrap(), parts.next().unwrap());
        let event = SerializedEvent::new(
            aggregate_id.clone(),
            1,
            aggregate_type,
            event_type,
            "1.0".into(),
            payload.clone(),
            serde_json::to_value(metadata(tenant).to_map()).unwrap(),
        );
        repo.persist::<Variant>(&[event], None).await.unwrap();
        written.insert(aggregate_id, payload);
    }
    let collector = Collector::start(
        &pipeline,
        &[
            pipeline.topic("catalog"),
            pipeline.topic("tenancy"),
            pipeline.topic("inventory"),
            pipeline.topic("customers"),
            pipeline.topic("orders"),
            pipeline.topic("lab"),
            pipeline.topic("payments"),
        ],
    );
    let _relay = spawn_relay_task(&pipeline, relay_config(&pipeline, "contracts"));
    collector
        .wait_for_distinct(written.len(), Duration::from_secs(60))
        .await;

    let messages = collector.snapshot();
    let items: Vec<Value> = messages
        .iter()
        .map(|m| json!({"schema": schema_path(m.header("event_type")), "format": "single-object", "hex": hex(&m.payload)}))
        .collect();
    let decoded = fastavro(&items);
    let mut types = std::collections::BTreeSet::new();
    for (message, record) in messages.iter().zip(decoded) {
        let event_type = message.header("event_type");
        assert_eq!(record, body(&written[&message.key]), "{event_type}");
        // One topic per context: `lab.work_order.created` goes to `optical.lab.v1`.
        let context = event_type.split('.').next().unwrap();
        assert_eq!(message.topic, pipeline.topic(context), "{event_type}");
        types.insert(event_type.to_owned());
    }
    assert_eq!(
        types,
        all_event_types(),
        "every event type of every context was published and decoded"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A minimal stand-in for a Confluent schema registry (none can run on this machine): it
/// answers the two calls the codec makes and records the subjects it was asked for.
struct StubRegistry {
    url: String,
    subjects: Arc<Mutex<Vec<String>>>,
}

async fn spawn_stub_registry() -> StubRegistry {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let subjects = Arc::new(Mutex::new(Vec::<String>::new()));
    let schemas = Arc::new(Mutex::new(Vec::<String>::new()));
    let (seen, stored) = (subjects.clone(), schemas.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (seen, stored) = (seen.clone(), stored.clone());
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 65536];
                let mut filled = 0;
                let request = loop {
                    let n = socket.read(&mut buffer[filled..]).await.unwrap();
                    filled += n;
                    let text = String::from_utf8_lossy(&buffer[..filled]).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length: ")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if body.len() >= length || n == 0 {
                            break (head.to_owned(), body.to_owned());
                        }
                    }
                };
                let path = request
                    .0
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let response = if let Some(subject) = path
                    .strip_prefix("/subjects/")
                    .and_then(|p| p.strip_suffix("/versions"))
                {
                    let schema = serde_json::from_str::<Value>(&request.1).unwrap()["schema"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                    seen.lock().unwrap().push(subject.to_owned());
                    let mut stored = stored.lock().unwrap();
                    let id = stored.iter().position(|s| s == &schema).unwrap_or_else(|| {
                        stored.push(schema);
                        stored.len() - 1
                    }) + 1;
                    json!({"id": id}).to_string()
                } else if let Some(id) = path.strip_prefix("/schemas/ids/") {
                    let id: usize = id.parse().unwrap();
                    json!({"schema": stored.lock().unwrap()[id - 1]}).to_string()
                } else {
                    String::from("{}")
                };
                let reply = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{response}", response.len());
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    StubRegistry { url, subjects }
}

#[tokio::test]
async fn with_a_registry_messages_use_the_confluent_format_that_fastavro_decodes() {
    let registry = spawn_stub_registry().await;
    let codec = AvroCodec::new(
        Arc::new(SchemaCatalog::embedded().unwrap()),
        Some(RegistryClient::new(&registry.url)),
    );
    let topic = "optical.catalog.v1";
    let mut items = Vec::new();
    let mut expected = Vec::new();
    for (event_type, payload) in sample_payloads() {
        let encoded = codec.encode(topic, &event_type, &payload).await.unwrap();
        assert_eq!(encoded.bytes[0], 0, "Confluent magic byte");
        let schema_id = u32::from_be_bytes(encoded.bytes[1..5].try_into().unwrap());
        assert_eq!(encoded.schema_ref, format!("confluent:{schema_id}"));
        // Round trip through our own reader, which fetches the schema by id.
        let decoded = codec.decode(&encoded.bytes).await.unwrap();
        assert_eq!(decoded.event_type.as_deref(), Some(event_type.as_str()));
        assert_eq!(decoded.body, body(&payload));
        items.push(json!({"schema": schema_path(&event_type), "format": "confluent", "schema_id": schema_id, "hex": hex(&encoded.bytes)}));
        expected.push(body(&payload));
    }
    assert_eq!(fastavro(&items), expected);
    let subjects = registry.subjects.lock().unwrap().clone();
    assert!(
        subjects.contains(&"optical.catalog.v1-optical.catalog.ProductCreated".to_owned()),
        "TopicRecordNameStrategy subjects: {subjects:?}"
    );
}
