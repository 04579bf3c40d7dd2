//! Access rules on the verified client certificate: `--allow` values, and
//! the per-route allowlist the TLS verifier applies after chain checks.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use mixer_tls::{ClientPolicy, PeerIdentity, PolicyDenial};

/// The name a rule matches against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// A subject common name; `*` matches one dot-separated label.
    Cn,
    /// A subject organizational unit; `*` matches one dot-separated label.
    Ou,
    /// A DNS subjectAltName, case-insensitive; `*` matches one label.
    Dns,
    /// A URI subjectAltName; `*` matches one path segment.
    Uri,
    /// Any SPIFFE ID (URI subjectAltName `spiffe://DOMAIN/...`) in a trust
    /// domain.
    Spiffe,
}

impl RuleKind {
    fn name(self) -> &'static str {
        match self {
            RuleKind::Cn => "cn",
            RuleKind::Ou => "ou",
            RuleKind::Dns => "dns",
            RuleKind::Uri => "uri",
            RuleKind::Spiffe => "spiffe",
        }
    }
}

/// One `--allow` value: an optional route scope, a kind and a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    /// The listen address of the route the rule belongs to; `None` applies
    /// to every route without rules of its own.
    pub scope: Option<SocketAddr>,
    /// The certificate field the pattern is compared with.
    pub kind: RuleKind,
    /// The pattern as the operator wrote it.
    pub pattern: String,
}

/// An `--allow` value that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid --allow {input:?}: {problem}; expected [LISTEN=]KIND:PATTERN with KIND one of \
     cn, ou, dns, uri, spiffe, such as spiffe:studio.example or 0.0.0.0:9000=dns:*.desk.example"
)]
pub struct AllowParseError {
    input: String,
    problem: String,
}

impl FromStr for AllowRule {
    type Err = AllowParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |problem: String| AllowParseError {
            input: input.to_string(),
            problem,
        };
        let text = input.trim();

        // A scope is a socket address before '='; patterns never start
        // with one, so the first '=' after an address ends the scope.
        let (scope, rule) = match text.split_once('=') {
            Some((left, right)) => match left.parse::<SocketAddr>() {
                Ok(addr) => (Some(addr), right),
                Err(_) if looks_like_scope(left) => {
                    return Err(fail(format!(
                        "route scope {left:?} is not a listen address IP:PORT"
                    )))
                }
                Err(_) => (None, text),
            },
            None => (None, text),
        };

        let Some((kind, pattern)) = rule.split_once(':') else {
            return Err(fail("missing KIND:".to_string()));
        };
        let kind = match kind.trim().to_ascii_lowercase().as_str() {
            "cn" => RuleKind::Cn,
            "ou" => RuleKind::Ou,
            "dns" => RuleKind::Dns,
            "uri" => RuleKind::Uri,
            "spiffe" => RuleKind::Spiffe,
            other => return Err(fail(format!("unknown kind {other:?}"))),
        };
        let pattern = pattern.trim().to_string();
        check_pattern(kind, &pattern).map_err(fail)?;
        Ok(AllowRule {
            scope,
            kind,
            pattern,
        })
    }
}

/// Returns whether the text before '=' was meant as a route scope, which is
/// the case when it has no kind prefix of its own.
fn looks_like_scope(left: &str) -> bool {
    let kind = left.split(':').next().unwrap_or("").to_ascii_lowercase();
    !matches!(kind.as_str(), "cn" | "ou" | "dns" | "uri" | "spiffe")
}

