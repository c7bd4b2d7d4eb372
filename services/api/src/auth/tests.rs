use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use optical_kernel::TenantId;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::jwks::KeySet;
use super::*;

const SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";

const RSA1_PRIVATE: &str = include_str!("testdata/rsa1_private.pem");
const RSA1_PUBLIC: &str = include_str!("testdata/rsa1_public.pem");
const RSA2_PRIVATE: &str = include_str!("testdata/rsa2_private.pem");
const EC1_PRIVATE: &str = include_str!("testdata/ec1_private.pem");
const JWKS: &str = include_str!("testdata/jwks.json");
const JWKS_ROTATED: &str = include_str!("testdata/jwks_rotated.json");

fn jwks_path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/auth/testdata/jwks.json"
    ))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid claims for `tenant`, expiring in five minutes.
fn claims(tenant: TenantId) -> Value {
    json!({ "sub": "clerk-7", "tenant_id": tenant.to_string(), "exp": now() + 300 })
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().map(|c| c.remove(key));
    claims
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn hs256(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(SECRET.as_bytes()),
        claims,
    )
}

fn rs256(private_pem: &str, kid: Option<&str>, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    sign(Algorithm::RS256, kid, &key, claims)
}

fn es256(kid: Option<&str>, claims: &Value) -> String {
    let key = EncodingKey::from_ec_pem(EC1_PRIVATE.as_bytes()).unwrap();
    sign(Algorithm::ES256, kid, &key, claims)
}

/// A compact JWS with an arbitrary header and signature, for tokens no library would make.
fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    format!("{}.{}.{signature}", part(header), part(claims))
}

async fn hs_auth() -> Authenticator {
    Authenticator::new(AuthConfig::hs256(SECRET)).await.unwrap()
}

async fn file_auth() -> Authenticator {
    Authenticator::new(AuthConfig::new(KeySource::JwksFile(jwks_path())))
        .await
        .unwrap()
}

