//! Rules and decisions: `authorize`, the default, first-match order, owners, hosts,
//! methods, the docs/REFERENCE.md#sec-paths corpus end to end, and rule validation.

use super::super::{
    authorize, normalize_path, Access, ConditionError, Decision, DefaultAccess, DenyReason,
    Grants, PatternError, RoleSet, RuleError, RuleSetBuilder, Who,
};
use super::{policy, roles, specs, CONTRACT_ROUTES};

use Decision::{Allow, Forbidden, Unauthenticated};
use DenyReason::{DefaultDeny, DenyRule, RoleNotAllowed};

fn user<'a>(id: &'a str, role: &str) -> Who<'a> {
    Who::User {
        user_id: id,
        roles: roles().id(role).map_or(RoleSet::new(), RoleSet::of),
        grants: Grants::NONE,
    }
}

#[test]
#[rustfmt::skip] // one case per line reads as a table
fn authorize_table() {
    let roles = roles();
    let admin_seller: RoleSet = ["ADMIN", "SELLER"].iter().filter_map(|r| roles.id(r)).collect();
    let none = RoleSet::new();
    let customer_seller: RoleSet = ["CUSTOMER", "SELLER"].iter().filter_map(|r| roles.id(r)).collect();
    let customer_only: RoleSet = ["CUSTOMER"].iter().filter_map(|r| roles.id(r)).collect();
    let cases: &[(Access, Option<&str>, Who<'_>, Decision)] = &[
        (Access::Public, None, Who::Anonymous, Allow),
        (Access::Public, None, user("1", "CUSTOMER"), Allow),
        (Access::Authenticated, None, Who::Anonymous, Unauthenticated),
        (Access::Authenticated, None, user("1", "CUSTOMER"), Allow),
        (Access::Authenticated, None, Who::User { user_id: "1", roles: RoleSet::new(), grants: Grants::NONE }, Allow),
        (Access::Deny, None, Who::Anonymous, Forbidden(DenyRule)),
        (Access::Deny, None, user("1", "ADMIN"), Forbidden(DenyRule)),
        (Access::Roles(admin_seller), None, Who::Anonymous, Unauthenticated),
        (Access::Roles(admin_seller), None, user("1", "SELLER"), Allow),
        (Access::Roles(admin_seller), None, user("1", "ADMIN"), Allow),
        (Access::Roles(admin_seller), None, user("1", "CUSTOMER"), Forbidden(RoleNotAllowed)),
        (Access::Roles(admin_seller), None, Who::User { user_id: "1", roles: RoleSet::new(), grants: Grants::NONE }, Forbidden(RoleNotAllowed)),
        // Several roles (an external issuer's mapped roles): any one allowed is enough.
        (Access::Roles(admin_seller), None, Who::User { user_id: "1", roles: customer_seller, grants: Grants::NONE }, Allow),
        (Access::Roles(admin_seller), None, Who::User { user_id: "1", roles: customer_only, grants: Grants::NONE }, Forbidden(RoleNotAllowed)),
        // Owners: string equality with the path parameter, nothing else.
        (Access::Roles(admin_seller), Some("7"), user("7", "CUSTOMER"), Allow),
        (Access::Roles(admin_seller), Some("7"), user("8", "CUSTOMER"), Forbidden(RoleNotAllowed)),
        (Access::Roles(admin_seller), Some("07"), user("7", "CUSTOMER"), Forbidden(RoleNotAllowed)),
        (Access::Roles(none), Some("7"), user("7", "CUSTOMER"), Allow),
        (Access::Roles(none), Some("7"), user("7", "ADMIN"), Allow),
        (Access::Roles(none), Some("7"), user("8", "ADMIN"), Forbidden(RoleNotAllowed)),
        (Access::Roles(none), Some("7"), Who::Anonymous, Unauthenticated),
        // An empty user id (selftests' role-only identities) is never an owner.
        (Access::Roles(none), Some(""), user("", "CUSTOMER"), Forbidden(RoleNotAllowed)),
    ];
    for (access, owner, who, want) in cases {
        assert_eq!(authorize(access, *owner, *who), *want, "{access:?} owner={owner:?} {who:?}");
    }
}

#[test]
fn default_access() {
    let roles = roles();
    let cases = [
        (DefaultAccess::Deny, Who::Anonymous, Forbidden(DefaultDeny)),
        (
            DefaultAccess::Deny,
            user("1", "ADMIN"),
            Forbidden(DefaultDeny),
        ),
        (
            DefaultAccess::Authenticated,
            Who::Anonymous,
            Unauthenticated,
        ),
        (DefaultAccess::Authenticated, user("1", "CUSTOMER"), Allow),
    ];
    for (default, who, want) in cases {
        let rules = policy(&roles, CONTRACT_ROUTES, default);
        assert_eq!(rules.default_access(), default);
        let verdict = rules.decide("GET", None, "/elsewhere", who);
        assert_eq!(
            (verdict.rule.map(|r| r.name()), verdict.decision),
            (None, want),
            "{default:?} {who:?}"
        );
    }
}

/// docs/REFERENCE.md#example-policy routes: method, path, who, deciding rule, decision.
#[test]
#[rustfmt::skip] // one case per line reads as a table
fn contract_policy_decisions() {
    let rules = policy(&roles(), CONTRACT_ROUTES, DefaultAccess::Deny);
    let cases: &[(&str, &str, Who<'_>, Option<&str>, Decision)] = &[
        ("GET", "/api/products", Who::Anonymous, Some("catalogue"), Allow),
        ("HEAD", "/api/products/42", Who::Anonymous, Some("catalogue"), Allow),
        ("POST", "/api/products/42", user("1", "SELLER"), None, Forbidden(DefaultDeny)),
        ("GET", "/api/seller/stock", user("1", "SELLER"), Some("seller-area"), Allow),
        ("DELETE", "/api/seller/stock", user("1", "ADMIN"), Some("seller-area"), Allow),
        ("GET", "/api/seller/stock", user("1", "CUSTOMER"), Some("seller-area"), Forbidden(RoleNotAllowed)),
        ("GET", "/api/seller", Who::Anonymous, Some("seller-area"), Unauthenticated),
        ("GET", "/api/sellers", user("1", "SELLER"), None, Forbidden(DefaultDeny)),
        ("GET", "/api/admin/users", user("1", "SELLER"), Some("admin-area"), Forbidden(RoleNotAllowed)),
        ("GET", "/api/admin/users", user("1", "ADMIN"), Some("admin-area"), Allow),
        ("GET", "/api/administrator", user("1", "ADMIN"), None, Forbidden(DefaultDeny)),
        ("GET", "/api/orders/5", user("1", "CUSTOMER"), Some("order-by-id"), Allow),
        ("GET", "/api/orders/5/", user("1", "CUSTOMER"), Some("order-by-id"), Allow),
        ("GET", "/api/orders/5", Who::Anonymous, Some("order-by-id"), Unauthenticated),
        ("PUT", "/api/orders/5", user("1", "ADMIN"), None, Forbidden(DefaultDeny)),
        ("GET", "/api/orders", user("1", "ADMIN"), None, Forbidden(DefaultDeny)),
        ("GET", "/api/orders/5/items", user("1", "ADMIN"), None, Forbidden(DefaultDeny)),
        ("GET", "/api/users/42/mail", user("42", "CUSTOMER"), Some("own-mailbox"), Allow),
        ("GET", "/api/users/42/mail/inbox/", user("42", "CUSTOMER"), Some("own-mailbox"), Allow),
        ("GET", "/api/users/42/mail/inbox", user("43", "CUSTOMER"), Some("own-mailbox"), Forbidden(RoleNotAllowed)),
        ("GET", "/api/users/42/mail/inbox", user("43", "SELLER"), Some("own-mailbox"), Forbidden(RoleNotAllowed)),
        ("GET", "/api/users/42/mail/inbox", user("43", "ADMIN"), Some("own-mailbox"), Allow),
        ("GET", "/api/users/42/mail", Who::Anonymous, Some("own-mailbox"), Unauthenticated),
        ("GET", "/api/users/42/profile", user("42", "CUSTOMER"), None, Forbidden(DefaultDeny)),
        ("GET", "/API/admin/users", user("1", "ADMIN"), None, Forbidden(DefaultDeny)),
        ("get", "/api/products/1", Who::Anonymous, None, Forbidden(DefaultDeny)),
    ];
    for (method, path, who, rule, want) in cases {
        let verdict = rules.decide(method, None, path, *who);
        assert_eq!((verdict.rule.map(|r| r.name()), verdict.decision), (*rule, *want), "{method} {path} {who:?}");
    }
}

#[test]
fn owner_value_reads_the_named_segment() {
    let rules = policy(&roles(), CONTRACT_ROUTES, DefaultAccess::Deny);
    let mailbox = rules.find("GET", None, "/api/users/42/mail/x").unwrap();
    assert_eq!(mailbox.owner_param(), Some("user_id"));
    assert_eq!(mailbox.owner_value("/api/users/42/mail/x"), Some("42"));
    assert_eq!(mailbox.owner_value("/api/users/abc/mail/"), Some("abc"));
    let orders = rules.find("GET", None, "/api/orders/5").unwrap();
    assert_eq!(
        (orders.owner_param(), orders.owner_value("/api/orders/5")),
        (None, None)
    );
}

#[test]
#[rustfmt::skip] // one case per line reads as a table
fn first_match_in_file_order_wins() {
    let roles = roles();
    let text = "
        health       /api/admin/health   public
        admin-area   /api/admin/**       ADMIN
        admin-users  /api/admin/users    deny
        api          /api/**             authenticated
        everything   /**                 deny
    ";
    let rules = policy(&roles, text, DefaultAccess::Deny);
    let cases = [
        ("/api/admin/health", "health"),
        ("/api/admin/users", "admin-area"),
        ("/api/admin", "admin-area"),
        ("/api/other", "api"),
        ("/api", "api"),
        ("/", "everything"),
        ("/static/app.js", "everything"),
    ];
    for (path, want) in cases {
        assert_eq!(rules.find("GET", None, path).map(|r| r.name()), Some(want), "{path}");
    }
    let health = rules.find("GET", None, "/api/admin/health").unwrap();
    assert_eq!((health.line(), health.upstream(), health.id().index(), health.index()), (2, 0, 0, 0));
    assert_eq!(rules.rules().len(), 5);
    assert_eq!(rules.rule(health.id()).map(|r| r.name()), Some("health"));
}

#[test]
#[rustfmt::skip] // one case per line reads as a table
fn methods_are_exact_tokens() {
    let roles = roles();
    let text = "
        read   /x   public          methods=GET
        dav    /x   authenticated   methods=PROPFIND,MKCOL
        write  /x   ADMIN           methods=POST,PUT,PATCH,DELETE
    ";
    let rules = policy(&roles, text, DefaultAccess::Deny);
    let cases = [
        ("GET", Some("read")),
        ("HEAD", None),
        ("get", None),
        ("PROPFIND", Some("dav")),
        ("MKCOL", Some("dav")),
        ("PROPPATCH", None),
        ("PATCH", Some("write")),
        ("DELETE", Some("write")),
        ("OPTIONS", None),
        ("", None),
    ];
    for (method, want) in cases {
        assert_eq!(rules.find(method, None, "/x").map(|r| r.name()), want, "{method:?}");
    }
}

#[test]
#[rustfmt::skip] // one case per line reads as a table
fn hosts_ignore_case_port_and_trailing_dot() {
    let roles = roles();
    let text = "
        exact     /x   public   host=api.example.com
        wildcard  /x   ADMIN    host=*.example.com
        v4        /x   deny     host=10.0.0.1
        any       /x   authenticated
    ";
    let rules = policy(&roles, text, DefaultAccess::Deny);
    let cases = [
        (Some("api.example.com"), "exact"),
        (Some("API.Example.COM"), "exact"),
        (Some("api.example.com:8443"), "exact"),
        (Some("api.example.com."), "exact"),
        (Some("api.example.com.:80"), "exact"),
        (Some("shop.example.com"), "wildcard"),
        (Some("a.b.Example.com:80"), "wildcard"),
        (Some("example.com"), "any"),
        (Some("badexample.com"), "any"),
        (Some("api.example.com.evil"), "any"),
        (Some("10.0.0.1:80"), "v4"),
        (Some("[::1]:8080"), "any"),
        // Not hosts (the proxy answers 400 first), but read alike with or without a
        // port, whatever the case (the `path_policy` fuzz target's find).
        (Some("[a.example.com"), "wildcard"),
        (Some("[A.EXAMPLE.COM:8443"), "wildcard"),
        (None, "any"),
    ];
    for (host, want) in cases {
        assert_eq!(rules.find("GET", host, "/x").map(|r| r.name()), Some(want), "{host:?}");
    }
}

/// docs/REFERENCE.md#sec-paths: every spelling of the admin path is refused (400) or
/// decided exactly as its canonical form, for a SELLER and for anonymous.
#[test]
#[rustfmt::skip] // one case per line reads as a table
fn threat_corpus_decides_like_the_canonical_path() {
    let rules = policy(&roles(), CONTRACT_ROUTES, DefaultAccess::Deny);
    let admin_area = Some((Some("admin-area"), Forbidden(RoleNotAllowed), Unauthenticated));
    let default_deny = Some((None, Forbidden(DefaultDeny), Forbidden(DefaultDeny)));
    let orders = Some((Some("order-by-id"), Allow, Unauthenticated));
    let catalogue = Some((Some("catalogue"), Allow, Allow));
    let cases = [
        ("/api/admin/users", admin_area),
        ("/api/products/../admin/users", admin_area),
        ("/api/products/%2e%2e/admin/users", admin_area),
        ("/api/products/%2E%2e/admin/users", admin_area),
        ("/api//admin/users", admin_area),
        ("/api/%61dmin/users", admin_area),
        ("/api/products/./../admin/users/", admin_area),
        ("/api/admin%2fusers", None),
        ("/api/admin%2Fusers", None),
        ("/api/admin%5cusers", None),
        ("/api/products/..%2fadmin", None),
        ("/api/admin;x/users", None),
        ("/api/admin/users;/", None),
        ("/api/admin/users%00", None),
        ("/api/admin/users%0a", None),
        ("/api/admin/users%0d", None),
        ("/api/admin/users#frag", None),
        ("/api/admin users", None),
        ("/api/admin\tusers", None),
        ("/../../etc/passwd", None),
        ("http://other/api/admin/users", None),
        ("*", None),
        // Never decoded twice: the upstream sees a literal "%252e%252e" segment.
        ("/api/products/%252e%252e/admin/users", catalogue),
        ("/api/%252e%252e/admin/users", default_deny),
        ("/API/admin/users", default_deny),
        ("/api/orders/5/", orders),
        ("/api/orders/5", orders),
    ];
    for (raw, want) in cases {
        let got = normalize_path(raw).ok().map(|path| {
            let seller = rules.decide("GET", None, &path, user("1", "SELLER"));
            let anonymous = rules.decide("GET", None, &path, Who::Anonymous);
            assert_eq!(seller.rule, anonymous.rule, "{raw}");
            (seller.rule.map(|r| r.name()), seller.decision, anonymous.decision)
        });
        assert_eq!(got, want, "{raw:?}");
    }
}

/// A rule on a literal with reserved or non-ASCII characters cannot be side-stepped
/// by percent-encoding them: the upstream decodes `%3A` to `:` all the same.
#[test]
#[rustfmt::skip] // one case per line reads as a table
fn encoded_spellings_of_a_literal_meet_its_rule() {
    let roles = roles();
    let text = "
        purge    /api/items:purge   deny
        menu     /api/café/**       ADMIN
        api      /api/**            authenticated
    ";
    let rules = policy(&roles, text, DefaultAccess::Deny);
    let cases = [
        ("/api/items:purge", Some("purge")),
        ("/api/items%3apurge", Some("purge")),
        ("/api/items%3A%70urge/", Some("purge")),
        ("/api/items%253Apurge", Some("api")),
        ("/api/caf%c3%a9/x", Some("menu")),
        ("/api/café", Some("menu")),
        ("/api/cafe", Some("api")),
    ];
    for (raw, want) in cases {
        let path = normalize_path(raw).unwrap();
        assert_eq!(rules.find("POST", None, &path).map(|r| r.name()), want, "{raw}");
    }
}

#[test]
#[rustfmt::skip] // one case per line reads as a table
fn invalid_rules_are_refused_with_the_field_at_fault() {
    let roles = roles();
    let cases: &[(&str, RuleError, &str)] = &[
        ("r /a/ public", RuleError::Pattern(PatternError::TrailingSlash), "path"),
        ("r /a public methods=get", RuleError::Condition(ConditionError::BadMethod("get".into())), "methods"),
        ("r /a public methods=GET,1X", RuleError::Condition(ConditionError::BadMethod("1X".into())), "methods"),
        ("r /a public host=a.com:80", bad_host("a.com:80", "a host must not include a port"), "host"),
        ("r /a public host=a..com", bad_host("a..com", "labels must be non-empty, as in api.example.com"), "host"),
        ("r /a public host=a.*.com", bad_host("a.*.com", "use letters, digits, '-' and '.', with '*.' only at the start"), "host"),
        ("r /a/{id} ADMIN owner=user", RuleError::UnknownOwner("user".into()), "owner"),
        ("r /a/{id} authenticated owner=id", RuleError::OwnerWithoutRoles, "owner"),
        ("r /a/{id} public owner=id", RuleError::OwnerWithoutRoles, "owner"),
        ("r /a -", RuleError::NoRoles, "allow"),
    ];
    for (text, want, field) in cases {
        let mut builder = RuleSetBuilder::new();
        let spec = specs(&roles, text).remove(0);
        let got = builder.add(spec);
        assert_eq!(got.as_ref().err(), Some(want), "{text}");
        assert_eq!(want.field(), *field, "{text}");
        let message = want.to_string();
        assert!(message.chars().next().is_some_and(|c| !c.is_uppercase()) && !message.ends_with('.'), "{message}");
    }
    let mut empty_methods = specs(&roles, "r /a public").remove(0);
    empty_methods.methods = Some(Vec::new());
    let got = RuleSetBuilder::new().add(empty_methods);
    assert_eq!(got, Err(RuleError::Condition(ConditionError::NoMethods)));
}

fn bad_host(host: &str, reason: &'static str) -> RuleError {
    RuleError::Condition(ConditionError::BadHost {
        host: host.into(),
        reason,
    })
}

#[test]
fn names_must_be_present_and_unique() {
    let roles = roles();
    let mut builder = RuleSetBuilder::new();
    let first = builder.add(specs(&roles, "r /a public").remove(0)).unwrap();
    assert_eq!(first.index(), 0);
    assert_eq!(
        builder.add(specs(&roles, "r /b public").remove(0)),
        Err(RuleError::DuplicateName("r".into()))
    );
    let mut nameless = specs(&roles, "r /b public").remove(0);
    nameless.name.clear();
    assert_eq!(builder.add(nameless), Err(RuleError::EmptyName));
    assert_eq!(
        builder
            .add(specs(&roles, "s /b public").remove(0))
            .map(|id| id.index()),
        Ok(1)
    );
}

#[test]
fn scopes_and_audience_are_required_after_the_role() {
    let roles = roles();
    let rules = policy(
        &roles,
        "
        write   /w/**   authenticated   scopes=orders:write,orders:read
        reports /r/**   CUSTOMER        audience=https://reports
        reports2 /r2/{x}/** CUSTOMER    audience=https://reports owner=x
        plain   /p/**   authenticated
        ",
        DefaultAccess::Deny,
    );
    let scopes: [Box<str>; 3] = ["orders:read".into(), "profile".into(), "orders:write".into()];
    let audiences: [Box<str>; 2] = ["https://api".into(), "https://reports".into()];
    let decide = |path: &str, role: &str, grants: Grants<'_>| {
        let who = Who::User { user_id: "7", roles: roles.id(role).map_or(RoleSet::new(), RoleSet::of), grants };
        rules.decide("GET", None, path, who).decision
    };
    let all = Grants { scopes: &scopes, audiences: &audiences };
    assert_eq!(decide("/w/1", "SELLER", all), Allow);
    assert_eq!(decide("/w/1", "SELLER", Grants { scopes: &scopes[..2], ..all }), Forbidden(DenyReason::MissingScope));
    assert_eq!(decide("/w/1", "SELLER", Grants::NONE), Forbidden(DenyReason::MissingScope));
    assert_eq!(decide("/r/1", "CUSTOMER", all), Allow);
    assert_eq!(decide("/r/1", "CUSTOMER", Grants { audiences: &audiences[..1], ..all }), Forbidden(DenyReason::WrongAudience));
    // The role is decided first: a wrong role is RoleNotAllowed whatever the grants.
    assert_eq!(decide("/r/1", "SELLER", Grants::NONE), Forbidden(RoleNotAllowed));
    // The owner gets in by the path, but still needs the audience.
    assert_eq!(decide("/r2/7/a", "SELLER", all), Allow);
    assert_eq!(decide("/r2/7/a", "SELLER", Grants::NONE), Forbidden(DenyReason::WrongAudience));
    assert_eq!(decide("/p/1", "SELLER", Grants::NONE), Allow, "no requirement, nothing checked");
    assert_eq!(rules.decide("GET", None, "/w/1", Who::Anonymous).decision, Unauthenticated);
}

#[test]
fn requirements_on_rules_that_look_at_no_token_are_refused() {
    let roles = roles();
    for line in ["x /x/** public scopes=a", "x /x/** deny audience=b"] {
        let mut builder = RuleSetBuilder::new();
        let spec = specs(&roles, line).remove(0);
        assert_eq!(builder.add(spec).unwrap_err(), RuleError::RequirementWithoutToken, "{line}");
    }
}