fn check_pattern(kind: RuleKind, pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("the pattern is empty".to_string());
    }
    let parts: Vec<&str> = match kind {
        RuleKind::Cn | RuleKind::Ou | RuleKind::Dns => pattern.split('.').collect(),
        RuleKind::Uri => pattern.split('/').collect(),
        RuleKind::Spiffe => {
            if pattern.contains('/') || pattern.contains(':') || pattern.contains('*') {
                return Err(format!(
                    "trust domain {pattern:?} must be a bare name such as studio.example"
                ));
            }
            return Ok(());
        }
    };
    if let Some(part) = parts.iter().find(|p| p.contains('*') && **p != "*") {
        return Err(format!(
            "wildcard in {part:?}: '*' must stand alone for one whole {}",
            if kind == RuleKind::Uri {
                "path segment"
            } else {
                "label"
            }
        ));
    }
    if kind == RuleKind::Uri && !pattern.contains("://") {
        return Err(format!(
            "URI {pattern:?} has no scheme, such as spiffe://studio.example/..."
        ));
    }
    Ok(())
}

impl AllowRule {
    /// Returns whether `identity` carries a name this rule admits.
    pub fn matches(&self, identity: &PeerIdentity) -> bool {
        let pattern = self.pattern.as_str();
        match self.kind {
            RuleKind::Cn => identity
                .common_names
                .iter()
                .any(|cn| parts_match(pattern, cn, '.', false)),
            RuleKind::Ou => identity
                .organizational_units
                .iter()
                .any(|ou| parts_match(pattern, ou, '.', false)),
            RuleKind::Dns => identity
                .dns_names
                .iter()
                .any(|dns| parts_match(pattern, dns, '.', true)),
            RuleKind::Uri => identity
                .uris
                .iter()
                .any(|uri| parts_match(pattern, uri, '/', false)),
            RuleKind::Spiffe => identity
                .uris
                .iter()
                .any(|uri| in_trust_domain(uri, pattern)),
        }
    }
}

/// Compares `value` with `pattern` part by part; a `*` part matches any one
/// non-empty part, and the part counts must be equal.
fn parts_match(pattern: &str, value: &str, separator: char, ignore_case: bool) -> bool {
    let mut expected = pattern.split(separator);
    let mut actual = value.split(separator);
    loop {
        match (expected.next(), actual.next()) {
            (None, None) => return true,
            (Some("*"), Some(part)) if !part.is_empty() => {}
            (Some(w), Some(a)) if ignore_case && w.eq_ignore_ascii_case(a) => {}
            (Some(w), Some(a)) if w == a => {}
            _ => return false,
        }
    }
}

/// SPIFFE IDs are `spiffe://TRUST_DOMAIN/PATH`; scheme and trust domain are
/// case-insensitive, and a bare domain without a path is not an ID.
fn in_trust_domain(uri: &str, domain: &str) -> bool {
    let Some(scheme_end) = uri.find("://") else {
        return false;
    };
    if !uri[..scheme_end].eq_ignore_ascii_case("spiffe") {
        return false;
    }
    let rest = &uri[scheme_end + 3..];
    match rest.split_once('/') {
        Some((host, path)) => host.eq_ignore_ascii_case(domain) && !path.is_empty(),
        None => false,
    }
}

impl fmt::Display for AllowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(scope) = self.scope {
            write!(f, "{scope}=")?;
        }
        write!(f, "{}:{}", self.kind.name(), self.pattern)
    }
}

/// The rules of one route. A client is admitted when any rule matches.
#[derive(Debug, Clone)]
pub struct Allowlist {
    rules: Vec<AllowRule>,
}

impl Allowlist {
    /// Picks the rules for the route listening on `listen`: the rules scoped
    /// to it if there are any, otherwise the unscoped ones. Returns `None`
    /// when no rule applies, so any certificate from the client CA is
    /// admitted.
    pub fn for_route(rules: &[AllowRule], listen: SocketAddr) -> Option<Self> {
        let scoped: Vec<AllowRule> = rules
            .iter()
            .filter(|r| r.scope == Some(listen))
            .cloned()
            .collect();
        let chosen = if scoped.is_empty() {
            rules
                .iter()
                .filter(|r| r.scope.is_none())
                .cloned()
                .collect()
        } else {
            scoped
        };
        (!chosen.is_empty()).then_some(Self { rules: chosen })
    }

