//! Bearer tokens: JWTs signed with Ed25519 (`alg: EdDSA`), verified by [`Verifier`]
//! against configured public keys chosen by the token's key id (`kid`), so that a new key
//! can be added before the old one is retired (rotation: several keys valid at once).
//! [`Signer`] makes keys and tokens for development and tests; production tokens come from
//! the organisation's identity provider, which publishes its keys as a JWKS file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey, spki::der::pem::LineEnding};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::role::Role;

/// The issuer and audience a dev setup uses when no flag says otherwise.
pub const DEFAULT_ISSUER: &str = "waybill";
pub const DEFAULT_AUDIENCE: &str = "waybill";
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY: Duration = Duration::from_secs(30);

/// Who a verified token says the caller is: what handlers may rely on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The subject (a person or an outside system), recorded as `user:<sub>`.
    pub sub: String,
    pub roles: Vec<Role>,
    /// The CRM customer a `customer` acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The courier a `courier` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub courier_id: Option<String>,
}

impl Identity {
    /// An identity with one role and no binding.
    pub fn new(sub: impl Into<String>, role: Role) -> Self {
        Self { sub: sub.into(), roles: vec![role], customer_id: None, courier_id: None }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The one courier whose deliveries and route this caller may see and act on, when it
    /// acts only as that courier (every role it holds is `courier`); `None` otherwise.
    pub fn courier_scope(&self) -> Option<&str> {
        let only_courier = !self.roles.is_empty() && self.roles.iter().all(|role| *role == Role::Courier);
        if only_courier { self.courier_id.as_deref() } else { None }
    }

    /// The one customer whose objects this caller may see and act on, when it acts only as
    /// that customer (every role it holds is `customer`); `None` for staff and systems,
    /// whose reach their permissions already bound.
    pub fn customer_scope(&self) -> Option<&str> {
        let only_customer = !self.roles.is_empty() && self.roles.iter().all(|role| *role == Role::Customer);
        if only_customer { self.customer_id.as_deref() } else { None }
    }

    /// The rules a token's identity keeps beyond its signature (`waybill-token mint`
    /// checks them too, so it never prints a token the services would refuse).
    pub fn check(&self) -> Result<(), VerifyError> {
        let bad = |reason: String| Err(VerifyError::BadClaims(reason));
        if self.sub.is_empty() || self.sub.len() > 64 || !self.sub.bytes().all(|byte| byte.is_ascii_graphic())
        {
            return bad("sub must be 1-64 visible ASCII characters".into());
        }
        if self.roles.is_empty() {
            return bad("the token names no role".into());
        }
        let bound = |id: &Option<String>| id.as_deref().is_some_and(|id| !id.trim().is_empty());
        if self.has_role(Role::Customer) && !bound(&self.customer_id) {
            return bad("the customer role needs a customer_id".into());
        }
        if self.has_role(Role::Courier) && !bound(&self.courier_id) {
            return bad("the courier role needs a courier_id".into());
        }
        Ok(())
    }
}

/// A token's claims: the identity and the registered claims (RFC 7519), times in seconds
/// since the epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    #[serde(flatten)]
    pub identity: Identity,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
}

/// Why a token was refused; the text becomes the UNAUTHENTICATED message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("no bearer token: send `authorization: Bearer <token>`")]
    Missing,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (nbf is in the future)")]
    NotYetValid,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token's key id {0:?} is not one of the configured keys")]
    UnknownKey(String),
    #[error("the token names no key id (kid)")]
    NoKeyId,
    #[error("the token's issuer is not the configured one")]
    WrongIssuer,
    #[error("the token's audience is not this system")]
    WrongAudience,
    #[error("the token must be signed with EdDSA")]
    WrongAlgorithm,
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("the token's claims are not acceptable: {0}")]
    BadClaims(String),
}