fn scopes(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// ---- HS256 and claims -------------------------------------------------------------

#[tokio::test]
async fn a_valid_hs256_token_yields_its_principal() {
    let tenant = TenantId::new();
    let token = hs256(&with(
        claims(tenant),
        "scope",
        json!("catalog:write  stock:read"),
    ));

    let principal = hs_auth().await.authenticate(&token).await.unwrap();

    assert_eq!(
        principal,
        Principal {
            subject: "clerk-7".to_owned(),
            tenant_id: tenant,
            scopes: scopes(&["catalog:write", "stock:read"]),
        }
    );
    assert!(principal.has_scope("stock:read"));
    assert!(!principal.has_scope("stock"));
}

#[tokio::test]
async fn scopes_are_the_union_of_scope_and_scp_in_either_form() {
    let auth = hs_auth().await;
    let tenant = TenantId::new();

    let scp_array = with(claims(tenant), "scp", json!(["orders:read", "stock:read"]));
    let both = with(
        scp_array.clone(),
        "scope",
        json!("stock:read catalog:write"),
    );
    let principal = auth.authenticate(&hs256(&both)).await.unwrap();
    assert_eq!(
        principal.scopes,
        scopes(&["catalog:write", "orders:read", "stock:read"])
    );

    let principal = auth.authenticate(&hs256(&scp_array)).await.unwrap();
    assert_eq!(principal.scopes, scopes(&["orders:read", "stock:read"]));

    // Azure AD writes `scp` as a space-delimited string.
    let scp_string = with(claims(tenant), "scp", json!("a b"));
    let principal = auth.authenticate(&hs256(&scp_string)).await.unwrap();
    assert_eq!(principal.scopes, scopes(&["a", "b"]));

    let principal = auth.authenticate(&hs256(&claims(tenant))).await.unwrap();
    assert!(principal.scopes.is_empty());

    let bad = with(claims(tenant), "scp", json!([1, 2]));
    assert_eq!(
        auth.authenticate(&hs256(&bad)).await,
        Err(AuthError::Malformed)
    );
}

#[tokio::test]
async fn a_token_signed_with_another_secret_has_a_bad_signature() {
    let other = EncodingKey::from_secret(b"another-secret-that-is-32-bytes-long!!");
    let token = sign(Algorithm::HS256, None, &other, &claims(TenantId::new()));

    assert_eq!(
        hs_auth().await.authenticate(&token).await,
        Err(AuthError::BadSignature)
    );
}

#[tokio::test]
async fn a_tampered_payload_has_a_bad_signature() {
    let token = hs256(&claims(TenantId::new()));
    let forged = hs256(&claims(TenantId::new()));
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[1] = forged.split('.').nth(1).unwrap();

    let result = hs_auth().await.authenticate(&parts.join(".")).await;

    assert_eq!(result, Err(AuthError::BadSignature));
}

#[tokio::test]
async fn expiry_is_enforced_with_the_configured_leeway() {
    let auth = hs_auth().await; // leeway 30 s
    let tenant = TenantId::new();

    let long_gone = with(claims(tenant), "exp", json!(now() - 120));
    assert_eq!(
        auth.authenticate(&hs256(&long_gone)).await,
        Err(AuthError::Expired)
    );

    let just_gone = with(claims(tenant), "exp", json!(now() - 10));
    assert!(auth.authenticate(&hs256(&just_gone)).await.is_ok());

    let fractional = with(claims(tenant), "exp", json!(now() as f64 + 300.5));
    assert!(auth.authenticate(&hs256(&fractional)).await.is_ok());

    let strict = Authenticator::new(AuthConfig {
        leeway: Duration::ZERO,
        ..AuthConfig::hs256(SECRET)
    })
    .await
    .unwrap();
    assert_eq!(
        strict.authenticate(&hs256(&just_gone)).await,
        Err(AuthError::Expired)
    );
}

#[tokio::test]
async fn a_token_is_refused_before_its_nbf() {
    let auth = hs_auth().await;
    let tenant = TenantId::new();

    let later = with(claims(tenant), "nbf", json!(now() + 120));
    assert_eq!(
        auth.authenticate(&hs256(&later)).await,
        Err(AuthError::NotYetValid)
    );

    let skewed = with(claims(tenant), "nbf", json!(now() + 10));
    assert!(auth.authenticate(&hs256(&skewed)).await.is_ok());

    let past = with(claims(tenant), "nbf", json!(now() - 10));
    assert!(auth.authenticate(&hs256(&past)).await.is_ok());
}

#[tokio::test]
async fn exp_sub_and_tenant_id_are_required() {
    let auth = hs_auth().await;
    for claim in ["exp", "sub", "tenant_id"] {
        let token = hs256(&without(claims(TenantId::new()), claim));
        assert_eq!(
            auth.authenticate(&token).await,
            Err(AuthError::MissingClaim(claim)),
            "{claim}"
        );
        let token = hs256(&with(claims(TenantId::new()), claim, Value::Null));
        assert_eq!(
            auth.authenticate(&token).await,
            Err(AuthError::MissingClaim(claim)),
            "{claim}: null"
        );
    }
    let token = hs256(&with(claims(TenantId::new()), "sub", json!("")));
    assert_eq!(
        auth.authenticate(&token).await,
        Err(AuthError::MissingClaim("sub"))
    );
}

#[tokio::test]
async fn tenant_id_must_be_a_uuid_v7() {
    let auth = hs_auth().await;
    for tenant in [
        json!("67e55044-10b1-426f-9247-bb680e5fe0c8"), // v4
        json!("acme"),
        json!(42),
    ] {
        let token = hs256(&with(claims(TenantId::new()), "tenant_id", tenant.clone()));
        assert_eq!(
            auth.authenticate(&token).await,
            Err(AuthError::InvalidTenant),
            "{tenant}"
        );
    }
}

#[tokio::test]
async fn issuer_and_audience_are_checked_when_configured() {
    let auth = Authenticator::new(AuthConfig {
        issuer: Some("https://id.example".to_owned()),
        audience: Some("optical-api".to_owned()),
        ..AuthConfig::hs256(SECRET)
    })
    .await
    .unwrap();
    let good = with(
        with(claims(TenantId::new()), "iss", json!("https://id.example")),
        "aud",
        json!("optical-api"),
    );
    assert!(auth.authenticate(&hs256(&good)).await.is_ok());

    let in_list = with(good.clone(), "aud", json!(["portal", "optical-api"]));
    assert!(auth.authenticate(&hs256(&in_list)).await.is_ok());

    let cases = [
        (
            with(good.clone(), "iss", json!("https://evil.example")),
            AuthError::WrongIssuer,
        ),
        (without(good.clone(), "iss"), AuthError::MissingClaim("iss")),
        (
            with(good.clone(), "aud", json!("portal")),
            AuthError::WrongAudience,
        ),
        (
            with(good.clone(), "aud", json!(["portal"])),
            AuthError::WrongAudience,
        ),
        (without(good.clone(), "aud"), AuthError::MissingClaim("aud")),
    ];
    for (claims, expected) in cases {
        assert_eq!(auth.authenticate(&hs256(&claims)).await, Err(expected));
    }

    // Not configured: any issuer and audience pass.
    assert!(hs_auth().await.authenticate(&hs256(&in_list)).await.is_ok());
}

#[tokio::test]
async fn garbage_is_malformed() {
    let auth = hs_auth().await;
    let valid = hs256(&claims(TenantId::new()));
    let (header, rest) = valid.split_once('.').unwrap();
    let signature = valid.rsplit('.').next().unwrap();
    let not_json = format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode("{\"alg\":"),
        rest.split('.').next().unwrap()
    );
    let huge = format!("{header}.{}.{signature}", "A".repeat(20_000));

    for token in [
        String::new(),
        "garbage".to_owned(),
        "a.b".to_owned(),
        format!("{valid}.extra"),
        format!("{header}.!!!.{signature}"),
        format!("{header}.{rest}="),
        not_json,
        huge,
        raw_token(
            &json!({ "alg": "HS256", "crit": ["exp"] }),
            &claims(TenantId::new()),
            signature,
        ),
    ] {
        assert_eq!(
            auth.authenticate(&token).await,
            Err(AuthError::Malformed),
            "{token:.60}"
        );
    }

    // A correctly signed payload that is not a claims object is malformed too.
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let array = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &json!([1]), &key).unwrap();
    assert_eq!(auth.authenticate(&array).await, Err(AuthError::Malformed));
    let exp_text = with(claims(TenantId::new()), "exp", json!("tomorrow"));
    assert_eq!(
        auth.authenticate(&hs256(&exp_text)).await,
        Err(AuthError::Malformed)
    );
}

