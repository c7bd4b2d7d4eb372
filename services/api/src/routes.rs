//! The endpoint table: one entry per endpoint with its method, path, scope, whether it takes
//! an `Idempotency-Key`, and its request and response schemas. Routing, scope enforcement
//! and the OpenAPI document are all built from this table, so they cannot disagree.
use crate::problem::Problem;
use crate::security::RequiredScope;
use actix_web::http::Method;
use actix_web::{guard, web, HttpResponse};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

pub const API_PREFIX: &str = "/api/v1";

pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The schema of `T`, as a reference into `components/schemas` where it has a name.
pub fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// A request body that is not JSON but a document of one of `media_types`, read raw by the
/// handler (see [`crate::extract::read_upload`]) up to `max_bytes`, its own limit instead of
/// the JSON body limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upload {
    pub media_types: &'static [&'static str],
    pub max_bytes: usize,
}

/// A documented response.
pub struct Response {
    pub status: u16,
    pub description: &'static str,
    pub body: Option<SchemaFn>,
}

pub struct Endpoint {
    pub method: Method,
    /// Below [`API_PREFIX`]; `{name}` marks a path parameter (the same syntax in actix and OpenAPI).
    pub path: &'static str,
    pub operation_id: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// The scope a caller's token must hold; `None` only for public documents.
    pub scope: Option<&'static str>,
    /// Whether the endpoint honours `Idempotency-Key`.
    pub idempotent: bool,
    pub request: Option<SchemaFn>,
    /// A raw document body instead of JSON (`request` is then `None`).
    pub upload: Option<Upload>,
    pub responses: Vec<Response>,
    pub route: fn() -> actix_web::Route,
}

/// Registers every endpoint under [`API_PREFIX`] with its scope attached.
pub fn configure(endpoints: &[Endpoint], config: &mut web::ServiceConfig) {
    for endpoint in endpoints {
        let mut resource = web::resource(format!("{API_PREFIX}{}", endpoint.path))
            .name(endpoint.operation_id)
            .guard(guard::Method(endpoint.method.clone()));
        if let Some(scope) = endpoint.scope {
            resource = resource.app_data(RequiredScope(scope));
        }
        if let Some(upload) = endpoint.upload {
            resource = resource.app_data(upload);
        }
        config.service(resource.route((endpoint.route)()));
    }
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            // Ids are UUIDs, a queued request's id is a number; other parameters (a provider
            // name, a signed token) are opaque strings.
            let schema = if name == "request_id" {
                json!({"type": "integer", "format": "int64"})
            } else if name.ends_with("_id") {
                json!({"type": "string", "format": "uuid"})
            } else {
                json!({"type": "string"})
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect()
}

fn problem_response(generator: &mut SchemaGenerator, description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": schema::<Problem>(generator)}},
    })
}

fn operation(endpoint: &Endpoint, generator: &mut SchemaGenerator) -> Value {
    let mut parameters = path_parameters(endpoint.path);
    if endpoint.idempotent {
        parameters.push(json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "Makes the request safe to retry: the same key with the same body returns the first response; the same key with another body answers 422.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        }));
    }
    let mut responses = Map::new();
    for response in &endpoint.responses {
        let mut value = json!({"description": response.description});
        if let Some(body) = response.body {
            value["content"] = json!({"application/json": {"schema": body(generator)}});
        }
        responses.insert(response.status.to_string(), value);
    }
    let mut problems = vec![(
        400,
        "Malformed input (JSON syntax, wrong types, missing fields)",
    )];
    if endpoint.scope.is_some() {
        problems.push((401, "Missing, malformed, expired or badly signed token"));
        problems.push((403, "The token lacks the required scope"));
    }
    if endpoint.upload.is_some() {
        problems.push((413, "The document is larger than allowed"));
        problems.push((415, "The document is not of an accepted media type"));
    }
    if endpoint.request.is_some() {
        problems.push((413, "The body is larger than allowed"));
        problems.push((415, "The body is not JSON"));
        problems.push((
            422,
            "Invalid field values, or an idempotency key reused with another request",
        ));
    }
    for (status, description) in problems {
        responses
            .entry(status.to_string())
            .or_insert_with(|| problem_response(generator, description));
    }
    let mut op = json!({
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": parameters,
        "responses": responses,
    });
    match endpoint.scope {
        Some(scope) => {
            op["security"] = json!([{"bearerAuth": [scope]}]);
            op["x-required-scope"] = json!(scope);
            op["description"] = json!(format!("Requires the scope `{scope}`."));
        }
        None => op["security"] = json!([]),
    }
    if let Some(request) = endpoint.request {
        op["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": request(generator)}},
        });
    }
    if let Some(upload) = endpoint.upload {
        let content: Map<String, Value> = upload
            .media_types
            .iter()
            .map(|media| ((*media).to_owned(), json!({})))
            .collect();
        op["requestBody"] = json!({
            "required": true,
            "description": format!("The document's bytes, at most {} bytes.", upload.max_bytes),
            "content": content,
        });
    }
    op
}

/// The OpenAPI 3.1 document of `endpoints`.
pub fn openapi(endpoints: &[Endpoint]) -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let mut paths = Map::new();
    for endpoint in endpoints {
        let item = paths
            .entry(format!("{API_PREFIX}{}", endpoint.path))
            .or_insert_with(|| json!({}));
        item[endpoint.method.as_str().to_ascii_lowercase()] = operation(endpoint, &mut generator);
    }
    let mut scopes: Vec<&str> = endpoints.iter().filter_map(|e| e.scope).collect();
    scopes.sort_unstable();
    scopes.dedup();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Optical ERP API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "Command API of Optical ERP. Authenticate with `Authorization: Bearer <JWT>`; the token's `tenant_id` claim selects the tenant and its `scope` claim grants scopes ({}). Errors are `application/problem+json` with a stable `code`. Command responses carry the aggregate's new `version` and a `consistency_token` for read-your-writes.",
                scopes.join(", ")
            ),
        },
        "paths": paths,
        "components": {
            "schemas": generator.take_definitions(true),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    })
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi_document(document: web::Data<Value>) -> HttpResponse {
    HttpResponse::Ok().json(document.get_ref())
}