impl From<jsonwebtoken::errors::Error> for VerifyError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        match error.kind() {
            ErrorKind::ExpiredSignature => VerifyError::Expired,
            ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
            ErrorKind::InvalidSignature => VerifyError::BadSignature,
            ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
            ErrorKind::InvalidAudience => VerifyError::WrongAudience,
            ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => VerifyError::WrongAlgorithm,
            ErrorKind::MissingRequiredClaim(claim) => VerifyError::BadClaims(format!("{claim} is missing")),
            _ => VerifyError::Malformed(error.to_string()),
        }
    }
}

/// Where the verifier's keys come from and what tokens must say.
#[derive(Clone, Debug, Default)]
pub struct VerifierConfig {
    /// Ed25519 public keys in PEM (SPKI) files; a file's key id is its name without
    /// `.pub.pem` (or `.pem`): `waybill-dev.pub.pem` verifies tokens with `kid: waybill-dev`.
    pub public_keys: Vec<PathBuf>,
    /// A JWKS file (`{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": ..., "x": ...}]}`).
    pub jwks: Option<PathBuf>,
    pub issuer: String,
    pub audience: String,
}

/// Why a verifier could not be built (a service refuses to start on it).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no token keys configured: give --auth-public-keys and/or --auth-jwks (`waybill-token keygen` makes a dev key)"
    )]
    NoKeys,
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not usable: {reason}")]
    BadKey { path: PathBuf, reason: String },
    #[error("key id {0:?} is configured twice")]
    DuplicateKeyId(String),
}

/// Verifies bearer tokens against a set of keys by key id.
#[derive(Clone)]
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<_> = self.keys.keys().collect();
        kids.sort();
        f.debug_struct("Verifier").field("kids", &kids).field("iss", &self.validation.iss).finish()
    }
}

impl Verifier {
    /// Loads the keys `config` names; refuses a config without any.
    pub fn from_config(config: &VerifierConfig) -> Result<Self, ConfigError> {
        let mut keys = Vec::new();
        for path in &config.public_keys {
            let pem = read(path)?;
            let key = DecodingKey::from_ed_pem(pem.as_bytes())
                .map_err(|error| ConfigError::BadKey { path: path.clone(), reason: error.to_string() })?;
            keys.push((key_id_of(path), key));
        }
        if let Some(path) = &config.jwks {
            let bad = |reason: String| ConfigError::BadKey { path: path.clone(), reason };
            let set: jsonwebtoken::jwk::JwkSet =
                serde_json::from_str(&read(path)?).map_err(|error| bad(error.to_string()))?;
            for jwk in &set.keys {
                let kid = jwk.common.key_id.clone().ok_or_else(|| bad("a key has no kid".into()))?;
                let key = DecodingKey::from_jwk(jwk).map_err(|error| bad(format!("key {kid:?}: {error}")))?;
                keys.push((kid, key));
            }
        }
        if keys.is_empty() {
            return Err(ConfigError::NoKeys);
        }
        Self::new(keys, &config.issuer, &config.audience)
    }

    fn new(keys: Vec<(String, DecodingKey)>, issuer: &str, audience: &str) -> Result<Self, ConfigError> {
        let mut by_kid = HashMap::new();
        for (kid, key) in keys {
            if by_kid.insert(kid.clone(), key).is_some() {
                return Err(ConfigError::DuplicateKeyId(kid));
            }
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        Ok(Self { keys: by_kid, validation })
    }

    /// The identity `token` (the bearer token, without `Bearer `) proves, or why not.
    pub fn verify(&self, token: &str) -> Result<Identity, VerifyError> {
        self.verify_claims(token).map(|claims| claims.identity)
    }

    /// [`Verifier::verify`], keeping every claim: for a holder of the token (the console)
    /// that must know when it expires.
    pub fn verify_claims(&self, token: &str) -> Result<Claims, VerifyError> {
        let header = jsonwebtoken::decode_header(token)?;
        if header.alg != Algorithm::EdDSA {
            return Err(VerifyError::WrongAlgorithm);
        }
        let kid = header.kid.ok_or(VerifyError::NoKeyId)?;
        let key = self.keys.get(&kid).ok_or(VerifyError::UnknownKey(kid))?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation)?.claims;
        claims.identity.check()?;
        Ok(claims)
    }
}