// ---- Algorithm confusion ----------------------------------------------------------

#[tokio::test]
async fn alg_none_is_refused_by_every_key_source() {
    let claims = claims(TenantId::new());
    let unsigned = raw_token(&json!({ "alg": "none", "typ": "JWT" }), &claims, "");
    let unsigned_with_kid = raw_token(&json!({ "alg": "none", "kid": "rsa-1" }), &claims, "");

    let hs = hs_auth().await;
    let jwks = file_auth().await;
    assert_eq!(
        hs.authenticate(&unsigned).await,
        Err(AuthError::UnsupportedAlgorithm)
    );
    assert_eq!(
        jwks.authenticate(&unsigned).await,
        Err(AuthError::UnsupportedAlgorithm)
    );
    assert_eq!(
        jwks.authenticate(&unsigned_with_kid).await,
        Err(AuthError::UnsupportedAlgorithm)
    );
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    // The classic key-confusion attack: the public key is public, so whoever can get a
    // verifier to treat it as an HMAC secret can mint tokens.
    let confused = EncodingKey::from_secret(RSA1_PUBLIC.as_bytes());
    let claims = claims(TenantId::new());
    let jwks = file_auth().await;

    for kid in [Some("rsa-1"), None] {
        let token = sign(Algorithm::HS256, kid, &confused, &claims);
        assert_eq!(
            jwks.authenticate(&token).await,
            Err(AuthError::UnsupportedAlgorithm)
        );
    }
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = sign(alg, Some("rsa-1"), &confused, &claims);
        assert_eq!(
            jwks.authenticate(&token).await,
            Err(AuthError::UnsupportedAlgorithm)
        );
    }
}

