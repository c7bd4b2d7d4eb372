//! The binary as operators and partners use it: `topics apply` and `events tail`.
use crate::helpers::*;
use optical_kernel::TenantId;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::process::Command;
use std::time::Duration;

fn optical_erp(pipeline: &Pipeline) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_optical-erp"));
    command
        .env("DATABASE_URL", &pipeline.db.url)
        .env("KAFKA_BROKERS", &pipeline.kafka.brokers)
        .env("KAFKA_TOPIC_PREFIX", &pipeline.kafka.topic_prefix)
        .env("LOG", "warn");
    command
}

/// Runs the binary, asserts it succeeded (showing its stderr otherwise), returns its stdout.
fn stdout_of_success(mut command: Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn topics_apply_creates_each_topic_with_its_partitions_and_is_idempotent() {
    let db = optical_testkit::TestDatabase::create().await;
    let broker = optical_testkit::TestBroker::start();
    let kafka = optical_testkit::kafka_config(&broker);
    let pipeline = Pipeline { db, broker, kafka };
    let run = || {
        let mut command = optical_erp(&pipeline);
        command
            .args(["topics", "apply"])
            .env("KAFKA_TOPIC_PARTITIONS", "4");
        stdout_of_success(command)
    };
    let first = run();
    assert!(
        first.contains(&format!("created {}", pipeline.topic("catalog"))),
        "{first}"
    );
    let second = run();
    assert!(
        second.contains(&format!("exists  {}", pipeline.topic("catalog"))),
        "{second}"
    );

    let consumer: BaseConsumer = pipeline.kafka.reader("metadata-check").create().unwrap();
    let metadata = consumer
        .fetch_metadata(Some(&pipeline.topic("catalog")), Duration::from_secs(10))
        .unwrap();
    assert_eq!(metadata.topics()[0].partitions().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_tail_prints_one_json_line_per_message_with_headers_and_decoded_body() {
    let pipeline = spawn_pipeline().await;
    let tenant = TenantId::new();
    let app = crate::helpers::catalog_app(pipeline.db.pool(2));
    let variant = add_variant(&app, tenant).await;
    change_price(&app, tenant, variant, 0).await;
    let collector = Collector::start(&pipeline, &[pipeline.topic("catalog")]);
    let _relay = spawn_relay_task(&pipeline, relay_config(&pipeline, "tail"));
    collector
        .wait_for_distinct(2, Duration::from_secs(60))
        .await;

    let mut command = optical_erp(&pipeline);
    command.args([
        "events",
        "tail",
        "--topic",
        &pipeline.topic("catalog"),
        "--from-beginning",
        "--max-messages",
        "2",
    ]);
    let lines: Vec<serde_json::Value> = stdout_of_success(command)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let added = &lines[0];
    assert_eq!(added["headers"]["event_type"], "catalog.variant.added");
    assert_eq!(added["headers"]["tenant_id"], tenant.to_string());
    assert_eq!(added["headers"]["aggregate_id"], variant.to_string());
    assert_eq!(added["headers"]["sequence"], "1");
    for header in [
        "event_id",
        "aggregate_type",
        "occurred_at",
        "correlation_id",
        "causation_id",
        "traceparent",
        "schema_id",
    ] {
        assert!(
            added["headers"][header]
                .as_str()
                .is_some_and(|v| !v.is_empty()),
            "header {header} missing: {added}"
        );
    }
    assert_eq!(added["schema"], "optical.catalog.VariantAdded");
    assert_eq!(added["value"]["variant_id"], variant.to_string());
    assert_eq!(lines[1]["value"]["price"]["amount_minor"], 10_001);
}