    /// Returns the rules as `--allow` values, separated by spaces.
    pub fn describe(&self) -> String {
        let rules: Vec<String> = self.rules.iter().map(ToString::to_string).collect();
        rules.join(" ")
    }
}

impl ClientPolicy for Allowlist {
    fn check(&self, identity: &PeerIdentity) -> Result<(), PolicyDenial> {
        if self.rules.iter().any(|rule| rule.matches(identity)) {
            return Ok(());
        }
        Err(PolicyDenial {
            rule: format!("allowlist {}", self.describe()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> PeerIdentity {
        PeerIdentity {
            common_names: vec!["desk-1.studio".into()],
            organizational_units: vec!["mixing".into()],
            dns_names: vec!["desk-1.studio.example".into()],
            uris: vec!["spiffe://studio.example/service/desk-1".into()],
            ip_addresses: Vec::new(),
        }
    }

    fn rule(text: &str) -> AllowRule {
        text.parse().unwrap()
    }

    #[test]
    fn parses_scoped_and_unscoped_rules() {
        let scoped = rule("0.0.0.0:9000=dns:*.studio.example");
        assert_eq!(scoped.scope, Some("0.0.0.0:9000".parse().unwrap()));
        assert_eq!(scoped.kind, RuleKind::Dns);
        assert_eq!(scoped.pattern, "*.studio.example");

        let uri = rule("uri:spiffe://studio.example/a=b");
        assert_eq!(uri.scope, None);
        assert_eq!(uri.pattern, "spiffe://studio.example/a=b");
        assert_eq!(rule("CN:desk").kind, RuleKind::Cn);
    }

    #[test]
    fn rejects_bad_rules_naming_the_value() {
        let cases = [
            ("desk-1", "missing KIND:"),
            ("email:a@b", "unknown kind \"email\""),
            ("cn:", "pattern is empty"),
            ("dns:desk-*.studio", "\"desk-*\""),
            ("uri:spiffe://studio.example/svc*", "\"svc*\""),
            ("uri:desk-1", "has no scheme"),
            ("spiffe:spiffe://studio.example", "bare name"),
            ("localhost:9000=cn:desk", "not a listen address"),
        ];
        for (input, expected) in cases {
            let err = input.parse::<AllowRule>().unwrap_err().to_string();
            assert!(err.contains(expected), "{input}: {err}");
            assert!(err.contains(input), "{input}: {err}");
        }
    }

    #[test]
    fn matches_each_kind() {
        let id = identity();
        let allowed = [
            "cn:desk-1.studio",
            "cn:*.studio",
            "ou:mixing",
            "dns:*.studio.example",
            "dns:DESK-1.studio.example",
            "uri:spiffe://studio.example/service/desk-1",
            "uri:spiffe://studio.example/service/*",
            "spiffe:studio.example",
            "spiffe:Studio.Example",
        ];
        for text in allowed {
            assert!(rule(text).matches(&id), "{text} should match");
        }
        let denied = [
            "cn:desk-2.studio",
            "cn:*",
            "ou:playout",
            "dns:*.example",
            "dns:*.desk-1.studio.example",
            "uri:spiffe://studio.example/*",
            "uri:spiffe://studio.example/service/desk-2",
            "spiffe:other.example",
            "spiffe:studio",
        ];
        for text in denied {
            assert!(!rule(text).matches(&id), "{text} should not match");
        }
    }

    #[test]
    fn scoped_rules_replace_global_ones_for_their_route() {
        let rules = [rule("cn:global"), rule("127.0.0.1:9000=cn:scoped")];
        let scoped = Allowlist::for_route(&rules, "127.0.0.1:9000".parse().unwrap()).unwrap();
        assert_eq!(scoped.describe(), "127.0.0.1:9000=cn:scoped");
        let other = Allowlist::for_route(&rules, "127.0.0.1:9001".parse().unwrap()).unwrap();
        assert_eq!(other.describe(), "cn:global");
        assert!(Allowlist::for_route(&[], "127.0.0.1:9001".parse().unwrap()).is_none());
    }
}