#[tokio::test]
async fn the_token_alg_must_match_the_type_of_the_key_it_names() {
    let claims = claims(TenantId::new());
    let jwks = file_auth().await;

    // Header says RS256 but names the EC key, and the other way round.
    let rs_on_ec = rs256(RSA1_PRIVATE, Some("ec-1"), &claims);
    let es_on_rsa = es256(Some("rsa-1"), &claims);
    assert_eq!(
        jwks.authenticate(&rs_on_ec).await,
        Err(AuthError::UnsupportedAlgorithm)
    );
    assert_eq!(
        jwks.authenticate(&es_on_rsa).await,
        Err(AuthError::UnsupportedAlgorithm)
    );

    // Asymmetric tokens mean nothing to the HS256 source, and PS256 nothing to JWKS.
    let hs = hs_auth().await;
    assert_eq!(
        hs.authenticate(&rs256(RSA1_PRIVATE, Some("rsa-1"), &claims))
            .await,
        Err(AuthError::UnsupportedAlgorithm)
    );
    let key = EncodingKey::from_rsa_pem(RSA1_PRIVATE.as_bytes()).unwrap();
    let ps256 = sign(Algorithm::PS256, Some("rsa-1"), &key, &claims);
    assert_eq!(
        jwks.authenticate(&ps256).await,
        Err(AuthError::UnsupportedAlgorithm)
    );
}

// ---- JWKS file --------------------------------------------------------------------

#[tokio::test]
async fn rs256_and_es256_tokens_verify_against_a_jwks_file() {
    let tenant = TenantId::new();
    let claims = with(claims(tenant), "scope", json!("stock:read"));
    let jwks = file_auth().await;

    for token in [
        rs256(RSA1_PRIVATE, Some("rsa-1"), &claims),
        es256(Some("ec-1"), &claims),
    ] {
        let principal = jwks.authenticate(&token).await.unwrap();
        assert_eq!(principal.tenant_id, tenant);
        assert_eq!(principal.scopes, scopes(&["stock:read"]));
    }

    // Signed by a key the set does not hold, under a kid it does hold.
    let impostor = rs256(RSA2_PRIVATE, Some("rsa-1"), &claims);
    assert_eq!(
        jwks.authenticate(&impostor).await,
        Err(AuthError::BadSignature)
    );

    // Claim checks apply to JWKS tokens as well.
    let expired = with(claims.clone(), "exp", json!(now() - 3600));
    assert_eq!(
        jwks.authenticate(&es256(Some("ec-1"), &expired)).await,
        Err(AuthError::Expired)
    );
}

#[tokio::test]
async fn an_unknown_or_missing_kid_is_an_unknown_key() {
    let claims = claims(TenantId::new());
    let jwks = file_auth().await;

    let unknown = rs256(RSA2_PRIVATE, Some("rsa-2"), &claims);
    assert_eq!(
        jwks.authenticate(&unknown).await,
        Err(AuthError::UnknownKey)
    );
    // Every fixture key has a kid, so a kid-less token matches none.
    let no_kid = rs256(RSA1_PRIVATE, None, &claims);
    assert_eq!(jwks.authenticate(&no_kid).await, Err(AuthError::UnknownKey));
}

