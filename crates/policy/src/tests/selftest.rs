//! `run_cases`: passing cases stay quiet, and each kind of failure says what was
//! expected, what came out, the normalised path and the rule that decided.

use super::super::{run_cases, CaseWho, DefaultAccess, Expect, PolicyCase};
use super::{policy, roles, CONTRACT_ROUTES};

fn case(line: u32, request: &str, who: &str, expect: Expect) -> PolicyCase {
    let who = if who == "anonymous" {
        CaseWho::Anonymous
    } else {
        CaseWho::Role(who.to_owned())
    };
    PolicyCase {
        request: request.to_owned(),
        who,
        host: None,
        scopes: Vec::new(),
        audiences: Vec::new(),
        expect,
        line,
    }
}

fn failures(cases: &[PolicyCase]) -> Vec<(u32, String)> {
    let roles = roles();
    let rules = policy(&roles, CONTRACT_ROUTES, DefaultAccess::Deny);
    run_cases(&rules, &roles, cases)
        .into_iter()
        .map(|f| (f.line, f.message))
        .collect()
}

#[test]
fn passing_cases_report_nothing() {
    let cases = [
        // The two examples of docs/REFERENCE.md#example-policy.
        case(1, "GET /api/admin/users", "SELLER", Expect::Deny),
        case(2, "GET /api/products/42", "anonymous", Expect::Allow),
        case(
            3,
            "GET /api/admin/users",
            "anonymous",
            Expect::Unauthenticated,
        ),
        case(4, "GET /api/admin/users", "ADMIN", Expect::Allow),
        case(
            5,
            "GET /api/products/../admin/users",
            "SELLER",
            Expect::Deny,
        ),
        case(
            6,
            "GET /api/orders/5?expand=items",
            "CUSTOMER",
            Expect::Allow,
        ),
        case(7, "DELETE /api/orders/5", "ADMIN", Expect::Deny),
        case(8, "GET  /api/users/1/mail", "ADMIN", Expect::Allow),
        // A role case has no user id, so owner rules only look at the role.
        case(9, "GET /api/users/1/mail", "CUSTOMER", Expect::Deny),
    ];
    assert_eq!(failures(&cases), []);
}

#[test]
fn failures_say_expected_got_path_and_deciding_rule() {
    let cases = [
        case(10, "GET /api/admin/users", "SELLER", Expect::Allow),
        case(
            11,
            "GET /api/products/../admin/users",
            "anonymous",
            Expect::Allow,
        ),
        case(12, "GET /API/admin/users", "ADMIN", Expect::Allow),
        case(
            13,
            "GET /api/products/1",
            "anonymous",
            Expect::Unauthenticated,
        ),
    ];
    assert_eq!(
        failures(&cases),
        [
            (
                10,
                "GET /api/admin/users as SELLER: expected allow, got deny (path /api/admin/users, decided by rule \
                 'admin-area' (line 4))"
                    .to_owned()
            ),
            (
                11,
                "GET /api/products/../admin/users as anonymous: expected allow, got unauthenticated (path \
                 /api/admin/users, decided by rule 'admin-area' (line 4))"
                    .to_owned()
            ),
            (
                12,
                "GET /API/admin/users as ADMIN: expected allow, got deny (path /API/admin/users, decided by the \
                 default)"
                    .to_owned()
            ),
            (
                13,
                "GET /api/products/1 as anonymous: expected unauthenticated, got allow (path /api/products/1, decided \
                 by rule 'catalogue' (line 2))"
                    .to_owned()
            ),
        ]
    );
}

#[test]
fn cases_that_cannot_run_are_failures() {
    let cases = [
        case(20, "GET /api/admin%2fusers", "SELLER", Expect::Deny),
        case(21, "GET /x", "ADMN", Expect::Deny),
        case(22, "/api/products", "anonymous", Expect::Allow),
        case(23, "GET /api/products HTTP/1.1", "anonymous", Expect::Allow),
    ];
    assert_eq!(
        failures(&cases),
        [
            (
                20,
                "GET /api/admin%2fusers as SELLER: expected deny, got bad request (400): the request path must not \
                 contain an encoded '/' (%2F); send a plain '/'"
                    .to_owned()
            ),
            (21, "GET /x as ADMN: unknown role \"ADMN\"; the roles are ADMIN, SELLER, CUSTOMER".to_owned()),
            (22, "request \"/api/products\" must be 'METHOD /path', as in 'GET /api/products/42'".to_owned()),
            (
                23,
                "request \"GET /api/products HTTP/1.1\" must be 'METHOD /path', as in 'GET /api/products/42'".to_owned()
            ),
        ]
    );
}

#[test]
fn cases_can_name_a_host() {
    let roles = roles();
    let rules = policy(
        &roles,
        "internal /** public host=*.internal.example.com",
        DefaultAccess::Authenticated,
    );
    let mut inside = case(30, "GET /metrics", "anonymous", Expect::Allow);
    inside.host = Some("ops.internal.example.com:8443".to_owned());
    let mut outside = case(31, "GET /metrics", "anonymous", Expect::Allow);
    outside.host = Some("www.example.com".to_owned());
    let got: Vec<(u32, String)> = run_cases(&rules, &roles, &[inside, outside])
        .into_iter()
        .map(|f| (f.line, f.message))
        .collect();
    assert_eq!(
        got,
        [(
            31,
            "GET /metrics on www.example.com as anonymous: expected allow, got unauthenticated (path /metrics, \
             decided by the default)"
                .to_owned()
        )]
    );
}
