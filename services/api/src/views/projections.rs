//! Where each projection is: position, lag and owner per partition (operators, dashboards).
use crate::problem::{ApiError, Problem};
use crate::routes::{schema, Endpoint, Response};
use crate::security::Caller;
use crate::ApiState;
use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use optical_read_model::offsets::{self, PartitionOffset};
use schemars::JsonSchema;
use serde::Serialize;

const READ: &str = "projections:read";

#[derive(Serialize, JsonSchema)]
struct ProjectionsView {
    #[schemars(with = "Vec<serde_json::Value>")]
    partitions: Vec<PartitionOffset>,
}

async fn status(state: web::Data<ApiState>, _caller: Caller) -> Result<HttpResponse, ApiError> {
    let client = state.read.client().await?;
    let partitions = offsets::status(&**client, None)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(ProjectionsView { partitions }))
}

pub fn endpoints() -> Vec<Endpoint> {
    vec![Endpoint {
        method: Method::GET,
        path: "/projections",
        operation_id: "listProjectionPositions",
        summary: "Every projection's partitions: next offset, log end, lag, claim epoch and owner",
        tag: "views",
        scope: Some(READ),
        idempotent: false,
        request: None,
        upload: None,
        responses: vec![
            Response {
                status: 200,
                description: "Positions",
                body: Some(schema::<ProjectionsView>),
            },
            Response {
                status: 503,
                description: "The database is unavailable",
                body: Some(schema::<Problem>),
            },
        ],
        route: || web::route().to(status),
    }]
}
