//! Who is acting: the identity a person claims (`--actor`) and the one the
//! system gives this process, which every registry event records side by side.
//!
//! The system identity is, in order: the Kubernetes service account the pod
//! runs as (the `sub` of its mounted token, `system:serviceaccount:NS:NAME`),
//! `$LAKESCORE_ACTOR` when the platform sets it (an Airflow or CI runner
//! setting it per user), else the OS user of this process (`/etc/passwd`, not
//! `$USER`). Approver lists are checked against it, so typing `--actor` does
//! not make anyone an approver. The trust model is the store's, though: whoever
//! may write `registry/` may write any event (README, "Governance").

use std::sync::OnceLock;

use base64::Engine as _;

/// Where Kubernetes mounts a pod's service-account token.
const SERVICE_ACCOUNT_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// The acting user when `--actor` is not given: `$LAKESCORE_ACTOR`, `$USER`,
/// `$LOGNAME`, else the system's name for this process's user (`/etc/passwd`),
/// else `uid:N`: never `unknown`.
pub fn default_actor() -> String {
    ["LAKESCORE_ACTOR", "USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(system_user)
        .unwrap_or_else(|| "unknown".into())
}

/// This process's identity as the system knows it (see the module doc).
pub fn system_identity() -> &'static str {
    static IDENTITY: OnceLock<String> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        std::fs::read_to_string(SERVICE_ACCOUNT_TOKEN)
            .ok()
            .and_then(|token| token_subject(&token))
            .or_else(|| {
                std::env::var("LAKESCORE_ACTOR")
                    .ok()
                    .filter(|v| !v.is_empty())
            })
            .or_else(system_user)
            .unwrap_or_else(|| "unknown".into())
    })
}

/// The `sub` claim of a JWT (not verified: the kubelet mounted it, and the
/// identity is recorded, not trusted for access).
fn token_subject(token: &str) -> Option<String> {
    let payload = token.trim().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims["sub"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// The user name of this process's real uid, from `/proc` and `/etc/passwd`.
fn system_user() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let name = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|l| {
                let mut fields = l.split(':');
                let name = fields.next()?;
                (fields.nth(1)? == uid).then(|| name.to_string())
            })
        });
    Some(name.unwrap_or_else(|| format!("uid:{uid}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_account_token_names_its_account() {
        let claims =
            r#"{"iss":"https://kubernetes.default.svc","sub":"system:serviceaccount:ml:scorer"}"#;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
        let token = format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln\n");
        assert_eq!(
            token_subject(&token).as_deref(),
            Some("system:serviceaccount:ml:scorer")
        );
        assert_eq!(token_subject("not a token"), None);
        assert_eq!(token_subject("a.%%%.c"), None);
    }

    #[test]
    fn the_os_user_is_found() {
        assert!(system_user().is_some_and(|u| !u.is_empty()));
        assert!(!system_identity().is_empty());
    }
}