/// The key id of a public key file: its name without `.pub.pem` or `.pem`.
pub fn key_id_of(path: &Path) -> String {
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let kid = name.strip_suffix(".pub.pem").or_else(|| name.strip_suffix(".key.pem"));
    kid.or_else(|| name.strip_suffix(".pem")).unwrap_or(&name).to_owned()
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })
}

/// An Ed25519 signing key with its key id, minting tokens (dev and tests only: production
/// tokens come from the identity provider).
#[derive(Clone)]
pub struct Signer {
    kid: String,
    signing: ed25519_dalek::SigningKey,
    encoding: EncodingKey,
    pub issuer: String,
    pub audience: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Signer {
    /// A fresh key from the operating system's random source.
    pub fn generate(kid: impl Into<String>) -> anyhow::Result<Self> {
        let signing = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
        Self::from_signing_key(kid.into(), signing)
    }

    /// The private key in a PKCS#8 PEM file; its key id is the file's name without
    /// `.key.pem` (what `keygen` writes).
    pub fn from_pem_file(path: &Path) -> anyhow::Result<Self> {
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        let pem = std::fs::read_to_string(path)
            .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))?;
        let signing = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem)
            .map_err(|error| anyhow::anyhow!("{} is not an Ed25519 private key: {error}", path.display()))?;
        Self::from_signing_key(key_id_of(path), signing)
    }

    fn from_signing_key(kid: String, signing: ed25519_dalek::SigningKey) -> anyhow::Result<Self> {
        let der = signing.to_pkcs8_der().map_err(|error| anyhow::anyhow!("encoding the key: {error}"))?;
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        Ok(Self { kid, signing, encoding, issuer: DEFAULT_ISSUER.into(), audience: DEFAULT_AUDIENCE.into() })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key, PKCS#8 PEM.
    pub fn private_key_pem(&self) -> anyhow::Result<String> {
        let pem = self.signing.to_pkcs8_pem(LineEnding::LF).map_err(|error| anyhow::anyhow!("{error}"))?;
        Ok(pem.to_string())
    }

    /// The public key, SPKI PEM (what `--auth-public-keys` reads).
    pub fn public_key_pem(&self) -> anyhow::Result<String> {
        self.signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|error| anyhow::anyhow!("{error}"))
    }

    /// The public key as one JWK (an entry of a JWKS file's `keys`).
    pub fn jwk(&self) -> serde_json::Value {
        let x =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.signing.verifying_key().as_bytes());
        serde_json::json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": self.kid, "x": x})
    }

    /// A verifier that trusts this key alone, with this signer's issuer and audience.
    pub fn verifier(&self) -> Verifier {
        // The raw 32-byte key, as `from_ed_pem` and `from_jwk` also hold it.
        let key = DecodingKey::from_ed_der(self.signing.verifying_key().as_bytes());
        Verifier::new(vec![(self.kid.clone(), key)], &self.issuer, &self.audience)
            .unwrap_or_else(|_| unreachable!("one key cannot collide with itself"))
    }

    /// The claims of a token for `identity` valid from now for `ttl`.
    pub fn claims(&self, identity: Identity, ttl: Duration) -> Claims {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        Claims {
            identity,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now + ttl.as_secs(),
            nbf: now,
            iat: now,
        }
    }

    /// A token for `identity`, valid from now for `ttl`.
    pub fn mint(&self, identity: Identity, ttl: Duration) -> anyhow::Result<String> {
        self.sign(&self.claims(identity, ttl))
    }

    /// A token carrying exactly `claims` (tests shape expired or foreign tokens with it).
    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|error| anyhow::anyhow!("signing: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn signer() -> Signer {
        Signer::generate("test-key").expect("key")
    }

    fn dana() -> Identity {
        Identity::new("dana", Role::Dispatcher)
    }

    #[test]
    fn a_minted_token_verifies_to_its_identity() {
        let signer = signer();
        let token = signer.mint(dana(), HOUR).expect("token");
        assert_eq!(signer.verifier().verify(&token), Ok(dana()));
    }

    #[test]
    fn each_refusal_says_why() {
        let signer = signer();
        let verifier = signer.verifier();
        let mut expired = signer.claims(dana(), HOUR);
        expired.exp = expired.iat - 120;
        assert_eq!(verifier.verify(&signer.sign(&expired).expect("token")), Err(VerifyError::Expired));
        let mut early = signer.claims(dana(), HOUR);
        early.nbf += 600;
        assert_eq!(verifier.verify(&signer.sign(&early).expect("token")), Err(VerifyError::NotYetValid));
        let mut foreign = signer.claims(dana(), HOUR);
        foreign.aud = "elsewhere".into();
        assert_eq!(verifier.verify(&signer.sign(&foreign).expect("token")), Err(VerifyError::WrongAudience));
        let mut issuer = signer.claims(dana(), HOUR);
        issuer.iss = "someone".into();
        assert_eq!(verifier.verify(&signer.sign(&issuer).expect("token")), Err(VerifyError::WrongIssuer));

        // Same key id, another key: the signature gives it away.
        let impostor = signer.clone_with_new_key();
        let forged = impostor.mint(dana(), HOUR).expect("token");
        assert_eq!(verifier.verify(&forged), Err(VerifyError::BadSignature));
        let other = Signer::generate("other-key").expect("key");
        assert_eq!(
            verifier.verify(&other.mint(dana(), HOUR).expect("token")),
            Err(VerifyError::UnknownKey("other-key".into()))
        );
        assert!(matches!(verifier.verify("not.a.token"), Err(VerifyError::Malformed(_))));
    }

    #[test]
    fn alg_none_is_refused() {
        let signer = signer();
        let claims = serde_json::to_vec(&signer.claims(dana(), HOUR)).expect("json");
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let token = format!("{}.{}.", b64(br#"{"alg":"none","kid":"test-key"}"#), b64(&claims));
        let refused = signer.verifier().verify(&token).expect_err("refused");
        assert!(matches!(refused, VerifyError::Malformed(_) | VerifyError::WrongAlgorithm), "{refused:?}");
    }

    #[test]
    fn a_customer_or_courier_token_must_name_whom_it_is_bound_to() {
        let signer = signer();
        let verifier = signer.verifier();
        let unbound = signer.mint(Identity::new("acme", Role::Customer), HOUR).expect("token");
        assert!(matches!(verifier.verify(&unbound), Err(VerifyError::BadClaims(_))));
        let courier = signer.mint(Identity::new("kim", Role::Courier), HOUR).expect("token");
        assert!(matches!(verifier.verify(&courier), Err(VerifyError::BadClaims(_))));
        let bound = Identity { customer_id: Some("c-1".into()), ..Identity::new("acme", Role::Customer) };
        assert_eq!(verifier.verify(&signer.mint(bound.clone(), HOUR).expect("token")), Ok(bound));
    }

    #[test]
    fn keys_rotate_by_key_id_from_pem_files_and_jwks() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let (old, new) = (Signer::generate("2026-11")?, Signer::generate("2026-12")?);
        std::fs::write(dir.path().join("2026-11.pub.pem"), old.public_key_pem()?)?;
        std::fs::write(dir.path().join("jwks.json"), serde_json::json!({"keys": [new.jwk()]}).to_string())?;
        let config = VerifierConfig {
            public_keys: vec![dir.path().join("2026-11.pub.pem")],
            jwks: Some(dir.path().join("jwks.json")),
            issuer: DEFAULT_ISSUER.into(),
            audience: DEFAULT_AUDIENCE.into(),
        };
        let verifier = Verifier::from_config(&config)?;
        for signer in [&old, &new] {
            assert_eq!(verifier.verify(&signer.mint(dana(), HOUR)?), Ok(dana()), "{}", signer.kid());
        }
        let empty = VerifierConfig { public_keys: vec![], jwks: None, ..config };
        assert!(matches!(Verifier::from_config(&empty), Err(ConfigError::NoKeys)));
        Ok(())
    }

    impl Signer {
        fn clone_with_new_key(&self) -> Signer {
            Signer::generate(self.kid.clone()).expect("key")
        }
    }
}