fn fixture_keys() -> Vec<Value> {
    let set: Value = serde_json::from_str(JWKS).unwrap();
    set["keys"].as_array().unwrap().clone()
}

fn strip_kid(mut key: Value) -> Value {
    key.as_object_mut().map(|k| k.remove("kid"));
    key
}

#[tokio::test]
async fn a_kid_less_key_serves_kid_less_tokens_only_when_alone_of_its_type() {
    let [rsa, ec] = <[Value; 2]>::try_from(fixture_keys()).unwrap();
    let set = KeySet::parse(
        json!({ "keys": [strip_kid(rsa.clone()), strip_kid(ec.clone())] })
            .to_string()
            .as_bytes(),
        "test",
    )
    .unwrap();
    assert_eq!(set.len(), 2);
    assert!(set.get(None, Algorithm::RS256).is_ok());
    assert!(set.get(None, Algorithm::ES256).is_ok());
    assert_eq!(
        set.get(Some("rsa-1"), Algorithm::RS256).err(),
        Some(AuthError::UnknownKey)
    );

    // Two RSA keys, one without kid: the kid-less one is ambiguous and dropped.
    let rotated: Value = serde_json::from_str(JWKS_ROTATED).unwrap();
    let rsa2 = rotated["keys"][0].clone();
    let set = KeySet::parse(
        json!({ "keys": [strip_kid(rsa), rsa2] })
            .to_string()
            .as_bytes(),
        "test",
    )
    .unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(
        set.get(None, Algorithm::RS256).err(),
        Some(AuthError::UnknownKey)
    );
    assert!(set.get(Some("rsa-2"), Algorithm::RS256).is_ok());

    // End to end with a JWKS file whose keys carry no kid.
    let dir = std::env::temp_dir().join(format!("optical-auth-{}", TenantId::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("jwks.json");
    std::fs::write(&path, json!({ "keys": [strip_kid(ec)] }).to_string()).unwrap();
    let auth = Authenticator::new(AuthConfig::new(KeySource::JwksFile(path)))
        .await
        .unwrap();
    let result = auth
        .authenticate(&es256(None, &claims(TenantId::new())))
        .await;
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(result.is_ok());
}

#[test]
fn unusable_keys_are_skipped_without_failing_the_set() {
    let [rsa, ec] = <[Value; 2]>::try_from(fixture_keys()).unwrap();
    let short_rsa = with(rsa.clone(), "n", json!(URL_SAFE_NO_PAD.encode([0xab; 128])));
    let off_curve = with(ec.clone(), "y", json!(URL_SAFE_NO_PAD.encode([1u8; 32])));
    let document = json!({ "keys": [
        with(with(rsa.clone(), "use", json!("enc")), "kid", json!("enc")),
        with(with(rsa.clone(), "alg", json!("RS512")), "kid", json!("rs512")),
        with(with(rsa.clone(), "key_ops", json!(["encrypt"])), "kid", json!("ops")),
        with(short_rsa, "kid", json!("short")),
        with(off_curve, "kid", json!("off-curve")),
        with(with(ec.clone(), "crv", json!("P-384")), "kid", json!("p384")),
        { "kty": "oct", "kid": "hmac", "k": URL_SAFE_NO_PAD.encode(SECRET) },
        { "kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" },
        { "kty": "RSA", "kid": "incomplete" },
        { "kid": 7 },
        "not an object",
        with(ec.clone(), "x", json!("AAAA")),
        rsa,
        ec.clone(),
        ec, // duplicate kid: the first one wins
    ]});

    let set = KeySet::parse(document.to_string().as_bytes(), "test").unwrap();

    assert_eq!(set.len(), 2);
    assert!(set.get(Some("rsa-1"), Algorithm::RS256).is_ok());
    assert!(set.get(Some("ec-1"), Algorithm::ES256).is_ok());
    assert_eq!(
        set.get(Some("hmac"), Algorithm::RS256).err(),
        Some(AuthError::UnknownKey)
    );

    assert!(KeySet::parse(b"{\"keys\": 1}", "test").is_err());
    assert!(KeySet::parse(b"[]", "test").is_err());
}

#[tokio::test]
async fn bad_configurations_fail_at_start_up() {
    let weak = Authenticator::new(AuthConfig::hs256("short")).await;
    assert!(matches!(weak, Err(AuthSetupError::WeakSecret { len: 5 })));

    let missing = PathBuf::from("/nonexistent/jwks.json");
    let result = Authenticator::new(AuthConfig::new(KeySource::JwksFile(missing))).await;
    assert!(matches!(result, Err(AuthSetupError::ReadJwksFile { .. })));

    let dir = std::env::temp_dir().join(format!("optical-auth-{}", TenantId::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.json");
    std::fs::write(&empty, r#"{"keys":[{"kty":"oct","k":"AAAA"}]}"#).unwrap();
    let not_jwks = dir.join("not.json");
    std::fs::write(&not_jwks, "<html>").unwrap();
    let no_keys = Authenticator::new(AuthConfig::new(KeySource::JwksFile(empty))).await;
    let invalid = Authenticator::new(AuthConfig::new(KeySource::JwksFile(not_jwks))).await;
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(no_keys, Err(AuthSetupError::NoUsableKeys { .. })));
    assert!(matches!(invalid, Err(AuthSetupError::InvalidJwks { .. })));

    for url in ["not a url", "ftp://id.example/jwks.json"] {
        let result = Authenticator::new(AuthConfig::new(KeySource::JwksUrl(url.to_owned()))).await;
        assert!(
            matches!(result, Err(AuthSetupError::InvalidJwksUrl { .. })),
            "{url}"
        );
    }
}

// ---- JWKS URL ---------------------------------------------------------------------

/// A one-route HTTP/1.1 server on localhost that serves whatever `body` holds (503 when
/// `None`) and counts the requests it answered.
struct JwksServer {
    url: String,
    body: Arc<Mutex<Option<String>>>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    async fn start(body: Option<&str>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let body = Arc::new(Mutex::new(body.map(str::to_owned)));
        let requests = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (Arc::clone(&body), Arc::clone(&requests));
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (served, counted) = (Arc::clone(&served), Arc::clone(&counted));
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    counted.fetch_add(1, Ordering::SeqCst);
                    let body = served.lock().unwrap().clone();
                    let (status, body) = match body {
                        Some(body) => ("200 OK", body),
                        None => ("503 Service Unavailable", String::new()),
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self {
            url,
            body,
            requests,
            task,
        }
    }

    fn serve(&self, body: Option<&str>) {
        *self.body.lock().unwrap() = body.map(str::to_owned);
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn url_config(url: &str, cooldown: Duration) -> AuthConfig {
    AuthConfig {
        refresh_cooldown: cooldown,
        ..AuthConfig::new(KeySource::JwksUrl(url.to_owned()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotated_key_is_fetched_once_and_the_cooldown_stops_fetch_storms() {
    let server = JwksServer::start(Some(JWKS)).await;
    let auth = Arc::new(
        Authenticator::new(url_config(&server.url, Duration::from_secs(3600)))
            .await
            .unwrap(),
    );
    assert_eq!(server.requests(), 1, "fetched at start-up");
    let claims = claims(TenantId::new());
    auth.authenticate(&rs256(RSA1_PRIVATE, Some("rsa-1"), &claims))
        .await
        .unwrap();
    auth.authenticate(&es256(Some("ec-1"), &claims))
        .await
        .unwrap();
    assert_eq!(server.requests(), 1, "known keys need no fetch");

    // The IdP rotates rsa-1 out and rsa-2 in; many requests carry the new kid at once.
    server.serve(Some(JWKS_ROTATED));
    let rotated = rs256(RSA2_PRIVATE, Some("rsa-2"), &claims);
    let results = futures::future::join_all((0..16).map(|_| {
        let (auth, token) = (Arc::clone(&auth), rotated.clone());
        tokio::spawn(async move { auth.authenticate(&token).await })
    }))
    .await;
    for result in results {
        assert!(result.unwrap().is_ok());
    }
    assert_eq!(server.requests(), 2, "one refetch, shared by all");

    // The retired key is gone, and made-up kids within the cooldown fetch nothing.
    let retired = rs256(RSA1_PRIVATE, Some("rsa-1"), &claims);
    assert_eq!(
        auth.authenticate(&retired).await,
        Err(AuthError::UnknownKey)
    );
    let storm = futures::future::join_all((0..16).map(|i| {
        let auth = Arc::clone(&auth);
        let token = rs256(RSA2_PRIVATE, Some(&format!("made-up-{i}")), &claims);
        tokio::spawn(async move { auth.authenticate(&token).await })
    }))
    .await;
    for result in storm {
        assert_eq!(result.unwrap(), Err(AuthError::UnknownKey));
    }
    assert_eq!(server.requests(), 2, "the cooldown holds");
    assert!(auth.authenticate(&rotated).await.is_ok());
}

#[tokio::test]
async fn an_unreachable_jwks_url_gives_keys_unavailable_until_a_fetch_succeeds() {
    let server = JwksServer::start(None).await; // answers 503
    let auth = Authenticator::new(url_config(&server.url, Duration::ZERO))
        .await
        .unwrap();
    let token = rs256(RSA1_PRIVATE, Some("rsa-1"), &claims(TenantId::new()));

    assert_eq!(
        auth.authenticate(&token).await,
        Err(AuthError::KeysUnavailable)
    );
    assert_eq!(
        server.requests(),
        2,
        "start-up, then the refetch for this token"
    );

    server.serve(Some(JWKS));
    assert!(auth.authenticate(&token).await.is_ok());
    assert_eq!(server.requests(), 3);

    // Once keys are cached, a failing IdP does not take them away.
    server.serve(None);
    let unknown = rs256(RSA2_PRIVATE, Some("rsa-2"), &claims(TenantId::new()));
    assert_eq!(
        auth.authenticate(&unknown).await,
        Err(AuthError::UnknownKey)
    );
    assert!(auth.authenticate(&token).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_for_a_new_kid_share_one_fetch_even_without_cooldown() {
    let server = JwksServer::start(Some(JWKS)).await;
    let auth = Arc::new(
        Authenticator::new(url_config(&server.url, Duration::ZERO))
            .await
            .unwrap(),
    );
    server.serve(Some(JWKS_ROTATED));
    let rotated = rs256(RSA2_PRIVATE, Some("rsa-2"), &claims(TenantId::new()));

    let results = futures::future::join_all((0..32).map(|_| {
        let (auth, token) = (Arc::clone(&auth), rotated.clone());
        tokio::spawn(async move { auth.authenticate(&token).await })
    }))
    .await;

    for result in results {
        assert!(result.unwrap().is_ok());
    }
    assert_eq!(server.requests(), 2, "start-up and one refetch");
}

#[tokio::test]
async fn the_cooldown_also_spaces_out_retries_while_the_idp_is_down() {
    let server = JwksServer::start(None).await;
    let auth = Authenticator::new(url_config(&server.url, Duration::from_secs(3600)))
        .await
        .unwrap();
    let token = es256(Some("ec-1"), &claims(TenantId::new()));

    for _ in 0..5 {
        assert_eq!(
            auth.authenticate(&token).await,
            Err(AuthError::KeysUnavailable)
        );
    }
    assert_eq!(
        server.requests(),
        2,
        "start-up, then one retry per cooldown"
    );
}

#[tokio::test]
async fn a_closed_port_is_not_fatal_at_start_up() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/jwks.json");
    let auth = Authenticator::new(url_config(&url, Duration::from_secs(3600)))
        .await
        .unwrap();
    let token = es256(Some("ec-1"), &claims(TenantId::new()));

    assert_eq!(
        auth.authenticate(&token).await,
        Err(AuthError::KeysUnavailable)
    );
    assert_eq!(
        auth.authenticate(&token).await,
        Err(AuthError::KeysUnavailable)
    );
}

// ---- Minting and the rest ---------------------------------------------------------

fn request(tenant: TenantId) -> TokenRequest {
    TokenRequest {
        subject: "dev".to_owned(),
        tenant_id: tenant,
        scopes: vec!["catalog:write".to_owned(), "stock:read".to_owned()],
        ttl: Duration::from_secs(600),
        issuer: Some("optical-erp".to_owned()),
        audience: Some("optical-api".to_owned()),
    }
}

#[tokio::test]
async fn minted_tokens_round_trip() {
    let tenant = TenantId::new();
    let token = mint_hs256(SECRET, &request(tenant)).unwrap();
    let auth = Authenticator::new(AuthConfig {
        issuer: Some("optical-erp".to_owned()),
        audience: Some("optical-api".to_owned()),
        ..AuthConfig::hs256(SECRET)
    })
    .await
    .unwrap();

    let principal = auth.authenticate(&token).await.unwrap();

    assert_eq!(principal.subject, "dev");
    assert_eq!(principal.tenant_id, tenant);
    assert_eq!(principal.scopes, scopes(&["catalog:write", "stock:read"]));

    let unscoped = TokenRequest {
        scopes: vec![],
        ..request(tenant)
    };
    let principal = auth
        .authenticate(&mint_hs256(SECRET, &unscoped).unwrap())
        .await
        .unwrap();
    assert!(principal.scopes.is_empty());
}

#[test]
fn minting_refuses_what_verification_would_refuse() {
    let tenant = TenantId::new();
    assert_eq!(
        mint_hs256("short", &request(tenant)),
        Err(MintError::WeakSecret { len: 5 })
    );
    let spaced = TokenRequest {
        scopes: vec!["a b".to_owned()],
        ..request(tenant)
    };
    assert_eq!(
        mint_hs256(SECRET, &spaced),
        Err(MintError::InvalidScope("a b".to_owned()))
    );
    let anonymous = TokenRequest {
        subject: String::new(),
        ..request(tenant)
    };
    assert_eq!(mint_hs256(SECRET, &anonymous), Err(MintError::EmptySubject));
}

#[test]
fn error_codes_are_stable_snake_case() {
    let all = [
        AuthError::Malformed,
        AuthError::UnsupportedAlgorithm,
        AuthError::UnknownKey,
        AuthError::BadSignature,
        AuthError::Expired,
        AuthError::NotYetValid,
        AuthError::WrongIssuer,
        AuthError::WrongAudience,
        AuthError::MissingClaim("exp"),
        AuthError::InvalidTenant,
        AuthError::KeysUnavailable,
    ];
    let codes: BTreeSet<&str> = all.iter().map(AuthError::code).collect();
    assert_eq!(codes.len(), all.len());
    assert!(codes
        .iter()
        .all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_')));
    assert_eq!(AuthError::Expired.code(), "token_expired");
}

#[tokio::test]
async fn secrets_do_not_show_in_debug_output() {
    let config = AuthConfig::hs256(SECRET);
    assert!(!format!("{config:?}").contains(SECRET));
    let auth = Authenticator::new(config).await.unwrap();
    assert!(!format!("{auth:?}").contains(SECRET));
}

#[test]
fn the_authenticator_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    fn sendable<T: Send>(_: &T) {}
    shareable::<Authenticator>();
    sendable(&Authenticator::new(AuthConfig::hs256(SECRET)));
    let auth: Option<&Authenticator> = None;
    if let Some(auth) = auth {
        sendable(&auth.authenticate("x"));
    }
}
